import com.jcraft.jsch.JSch;
import io.github.cdimascio.dotenv.Dotenv;
import io.github.cdimascio.dotenv.DotenvEntry;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Resolves a {@link Target}: options > environment (VPS_*) > .env file > ~/.ssh/config >
 * defaults, recording where each value came from. ssh config is read as OpenSSH reads it
 * ({@link SshConfig}); ProxyJump hops are resolved through it too.
 */
final class TargetResolver {
    private static final int MAX_JUMPS = 8;
    /** ssh_config keyword -> the JSch setting(s) it changes. */
    private static final Map<String, List<String>> ALGORITHM_KEYS = Map.of(
            "kexalgorithms", List.of("kex"),
            "hostkeyalgorithms", List.of("server_host_key"),
            "ciphers", List.of("cipher.c2s", "cipher.s2c"),
            "macs", List.of("mac.c2s", "mac.s2c"),
            "pubkeyacceptedalgorithms", List.of("PubkeyAcceptedAlgorithms"));

    private static final Map<String, String> DISPLAY_NAMES = Map.of(
            "kexalgorithms", "KexAlgorithms", "hostkeyalgorithms", "HostKeyAlgorithms", "ciphers", "Ciphers",
            "macs", "MACs", "pubkeyacceptedalgorithms", "PubkeyAcceptedAlgorithms");

    private final TargetOptions o;
    private final PrintStream warnings;
    private final Map<String, String> origins = new LinkedHashMap<>();
    private final List<String> notes = new ArrayList<>();
    private Map<String, String> dotenv;

    /** OpenSSH 10's first choices, in its order: hybrid post-quantum key exchanges (JSch runs them on BouncyCastle). */
    static final List<String> POST_QUANTUM_KEX = List.of("mlkem768x25519-sha256", "sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com");
    private static final String CLASSIC_KEX = Arrays.stream(JSch.getConfig("kex").split(","))
            .filter(k -> !POST_QUANTUM_KEX.contains(k)).collect(Collectors.joining(","));
    /**
     * Whether this process keeps its connections (the engine, mcp-server). The first post-quantum key exchange of a
     * process loads and verifies BouncyCastle's signed jar and makes its first key pair: ~0.3 s, half again a cold
     * exec-command. So a one-shot command proposes them after the classic ones (a server that allows only them still
     * gets them), and a process that pays that once proposes them first, as OpenSSH 10 does.
     */
    private static volatile boolean postQuantumFirst;

    /** Called by the main() of a process that keeps its connections. */
    static void proposePostQuantumFirst() {
        postQuantumFirst = true;
    }

    /** The key exchanges we propose (JSch's, with the post-quantum ones in OpenSSH 10's order, first or last). */
    static String kex() {
        String postQuantum = String.join(",", POST_QUANTUM_KEX);
        return postQuantumFirst ? postQuantum + "," + CLASSIC_KEX : CLASSIC_KEX + "," + postQuantum;
    }

    /** What names the target, not a jump host: a hop ignores these variables. */
    private static final List<String> TARGET_ONLY = List.of("VPS_HOST", "VPS_PORT", "VPS_USER", "VPS_HOST_KEY", "VPS_JUMP");

    /**
     * What says which host keys are trusted, or how strictly (an ssh config can set
     * UserKnownHostsFile, StrictHostKeyChecking, HostKeyAlias). A .env found in the working folder,
     * which may be a cloned repository, must not set these; the environment, an option or a file
     * named with --env-file may. A new setting of that kind belongs here.
     */
    private static final List<String> TRUST_ANCHORS = List.of("VPS_KNOWN_HOSTS", "VPS_HOST_KEY", "VPS_SSH_CONFIG");

    private final boolean hop;

    TargetResolver(TargetOptions options, PrintStream warnings) {
        this(options, warnings, false);
    }

    private TargetResolver(TargetOptions options, PrintStream warnings, boolean hop) {
        this.o = options;
        this.warnings = warnings;
        this.hop = hop;
    }

    Target resolve() {
        dotenv = readDotenv();
        String alias = pick("host", o.host, "VPS_HOST");
        if (alias == null) {
            throw VpsException.config("no target host given",
                    "pass -H HOST (or an ssh config alias), set VPS_HOST, or use --sandbox to try the embedded server");
        }
        SshConfig.Entry ssh = sshConfigFor(alias);

        String portText = pick("port", o.port == null ? null : o.port.toString(), "VPS_PORT");
        int port = portText != null ? parsePort(portText) : sshInt(ssh, "port", "port", 22);
        String user = pick("user", o.user, "VPS_USER");
        if (user == null) {
            user = fromSsh(ssh, "user", "user");
        }
        if (user == null) {
            user = System.getProperty("user.name");
            origins.put("user", "default (local user)");
        }
        String host = alias;
        String hostName = fromSsh(ssh, "hostname", "host");
        if (hostName != null) {
            host = SshConfig.expandTokens(hostName, alias, user, port);
        } else {
            origins.putIfAbsent("host", "default");
        }
        origins.putIfAbsent("port", "default");

        Target.Credentials credentials = credentials(ssh, host, user, port);
        Target.HostKeyPolicy hostKeys = hostKeys(ssh, host, user, port);
        Duration connectTimeout = o.connectTimeout != null ? o.connectTimeout
                : ssh != null && ssh.get("connecttimeout") != null ? Duration.ofSeconds(sshInt(ssh, "connecttimeout", "connectTimeout", 10))
                : TargetOptions.DEFAULT_CONNECT_TIMEOUT;
        // 0 is OpenSSH's "off"; here it would also remove the socket timeout, so a dead link could hang: keep ours.
        int aliveSeconds = ssh != null && ssh.get("serveraliveinterval") != null ? sshInt(ssh, "serveraliveinterval", "aliveInterval", 15) : 0;
        Duration alive = aliveSeconds > 0 ? Duration.ofSeconds(aliveSeconds) : Target.DEFAULT_ALIVE_INTERVAL;
        int aliveMax = Math.max(1, ssh != null && ssh.get("serveralivecountmax") != null
                ? sshInt(ssh, "serveralivecountmax", "aliveCountMax", 3) : Target.DEFAULT_ALIVE_COUNT_MAX);
        Map<String, String> algorithms = algorithms(ssh);
        List<Target> jumps = jumps(ssh, connectTimeout);
        if (ssh != null) {
            ssh.unsupported().forEach(k -> notes.add("ssh config: not supported, ignored: " + k));
        }
        return new Target(alias, host, port, user, credentials, hostKeys, connectTimeout, alive, aliveMax,
                algorithms, jumps, origins, notes);
    }

    private Target.Credentials credentials(SshConfig.Entry ssh, String host, String user, int port) {
        List<Path> keys = new ArrayList<>();
        if (!o.identities.isEmpty()) {
            o.identities.forEach(p -> keys.add(LocalFolders.expandHome(p.toString())));
            origins.put("identity", "option -i");
        } else if (pick("identity", null, "VPS_KEY") != null) {
            keys.add(LocalFolders.expandHome(pick("identity", null, "VPS_KEY")));
        } else if (ssh != null && !ssh.getAll("identityfile").isEmpty()) {
            for (String file : ssh.getAll("identityfile")) {
                keys.add(Environment.resolve(SshConfig.expandTokens(file, host, user, port)));
            }
            origins.put("identity", "ssh config " + ssh.origin("identityfile"));
        } else {
            for (String name : List.of("id_ed25519", "id_ecdsa", "id_rsa")) {
                Path p = LocalFolders.home().resolve(".ssh").resolve(name);
                if (Files.isRegularFile(p)) {
                    keys.add(p);
                }
            }
            origins.put("identity", "default (~/.ssh/id_*)");
        }
        String passphrase = o.passphraseFile != null ? readSecret(o.passphraseFile, "keyPassphrase")
                : secret("keyPassphrase", "VPS_KEY_PASSPHRASE");

        boolean identitiesOnly = ssh != null && "yes".equalsIgnoreCase(ssh.get("identitiesonly"));
        Path agentSocket = null;
        String agentSetting = ssh == null ? null : ssh.get("identityagent");
        if (agentSetting == null || agentSetting.equals("SSH_AUTH_SOCK")) {
            String sock = Environment.get("SSH_AUTH_SOCK");
            agentSocket = sock == null ? null : Environment.resolve(sock);
        } else if (!agentSetting.equalsIgnoreCase("none")) {
            agentSocket = Environment.resolve(SshConfig.expandTokens(agentSetting.startsWith("$")
                    ? String.valueOf(Environment.get(agentSetting.substring(1))) : agentSetting, host, user, port));
        }
        boolean windows = System.getProperty("os.name", "").startsWith("Windows");
        boolean useAgent = !identitiesOnly && !"none".equalsIgnoreCase(agentSetting) && (agentSocket != null || windows);
        if (!useAgent || agentSocket == null) {
            origins.put("agent", identitiesOnly ? "not used: IdentitiesOnly yes (ssh config " + ssh.origin("identitiesonly") + ")"
                    : "none".equalsIgnoreCase(agentSetting) ? "not used: IdentityAgent none (ssh config " + ssh.origin("identityagent") + ")"
                    : useAgent ? "not checked here: the Windows agent or Pageant is asked at login"
                    : "not used: SSH_AUTH_SOCK is not set (no ssh-agent runs for this shell)");
        }

        String password = null;
        if (o.passwordAuth) {
            password = o.passwordFile != null ? readSecret(o.passwordFile, "password") : secret("password", "VPS_PASSWORD");
            if (password == null) {
                throw VpsException.config("--password-auth needs a password",
                        "set VPS_PASSWORD in the environment or .env, or pass --password-file FILE (never on the command line)");
            }
        }
        // Absolute: a connection holder runs in its own folder and must find the same files.
        return new Target.Credentials(keys.stream().map(Path::toAbsolutePath).toList(), passphrase, useAgent,
                agentSocket == null ? null : agentSocket.toAbsolutePath(), o.passwordAuth, password);
    }

    private Target.HostKeyPolicy hostKeys(SshConfig.Entry ssh, String host, String user, int port) {
        String known = pick("knownHosts", o.knownHosts == null ? null : o.knownHosts.toString(), "VPS_KNOWN_HOSTS");
        if (known == null && ssh != null && ssh.get("userknownhostsfile") != null) {
            known = SshConfig.expandTokens(ssh.get("userknownhostsfile").trim().split("\\s+")[0], host, user, port);
            origins.put("knownHosts", "ssh config " + ssh.origin("userknownhostsfile"));
        }
        Path knownHosts = known != null ? LocalFolders.expandHome(known) : LocalFolders.home().resolve(".ssh/known_hosts");
        origins.putIfAbsent("knownHosts", "default");
        boolean acceptNew = o.acceptNew;
        String strict = ssh == null ? null : ssh.get("stricthostkeychecking");
        if (!acceptNew && strict != null) {
            String s = strict.toLowerCase(Locale.ROOT);
            acceptNew = s.equals("accept-new") || s.equals("no") || s.equals("off");
            if (s.equals("no") || s.equals("off")) {
                notes.add("ssh config: StrictHostKeyChecking " + strict + " is treated as accept-new: a changed host key is still refused");
            }
        }
        String alias = ssh == null ? null : ssh.get("hostkeyalias");
        return new Target.HostKeyPolicy(knownHosts.toAbsolutePath(), pick("hostKey", o.hostKey, "VPS_HOST_KEY"), acceptNew, alias);
    }

    private Map<String, String> algorithms(SshConfig.Entry ssh) {
        Map<String, String> out = new LinkedHashMap<>();
        // AES-GCM first: hardware-accelerated; chacha20-poly1305 (through BouncyCastle) stays available.
        String ciphers = "aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,chacha20-poly1305@openssh.com";
        out.put("cipher.c2s", ciphers);
        out.put("cipher.s2c", ciphers);
        // JSch probes every algorithm named in its Check* lists by loading it. The BouncyCastle ones load and
        // signature-check BouncyCastle's signed jar: ~0.3 s of every call. We ship BouncyCastle, so
        // chacha20-poly1305 and the post-quantum key exchanges are always there and are not probed.
        out.put("CheckCiphers", "aes128-gcm@openssh.com,aes256-gcm@openssh.com");
        out.put("kex", kex());
        if (o.legacySshRsa) {
            out.put("server_host_key", JSch.getConfig("server_host_key") + ",ssh-rsa");
            out.put("PubkeyAcceptedAlgorithms", JSch.getConfig("PubkeyAcceptedAlgorithms") + ",ssh-rsa");
            warnings.println("warning: --legacy-ssh-rsa allows SHA-1 ssh-rsa signatures and host keys, which can be forged; "
                    + "upgrade the server's OpenSSH or give it an ed25519 key");
        }
        if (ssh != null) {
            ALGORITHM_KEYS.forEach((keyword, jschKeys) -> {
                String spec = ssh.get(keyword);
                if (spec != null) {
                    for (String k : jschKeys) {
                        String base = out.getOrDefault(k, JSch.getConfig(k));
                        out.put(k, supportedOnly(SshConfig.applyAlgorithmSpec(base, spec), keyword, ssh.origin(keyword)));
                    }
                    origins.put(keyword, "ssh config " + ssh.origin(keyword));
                }
            });
        }
        List<String> proposed = List.of(out.get("kex").split(","));
        out.put("CheckKexes", Arrays.stream(JSch.getConfig("CheckKexes").split(",")).filter(proposed::contains)
                .filter(k -> !POST_QUANTUM_KEX.contains(k)).collect(Collectors.joining(",")));
        return out;
    }

    /** Drops algorithms JSch does not implement (JSch fails on them), naming them under -v; none left is an error. */
    private String supportedOnly(String list, String keyword, String origin) {
        List<String> kept = new ArrayList<>();
        for (String name : list.split(",")) {
            if (name.isEmpty()) {
                continue;
            }
            if (JSch.getConfig(name) != null || keyword.equals("pubkeyacceptedalgorithms") || keyword.equals("hostkeyalgorithms")) {
                kept.add(name);
            } else {
                String note = "ssh config " + origin + ": " + DISPLAY_NAMES.get(keyword) + " " + name + " is not implemented here, ignored";
                if (!notes.contains(note)) {
                    notes.add(note);
                }
            }
        }
        if (kept.isEmpty()) {
            throw VpsException.config("ssh config " + origin + ": none of the " + DISPLAY_NAMES.get(keyword) + " listed is implemented here (" + list + ")",
                    "add a common one with the + form, e.g. " + DISPLAY_NAMES.get(keyword) + " +" + JSch.getConfig(ALGORITHM_KEYS.get(keyword).get(0)).split(",")[0]);
        }
        return String.join(",", kept);
    }

    /** ProxyJump / -J: each hop is "[user@]host[:port]", itself looked up in ssh config like any host. */
    private List<Target> jumps(SshConfig.Entry ssh, Duration connectTimeout) {
        String spec = o.jump != null ? o.jump : Environment.get("VPS_JUMP");
        if (spec == null && ssh != null) {
            spec = ssh.get("proxyjump");
        }
        if (spec == null || spec.equalsIgnoreCase("none")) {
            return List.of();
        }
        List<Target> hops = new ArrayList<>();
        for (String hop : spec.split(",")) {
            if (hops.size() == MAX_JUMPS) {
                throw VpsException.config("more than " + MAX_JUMPS + " jump hosts in '" + spec + "'", "shorten the ProxyJump chain");
            }
            hops.add(hop(hop.trim(), connectTimeout));
        }
        return hops;
    }

    private Target hop(String spec, Duration connectTimeout) {
        HostSpec parsed = HostSpec.parse(spec);
        TargetOptions hopOptions = new TargetOptions();
        hopOptions.host = parsed.host();
        hopOptions.user = parsed.user();
        hopOptions.port = parsed.port() == null ? null : parsePort(parsed.port());
        hopOptions.sshConfig = o.sshConfig;
        hopOptions.envFile = o.envFile;
        hopOptions.knownHosts = o.knownHosts;
        hopOptions.acceptNew = o.acceptNew;
        hopOptions.connectTimeout = connectTimeout;
        hopOptions.identities = o.identities;
        hopOptions.passphraseFile = o.passphraseFile;
        hopOptions.jump = "none";
        return new TargetResolver(hopOptions, warnings, true).resolve();
    }

    private SshConfig.Entry sshConfigFor(String alias) {
        String chosen = o.sshConfig != null ? o.sshConfig.toString() : pick("sshConfig", null, "VPS_SSH_CONFIG");
        SshConfig config = readSshConfig(chosen == null ? null : Path.of(chosen));
        return config == null ? null : config.lookup(alias);
    }

    /** The ssh config named by --ssh-config, VPS_SSH_CONFIG, else ~/.ssh/config; null when there is none. */
    static SshConfig readSshConfig(Path option) {
        String explicit = option != null ? option.toString() : Environment.get("VPS_SSH_CONFIG");
        Path file = explicit != null ? LocalFolders.expandHome(explicit) : LocalFolders.home().resolve(".ssh/config");
        String shown = explicit != null ? explicit : file.toString();
        if (!Files.isRegularFile(file)) {
            if (explicit != null && !Files.exists(file)) {
                throw VpsException.config("ssh config " + shown + " does not exist", "fix --ssh-config or VPS_SSH_CONFIG");
            }
            return null;
        }
        try {
            return SshConfig.parse(file, LocalFolders.home().resolve(".ssh"));
        } catch (IOException e) {
            throw VpsException.config("cannot read ssh config " + shown + ": " + VpsException.reason(e), "check that file's permissions");
        }
    }

    private String fromSsh(SshConfig.Entry ssh, String keyword, String field) {
        String value = ssh == null ? null : ssh.get(keyword);
        if (value != null) {
            origins.put(field, "ssh config " + ssh.origin(keyword));
        }
        return value;
    }

    private int sshInt(SshConfig.Entry ssh, String keyword, String field, int fallback) {
        String value = fromSsh(ssh, keyword, field);
        if (value == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw VpsException.config("ssh config " + ssh.origin(keyword) + ": " + keyword + " '" + value + "' is not a number", "fix that line");
        }
    }

    /** One value looked up in order: option, environment, .env; records where it was found. */
    private String pick(String field, String optionValue, String envName) {
        if (optionValue != null) {
            origins.put(field, "option");
            return optionValue;
        }
        return secret(field, envName);
    }

    private String secret(String field, String envName) {
        if (hop && TARGET_ONLY.contains(envName)) {
            return null;
        }
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

    /** A VPS_* setting that is not part of the target (VPS_REUSE, VPS_PERSIST): the environment, then .env. */
    String setting(String envName) {
        if (dotenv == null) {
            dotenv = readDotenv();
        }
        return secret(envName, envName);
    }

    /** A secret that is not the target's own (VPS_SUDO_PASSWORD): FILE when given, else the environment, then .env; null when none. */
    String secretSetting(String envName, Path file) {
        String value = file != null ? readSecret(file, envName) : setting(envName);
        return value == null || value.isEmpty() ? null : value;
    }

    private String readSecret(Path file, String field) {
        try {
            String text = Files.readString(Environment.resolve(file), StandardCharsets.UTF_8);
            origins.put(field, "file " + file);
            return text.replaceFirst("\\r?\\n$", "");
        } catch (IOException e) {
            throw VpsException.config("cannot read " + file + ": " + VpsException.reason(e), "check the path and its permissions");
        }
    }

    private Map<String, String> readDotenv() {
        Path file = o.envFile;
        if (file == null) {
            file = Environment.workingFolder().resolve(".env");
            if (!Files.isRegularFile(file)) {
                return Map.of();
            }
        } else if (!Files.isRegularFile(Environment.resolve(file))) {
            throw VpsException.config("env file " + file + " does not exist", "fix the --env-file path");
        }
        Map<String, String> values = parseDotenv(Environment.resolve(file), file);
        if (values.containsKey("VPS_POLICY")) {
            throw VpsException.config(file + " names VPS_POLICY, which only the process environment may set: the owner's policy is"
                    + " never chosen by a file in a working folder or by --env-file", "remove that line; the owner sets VPS_POLICY in the environment");
        }
        if (o.envFile == null) {
            refuseTrustAnchors(file, values);
        }
        return values;
    }

    /** FILE is read; SHOWN is how the user named it. */
    private static Map<String, String> parseDotenv(Path file, Path shown) {
        try {
            Dotenv env = Dotenv.configure()
                    .directory(file.toAbsolutePath().getParent().toString())
                    .filename(file.getFileName().toString())
                    .load();
            Map<String, String> values = new HashMap<>();
            for (DotenvEntry e : env.entries(Dotenv.Filter.DECLARED_IN_ENV_FILE)) {
                values.put(e.getKey(), unquoteSingle(e.getValue()));
            }
            return values;
        } catch (RuntimeException e) {
            // dotenv-java quotes the offending line, which may hold a secret: never show its message.
            throw VpsException.config("cannot read env file " + shown + ": a line is malformed (e.g. an unmatched quote)",
                    "fix the syntax of that file (KEY=value lines)");
        }
    }

    /** The names only: a value in that file may be a secret. */
    private static void refuseTrustAnchors(Path file, Map<String, String> values) {
        List<String> set = TRUST_ANCHORS.stream().filter(name -> values.get(name) != null && !values.get(name).isEmpty()).toList();
        if (!set.isEmpty()) {
            throw VpsException.config(file + " sets " + String.join(", ", set) + ", which a .env found in the working folder may not:"
                            + " that folder (a cloned repository, say) must not decide which host keys are trusted",
                    "remove " + (set.size() == 1 ? "that line" : "those lines") + "; if you wrote that file yourself, name it: --env-file "
                            + file + " (or export the variable)");
        }
    }

    /** dotenv-java strips double quotes only; KEY='value' is just as common in .env files. */
    private static String unquoteSingle(String value) {
        return value.length() >= 2 && value.startsWith("'") && value.endsWith("'") ? value.substring(1, value.length() - 1) : value;
    }

    static int parsePort(String text) {
        try {
            int p = Integer.parseInt(text.trim());
            if (p < 1 || p > 65535) {
                throw new NumberFormatException();
            }
            return p;
        } catch (NumberFormatException e) {
            throw VpsException.config("port '" + text + "' is not a number from 1 to 65535", "fix the port: -p, VPS_PORT, or the :PORT after the host");
        }
    }
}
