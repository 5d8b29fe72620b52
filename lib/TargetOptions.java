import com.jcraft.jsch.ConfigRepository;
import com.jcraft.jsch.OpenSSHConfig;
import io.github.cdimascio.dotenv.Dotenv;
import io.github.cdimascio.dotenv.DotenvEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The target options every script shares (DESIGN §3), and their resolution:
 * options > environment (VPS_*) > .env file > ~/.ssh/config > defaults.
 * Secrets only ever come from the environment or .env, never from an option value.
 */
final class TargetOptions {
    @Option(names = {"-H", "--host"}, paramLabel = "HOST", description = "Server name, address or ~/.ssh/config alias (env VPS_HOST).")
    String host;

    @Option(names = {"-p", "--port"}, paramLabel = "PORT", description = "SSH port (env VPS_PORT; default 22).")
    Integer port;

    @Option(names = {"-u", "--user"}, paramLabel = "USER", description = "Login user (env VPS_USER; default: ssh config, else your local user).")
    String user;

    @Option(names = {"-i", "--identity"}, paramLabel = "KEY", description = "Private key file; repeatable (env VPS_KEY).")
    List<Path> identities = new ArrayList<>();

    @Option(names = "--known-hosts", paramLabel = "FILE", description = "known_hosts file (env VPS_KNOWN_HOSTS; default ~/.ssh/known_hosts).")
    Path knownHosts;

    @Option(names = "--host-key", paramLabel = "SHA256:...", description = "Accept only this host key fingerprint (env VPS_HOST_KEY).")
    String hostKey;

    @Option(names = "--accept-new", description = "Trust an unknown host key on first use and record it. A changed key is still refused.")
    boolean acceptNew;

    @Option(names = "--connect-timeout", paramLabel = "DUR", converter = Durations.class,
            description = "Give up connecting and logging in after DUR (default 10s).")
    Duration connectTimeout;

    @Option(names = "--env-file", paramLabel = "FILE", description = "Read VPS_* settings from FILE (default ./.env when present).")
    Path envFile;

    @Option(names = "--ssh-config", paramLabel = "FILE", description = "OpenSSH client config (env VPS_SSH_CONFIG; default ~/.ssh/config).")
    Path sshConfig;

    @Option(names = "--sandbox", description = "Target the embedded sandbox server on 127.0.0.1 (started when needed).")
    boolean sandbox;

    @Option(names = {"-v", "--verbose"}, description = "Log the SSH protocol to stderr.")
    boolean verbose;

    private static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);

    Target resolve() {
        if (sandbox) {
            return Sandbox.fromEnvironment().ensureRunning().target(connectTimeoutOr(DEFAULT_CONNECT_TIMEOUT));
        }
        Map<String, String> origins = new LinkedHashMap<>();
        Map<String, String> dotenv = readDotenv();
        Sources src = new Sources(dotenv, origins);

        String alias = src.pick("host", host, "VPS_HOST");
        if (alias == null) {
            throw VpsException.config("no target host given",
                    "pass -H HOST (or an ssh config alias), set VPS_HOST, or use --sandbox to try the embedded server");
        }
        ConfigRepository.Config ssh = sshConfigFor(alias, origins);

        String hostName = alias;
        if (ssh != null && ssh.getHostname() != null) {
            hostName = ssh.getHostname();
            origins.put("host", origins.get("host") + " (HostName from " + origins.get("sshConfig") + ")");
        }

        String portText = src.pick("port", port == null ? null : port.toString(), "VPS_PORT");
        if (portText == null && ssh != null && ssh.getPort() > 0) {
            portText = Integer.toString(ssh.getPort());
            origins.put("port", origins.get("sshConfig"));
        }
        int resolvedPort = portText == null ? 22 : parsePort(portText);
        origins.putIfAbsent("port", "default");

        String resolvedUser = src.pick("user", user, "VPS_USER");
        if (resolvedUser == null && ssh != null && ssh.getUser() != null) {
            resolvedUser = ssh.getUser();
            origins.put("user", origins.get("sshConfig"));
        }
        if (resolvedUser == null) {
            resolvedUser = System.getProperty("user.name");
            origins.put("user", "default (local user)");
        }

        List<Path> keys = resolveIdentities(src, ssh, origins);
        String knownHostsText = src.pick("knownHosts", knownHosts == null ? null : knownHosts.toString(), "VPS_KNOWN_HOSTS");
        Path resolvedKnownHosts = knownHostsText != null ? expandHome(knownHostsText) : home().resolve(".ssh/known_hosts");
        origins.putIfAbsent("knownHosts", "default");

        String pin = src.pick("hostKey", hostKey, "VPS_HOST_KEY");
        String passphrase = src.secret("keyPassphrase", "VPS_KEY_PASSPHRASE");

        return new Target(alias, hostName, resolvedPort, resolvedUser, keys, resolvedKnownHosts, pin, acceptNew,
                connectTimeoutOr(DEFAULT_CONNECT_TIMEOUT), passphrase, origins);
    }

    Duration connectTimeoutOr(Duration fallback) {
        return connectTimeout != null ? connectTimeout : fallback;
    }

    private List<Path> resolveIdentities(Sources src, ConfigRepository.Config ssh, Map<String, String> origins) {
        List<Path> keys = new ArrayList<>();
        if (!identities.isEmpty()) {
            identities.forEach(p -> keys.add(expandHome(p.toString())));
            origins.put("identity", "option -i");
            return keys;
        }
        String fromEnv = src.pick("identity", null, "VPS_KEY");
        if (fromEnv != null) {
            keys.add(expandHome(fromEnv));
            return keys;
        }
        if (ssh != null && ssh.getValues("IdentityFile") != null) {
            for (String file : ssh.getValues("IdentityFile")) {
                keys.add(expandHome(file));
            }
            origins.put("identity", origins.get("sshConfig"));
            return keys;
        }
        for (String name : List.of("id_ed25519", "id_ecdsa", "id_rsa")) {
            Path p = home().resolve(".ssh").resolve(name);
            if (Files.isRegularFile(p)) {
                keys.add(p);
            }
        }
        origins.put("identity", "default (~/.ssh/id_*)");
        return keys;
    }

    private Map<String, String> readDotenv() {
        Path file = envFile;
        if (file == null) {
            file = Path.of(".env").toAbsolutePath();
            if (!Files.isRegularFile(file)) {
                return Map.of();
            }
        } else if (!Files.isRegularFile(file)) {
            throw VpsException.config("env file " + file + " does not exist", "fix the --env-file path");
        }
        try {
            Dotenv dotenv = Dotenv.configure()
                    .directory(file.toAbsolutePath().getParent().toString())
                    .filename(file.getFileName().toString())
                    .load();
            Map<String, String> values = new HashMap<>();
            for (DotenvEntry e : dotenv.entries(Dotenv.Filter.DECLARED_IN_ENV_FILE)) {
                values.put(e.getKey(), unquoteSingle(e.getValue()));
            }
            return values;
        } catch (RuntimeException e) {
            throw VpsException.config("cannot read env file " + file + ": " + e.getMessage(), "fix the syntax of that file (KEY=value lines)");
        }
    }

    /** dotenv-java strips double quotes only; KEY='value' is just as common in .env files. */
    private static String unquoteSingle(String value) {
        return value.length() >= 2 && value.startsWith("'") && value.endsWith("'") ? value.substring(1, value.length() - 1) : value;
    }

    private ConfigRepository.Config sshConfigFor(String alias, Map<String, String> origins) {
        String explicit = sshConfig != null ? sshConfig.toString() : Environment.get("VPS_SSH_CONFIG");
        Path file = explicit != null ? expandHome(explicit) : home().resolve(".ssh/config");
        if (!Files.isRegularFile(file)) {
            if (explicit != null && !Files.exists(file)) {
                throw VpsException.config("ssh config " + file + " does not exist", "fix --ssh-config or VPS_SSH_CONFIG");
            }
            return null;
        }
        try {
            origins.put("sshConfig", "ssh config " + file);
            return OpenSSHConfig.parseFile(file.toString()).getConfig(alias);
        } catch (IOException e) {
            throw VpsException.config("cannot read ssh config " + file + ": " + e.getMessage(), "check that file's syntax and permissions");
        }
    }

    private static int parsePort(String text) {
        try {
            int p = Integer.parseInt(text.trim());
            if (p < 1 || p > 65535) {
                throw new NumberFormatException();
            }
            return p;
        } catch (NumberFormatException e) {
            throw VpsException.config("port '" + text + "' is not a number from 1 to 65535", "fix -p / VPS_PORT");
        }
    }

    static Path home() {
        return Path.of(System.getProperty("user.home"));
    }

    static Path expandHome(String path) {
        if (path.equals("~")) {
            return home();
        }
        if (path.startsWith("~/")) {
            return home().resolve(path.substring(2));
        }
        return Path.of(path);
    }

    /** One value looked up in order: option, environment, .env; records where it was found. */
    private record Sources(Map<String, String> dotenv, Map<String, String> origins) {
        String pick(String field, String optionValue, String envName) {
            if (optionValue != null) {
                origins.put(field, "option");
                return optionValue;
            }
            return secret(field, envName);
        }

        String secret(String field, String envName) {
            String fromEnv = Environment.get(envName);
            if (fromEnv != null) {
                origins.put(field, "environment " + envName);
                return fromEnv;
            }
            String fromFile = dotenv.get(envName);
            if (fromFile != null && !fromFile.isEmpty()) {
                origins.put(field, ".env " + envName);
                return fromFile;
            }
            return null;
        }
    }
}
