import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The targets a long-running session (mcp-server) can name: the one given at start-up (the
 * default), an ~/.ssh/config alias, or [user@]host[:port]. A name resolves like a script's -H;
 * the start-up options that are not about one server (known_hosts, ssh config, .env, connect
 * timeout, --accept-new, --legacy-ssh-rsa) carry over, the ones that are (-p, -u, -i, -J,
 * --host-key) only apply to the default target. With an inventory (mcp-server's --inventory, else
 * VPS_INVENTORY), a name is looked up there first: an inventory host resolves with its own vars
 * (ansible_host, ansible_port, ansible_user, its key), and "targets" may be an inventory pattern.
 */
final class TargetNames {
    static final String SANDBOX = "sandbox";

    private final TargetOptions startup;
    private final PrintStream warnings;
    private final String defaultName;
    /** What each name resolved to for its pool session: the settings are read again only when that session is gone. */
    private final Map<String, Target> warm = new java.util.concurrent.ConcurrentHashMap<>();

    /** The inventory names are looked up in first; null when none is configured. */
    private final Inventory inventory;

    TargetNames(TargetOptions startup, PrintStream warnings) {
        this(startup, warnings, null);
    }

    /** With INVENTORY_FILE (null: VPS_INVENTORY from the environment or .env, when set); a CONFIG error when it cannot be read. */
    TargetNames(TargetOptions startup, PrintStream warnings, Path inventoryFile) {
        this.startup = startup;
        this.warnings = warnings;
        String host = startup.sandbox ? SANDBOX : startup.host != null ? startup.host : Environment.get("VPS_HOST");
        this.defaultName = host == null || host.isBlank() ? null : host;
        this.inventory = inventoryFile != null ? Inventory.load(Environment.resolve(inventoryFile)) : HostSet.inventory(startup, null, warnings);
        if (defaultName != null && !startup.sandbox) {
            // A default target that is an inventory host takes its vars, as a script's single -H does.
            inInventory(defaultName).ifPresent(h -> startup.pin(h.host() != null ? h.host() : h.name(), h.port(), h.user(), h.identity(),
                    inventory.namesOf(h.name())));
        }
    }

    /** The inventory, or null when none is configured. */
    Inventory inventory() {
        return inventory;
    }

    /**
     * The hosts a "targets" argument names: a list of names (an inventory host's name brings its
     * vars; any other is an ssh config alias or [user@]host[:port]), each once (a name given twice is
     * CONFIG, as in a script's -H list); or one string, a pattern over the inventory.
     */
    List<FleetHost> hosts(Object targets) {
        if (targets instanceof String pattern) {
            if (inventory == null) {
                throw VpsException.config("targets '" + pattern + "' is an inventory pattern, but this server has no inventory",
                        "start mcp-server with --inventory FILE (or set VPS_INVENTORY), or pass targets as a list of names");
            }
            return inventory.select(pattern);
        }
        Map<String, FleetHost> byName = new LinkedHashMap<>();
        for (Object name : (List<?>) targets) {
            FleetHost host = inInventory((String) name).orElseGet(() -> FleetHost.of((String) name));
            if (byName.putIfAbsent((String) name, host) != null) {
                throw VpsException.config("target " + name + " is named twice in targets", "name each target once");
            }
        }
        return List.copyOf(byName.values());
    }

    /** NAME's name and groups in the inventory (the default target's: its own), which a policy rule's match also sees. */
    List<String> inventoryNamesOf(String name) {
        if (name != null && name.equals(defaultName)) {
            return startup.inventoryNames;
        }
        return inventory == null || name == null ? List.of() : inventory.namesOf(name);
    }

    private java.util.Optional<FleetHost> inInventory(String name) {
        return inventory == null ? java.util.Optional.empty() : inventory.host(name);
    }

    /** A secret the server's start-up settings hold beside the targets' (VPS_SUDO_PASSWORD): its environment, then .env; null when none. */
    String secret(String envName) {
        return new TargetResolver(startup, warnings).secretSetting(envName, null);
    }

    /** The default target's name, or null when none was given at start-up. */
    String defaultName() {
        return defaultName;
    }

    /** NAME, or the default target's name when NAME is absent; a CONFIG error when there is neither. */
    String nameOrDefault(String name) {
        if (name != null && !name.isBlank()) {
            return name.trim();
        }
        if (defaultName == null) {
            throw VpsException.config("no target given and no default target",
                    "pass \"target\" (an ssh config alias or [user@]host[:port]; list_targets names them), or start the server with -H HOST");
        }
        return defaultName;
    }

    /**
     * NAME's target for a call on POOL: the one its live session was made for, else resolved again
     * (as a new login re-reads the ssh config, .env and the environment).
     */
    Target resolveFor(String name, SessionPool pool) {
        Target last = warm.get(name);
        if (last != null && pool.isConnected(last)) {
            return last;
        }
        Target t = resolve(name);
        warm.put(name, t);
        return t;
    }

    /** Whether NAME has a live session in POOL now. */
    boolean connected(String name, SessionPool pool) {
        Target last = warm.get(name);
        return last != null && pool.isConnected(last);
    }

    Target resolve(String name) {
        if (name.equals(defaultName)) {
            return startup.resolve(warnings);
        }
        java.util.Optional<FleetHost> listed = inInventory(name);
        if (listed.isPresent()) {
            return resolve(listed.get());
        }
        HostSpec spec = HostSpec.parse(name);
        return resolve(spec.host(), spec.port() == null ? null : TargetResolver.parsePort(spec.port()), spec.user(), null);
    }

    /** A host of a host set: what it sets itself (host, port, user, key), the rest as for any name (ssh config with its host as the alias, .env...). */
    Target resolve(FleetHost host) {
        return resolve(host.host() != null ? host.host() : host.name(), host.port(), host.user(), host.identity());
    }

    private Target resolve(String host, Integer port, String user, Path identity) {
        TargetOptions o = new TargetOptions();
        o.user = user;
        o.host = host;
        o.port = port;
        if (identity != null) {
            o.identities.add(identity);
        }
        o.knownHosts = startup.knownHosts;
        o.sshConfig = startup.sshConfig;
        o.envFile = startup.envFile;
        o.connectTimeout = startup.connectTimeout;
        o.acceptNew = startup.acceptNew;
        o.legacySshRsa = startup.legacySshRsa;
        return o.resolve(warnings);
    }

    /** The default target first, then every inventory host, then every ssh config alias, each with what it resolves to (or why it does not). */
    List<Map<String, Object>> list(java.util.function.Predicate<String> connected) {
        List<String> names = new ArrayList<>();
        if (defaultName != null) {
            names.add(defaultName);
        }
        List<String> listed = inventoryNames();
        listed.stream().filter(n -> !names.contains(n)).forEach(names::add);
        SshConfig config = TargetResolver.readSshConfig(startup.sshConfig);
        if (config != null) {
            config.aliases().stream().filter(a -> !names.contains(a)).forEach(names::add);
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (String name : names) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", name);
            m.put("default", name.equals(defaultName));
            m.put("source", name.equals(defaultName) ? "start-up" : listed.contains(name) ? "inventory" : "ssh config");
            describe(name, m);
            m.put("connected", connected.test(name));
            out.add(m);
        }
        return out;
    }

    private List<String> inventoryNames() {
        try {
            return inventory == null ? List.of() : inventory.select("all").stream().map(FleetHost::name).toList();
        } catch (VpsException empty) {
            return List.of();
        }
    }

    private void describe(String name, Map<String, Object> m) {
        if (startup.sandbox && name.equals(defaultName)) {
            m.put("host", "127.0.0.1 (the embedded sandbox, started on first use)");   // resolving it would start it
            return;
        }
        try {
            Target t = resolve(name);
            m.put("host", t.host());
            m.put("port", t.port());
            m.put("user", t.user());
        } catch (VpsException e) {
            m.put("problem", e.getMessage());
        }
    }
}
