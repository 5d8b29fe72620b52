import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.KeyPair;
import com.jcraft.jsch.Logger;
import com.jcraft.jsch.Session;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * diagnose-auth's checks, in the order a senior engineer with `ssh -vvv` would make them; each is
 * bounded by the connect timeout. The first failing check decides the verdict, with its evidence
 * and the exact change to make.
 */
final class AuthDiagnosis {
    /** Details and evidence come partly from exceptions: no Java class name reaches the user. */
    record Check(String name, String status, String detail) {
        Check {
            detail = VpsException.plain(detail);
        }
    }

    record Verdict(String outcome, String cause, String evidence, String fix) {
        Verdict {
            evidence = VpsException.plain(evidence);
        }
    }

    /** A key file and its pair: what a fix script on the server authorizes for the user. */
    record KeyToAuthorize(Path file, KeyPair pair) {}

    final List<Check> checks = new ArrayList<>();
    Verdict verdict;
    /** True when the verdict is a key login the server's side refuses (a fix script there applies). */
    boolean serverSideCause;
    /** With serverSideCause: the key to authorize there; null when there is none (a password login, no key file). */
    KeyToAuthorize keyToAuthorize;
    private final PrintStream live;
    private final Target t;
    private final int timeoutMs;

    AuthDiagnosis(Target target, PrintStream live) {
        this.t = target;
        this.live = live;
        this.timeoutMs = (int) Math.max(1000, target.connectTimeout().toMillis());
    }

    int exitCode() {
        return switch (verdict.outcome()) {
            case "login works" -> 0;
            case "unreachable" -> 255;
            default -> 1;
        };
    }

    /** The last ProxyJump hop, logged in, when the target is reached through one. */
    private VpsConnection jump;

    AuthDiagnosis run() {
        try {
            return runChecks();
        } finally {
            if (jump != null) {
                jump.close();
            }
        }
    }

    private AuthDiagnosis runChecks() {
        check("target", "PASS", t.display() + " (host: " + t.origins().get("host") + "; port: " + t.origins().get("port")
                + "; user: " + t.origins().get("user")
                + "; keys: " + t.origins().get("identity") + "; known_hosts: " + t.knownHosts() + ")");
        InetAddress address = null;
        Target hop = t.lastHop();
        if (hop != null) {
            jump = openJump(hop);
            if (jump == null || !tcpThroughJump()) {
                return this;
            }
        } else {
            address = resolve();
            if (address == null || !tcp(address)) {
                return this;
            }
        }
        if (!serverSpeaksSsh(address)) {
            return this;
        }
        HostKeyVerifier.Verdict hostKey = hostKeyAndMethods();
        if (verdict != null) {
            return this;
        }
        List<Path> usable = keyFiles();
        agent();
        authenticate(usable, hostKey);
        return this;
    }

    private InetAddress resolve() {
        long start = System.nanoTime();
        try {
            InetAddress a = InetAddress.getByName(t.host());
            check("dns", "PASS", t.host() + " is " + a.getHostAddress() + " (" + ms(start) + " ms)");
            return a;
        } catch (UnknownHostException e) {
            check("dns", "FAIL", "cannot resolve " + t.host());
            verdict = new Verdict("unreachable", "the host name does not resolve", "DNS has no address for " + t.host(),
                    "check the spelling and the HostName in " + t.origins().get("host") + ", or use the server's IP address");
            return null;
        }
    }

    private boolean tcp(InetAddress address) {
        long start = System.nanoTime();
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(address, t.port()), timeoutMs);
            check("tcp", "PASS", "port " + t.port() + " accepts connections (" + ms(start) + " ms)");
            return true;
        } catch (ConnectException e) {
            check("tcp", "FAIL", "port " + t.port() + " refused the connection");
            verdict = new Verdict("unreachable", "nothing listens on port " + t.port(), address.getHostAddress() + ":" + t.port() + " refused the connection",
                    "check the port (-p, Port in ssh config) and that sshd runs: on the server, systemctl status ssh; ss -tlnp | grep ssh");
        } catch (SocketTimeoutException e) {
            check("tcp", "FAIL", "no answer from port " + t.port() + " within " + timeoutMs + " ms");
            verdict = new Verdict("unreachable", "the connection times out", "no SYN-ACK from " + address.getHostAddress() + ":" + t.port(),
                    "a firewall drops the packets or the host is down: check the provider's firewall / security group for port " + t.port());
        } catch (NoRouteToHostException e) {
            check("tcp", "FAIL", "no route to " + address.getHostAddress());
            verdict = new Verdict("unreachable", "the host is unreachable", e.getMessage(), "check the address and your network");
        } catch (IOException e) {
            check("tcp", "FAIL", VpsException.reason(e));
            verdict = new Verdict("unreachable", "cannot connect", address.getHostAddress() + ":" + t.port() + ": " + VpsException.reason(e),
                    "check the address and the port");
        }
        return false;
    }

    private VpsConnection openJump(Target hop) {
        long start = System.nanoTime();
        try {
            VpsConnection c = VpsConnection.open(hop, null);
            check("jump", "PASS", "logged in to the jump host " + hop.display() + " (" + ms(start) + " ms)");
            return c;
        } catch (VpsException e) {
            check("jump", "FAIL", e.getMessage());
            boolean reached = e.kind != VpsException.Kind.NETWORK && e.kind != VpsException.Kind.PROTOCOL;
            verdict = new Verdict(reached ? "login fails" : "unreachable", "the jump host " + hop.display() + " fails (" + e.kind + ")",
                    e.getMessage(), "fix the jump host first (diagnose it: diagnose-auth -H " + hop.host() + " -p " + hop.port() + " -u " + hop.user()
                            + ")" + (e.hint == null ? "" : "; " + e.hint));
            return null;
        }
    }

    private boolean tcpThroughJump() {
        long start = System.nanoTime();
        JumpProxy tunnel = jump.tunnel();
        try {
            tunnel.connect(null, t.host(), t.port(), timeoutMs);
            check("tcp", "PASS", "the jump host " + jump.target.display() + " reached " + t.host() + ":" + t.port() + " (" + ms(start) + " ms)");
            return true;
        } catch (JSchException e) {
            check("tcp", "FAIL", e.getMessage());
            verdict = new Verdict("unreachable", "the jump host " + jump.target.display() + " cannot open a connection to " + t.host() + ":" + t.port(),
                    e.getMessage(), "check on the jump host that " + t.host() + ":" + t.port() + " is reachable from there (nc -vz "
                            + t.host() + " " + t.port() + ") and that its sshd allows forwarding (AllowTcpForwarding)");
            return false;
        } finally {
            tunnel.close();
        }
    }

    /** The server's banner and KEXINIT, directly or through the jump host (bounded there by closing the tunnel). */
    private ServerProbe.Result probeServer(InetAddress address) throws IOException {
        if (jump == null) {
            return ServerProbe.probe(address, t.port(), timeoutMs);
        }
        JumpProxy tunnel = jump.tunnel();
        java.util.Timer timer = new java.util.Timer("vps-probe-bound", true);
        timer.schedule(new java.util.TimerTask() {
            @Override
            public void run() {
                tunnel.close();
            }
        }, timeoutMs);
        try {
            tunnel.connect(null, t.host(), t.port(), timeoutMs);
            return ServerProbe.probe(tunnel.getInputStream(), tunnel.getOutputStream());
        } catch (JSchException e) {
            throw new IOException(e.getMessage(), e);
        } finally {
            timer.cancel();
            tunnel.close();
        }
    }

    private boolean serverSpeaksSsh(InetAddress address) {
        ServerProbe.Result probe;
        try {
            probe = probeServer(address);
        } catch (IOException e) {
            String what = e instanceof SocketTimeoutException ? "no SSH identification within " + timeoutMs + " ms"
                    : "no SSH identification (" + VpsException.reason(e) + ")";
            check("banner", "FAIL", what);
            verdict = new Verdict("unreachable", "the port does not answer like an SSH server", t.host() + ":" + t.port() + ": " + what,
                    "check the port: the service there is silent or not SSH");
            return false;
        }
        if (!probe.banner().startsWith("SSH-")) {
            check("banner", "FAIL", "the port answered: " + abbreviate(probe.banner()));
            verdict = new Verdict("unreachable", "another service listens on port " + t.port() + ": " + ServerProbe.notSsh(probe.banner()),
                    "it answered '" + abbreviate(probe.banner()) + "'", "use the SSH port (-p); find it on the server with: ss -tlnp | grep sshd");
            return false;
        }
        check("banner", "PASS", probe.banner());
        List<String> problems = new ArrayList<>();
        List<String> chosen = new ArrayList<>();
        compare("key exchange", t.algorithms().getOrDefault("kex", JSch.getConfig("kex")), probe.kex(), problems, chosen, "KexAlgorithms");
        compare("host key", t.algorithms().getOrDefault("server_host_key", JSch.getConfig("server_host_key")), probe.hostKeys(), problems, chosen, "HostKeyAlgorithms");
        compare("cipher", t.algorithms().getOrDefault("cipher.c2s", JSch.getConfig("cipher.c2s")), probe.ciphers(), problems, chosen, "Ciphers");
        boolean aead = chosen.stream().anyMatch(c -> c.contains("gcm") || c.contains("chacha20"));
        if (!aead) {
            compare("MAC", t.algorithms().getOrDefault("mac.c2s", JSch.getConfig("mac.c2s")), probe.macs(), problems, chosen, "MACs");
        }
        if (problems.isEmpty()) {
            check("algorithms", "PASS", String.join(", ", chosen));
            return true;
        }
        check("algorithms", "FAIL", String.join("; ", problems));
        boolean sha1Only = probe.hostKeys().equals(List.of("ssh-rsa"));
        verdict = new Verdict("login fails", "no common " + problems.get(0).split(":")[0], String.join("; ", problems),
                sha1Only ? "the server only has a SHA-1 ssh-rsa host key: upgrade its OpenSSH, or pass --legacy-ssh-rsa"
                        : "allow a modern algorithm in the server's sshd_config, or add one of the server's to ~/.ssh/config with the + form");
        return false;
    }

    private static void compare(String what, String ours, List<String> server, List<String> problems, List<String> chosen, String keyword) {
        for (String o : ours.split(",")) {
            if (server.contains(o)) {
                chosen.add(what + " " + o);
                return;
            }
        }
        problems.add(what + ": the server offers only " + String.join(",", server) + " (" + keyword + "), none of which we use; we offer " + ours);
    }

    /** A login with no key: host-key check, then the server lists the methods it allows for the user. */
    private HostKeyVerifier.Verdict hostKeyAndMethods() {
        JSch jsch = new JSch();
        List<String> log = new ArrayList<>();
        jsch.setInstanceLogger(new Collector(log));
        HostKeyVerifier verifier;
        JSchException ended = null;
        String serverMethods;
        try {
            Session session = jsch.getSession(t.user(), t.host(), t.port());
            verifier = HostKeyVerifier.install(jsch, session, t);
            if (jump != null) {
                session.setProxy(jump.tunnel());
            }
            session.setConfig("PreferredAuthentications", "publickey");
            session.setConfig("userauth.none", MethodsProbe.class.getName());
            t.algorithms().forEach(session::setConfig);
            try {
                session.connect(timeoutMs);
                session.disconnect();
            } catch (JSchException expected) {
                ended = expected;
                session.disconnect();
            }
            serverMethods = MethodsProbe.ANSWERS.remove(session);
        } catch (JSchException e) {
            check("host key", "FAIL", e.getMessage());
            verdict = new Verdict("login fails", "cannot check the host key", e.getMessage(), "check the known_hosts file");
            return null;
        }
        VpsException refused = verifier.failure(ended);
        if (refused != null) {
            check("host key", "FAIL", refused.getMessage());
            verdict = new Verdict("login fails", switch (verifier.verdict) {
                case UNKNOWN -> "the server's host key is not known yet";
                case PIN_MISMATCH -> "the server's host key is not the pinned one";
                case REVOKED -> "the server's host key or its certificate authority is revoked";
                default -> "the server's host key does not match what is recorded";
            }, refused.getMessage(), refused.hint);
            return verifier.verdict;
        }
        if (verifier.verdict == HostKeyVerifier.Verdict.UNCHECKED) {
            String reason = log.stream().filter(l -> l.contains("fail") || l.contains("Exception")).findFirst().orElse("the handshake ended early");
            check("host key", "FAIL", "the handshake failed before the host key was checked: " + reason);
            verdict = new Verdict("login fails", "the SSH handshake failed", reason, "rerun exec-command with -v to see the protocol log");
            return null;
        }
        check("host key", "PASS", verifier.verdict == HostKeyVerifier.Verdict.CERTIFIED
                ? "the server's host certificate is signed by a certificate authority trusted in " + t.knownHosts()
                : verifier.offeredType + " " + verifier.offeredFingerprint + " is "
                        + (verifier.verdict == HostKeyVerifier.Verdict.PINNED ? "the pinned key" : "known in " + t.knownHosts()));
        serverSigAlgs = log.stream().filter(l -> l.startsWith("server-sig-algs=<"))
                .map(l -> List.of(l.substring(17, l.length() - 1).split(","))).findFirst().orElse(null);
        String methods = serverMethods != null ? serverMethods : log.stream().filter(l -> l.startsWith("Authentications that can continue: "))
                .map(l -> l.substring("Authentications that can continue: ".length())).findFirst().orElse(null);
        this.methods = methods == null ? List.of() : List.of(methods.split(","));
        check("methods", this.methods.contains("publickey") ? "PASS" : "FAIL",
                "the server allows " + (methods == null ? "(no answer)" : methods) + " for user " + t.user()
                        + (serverSigAlgs == null ? "" : "; its signature algorithms: " + String.join(",", serverSigAlgs)));
        return verifier.verdict;
    }

    /**
     * JSch's "none" login, keeping the server's answer to it: the methods the server allows for the
     * user (JSch itself logs only those of ours the server allows, which hides "publickey is not one").
     */
    public static final class MethodsProbe extends com.jcraft.jsch.UserAuthNone {
        static final Map<Session, String> ANSWERS = java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

        @Override
        public boolean start(Session session) throws Exception {
            boolean loggedIn = super.start(session);
            if (getMethods() != null) {
                ANSWERS.put(session, getMethods());
            }
            return loggedIn;
        }
    }

    private List<String> methods = List.of();
    private List<String> serverSigAlgs;
    private String outsideSettings;
    private int agentKeys;
    private String keyProblem;
    private String keyProblemFix;

    /** Each key file: present, private enough, its format, encryption, passphrase, type and fingerprint. */
    private List<Path> keyFiles() {
        List<Path> usable = new ArrayList<>();
        if (t.identities().isEmpty()) {
            check("keys", t.useAgent() ? "WARN" : "FAIL", "no key file (looked in " + t.origins().get("identity") + ")");
        }
        for (Path key : t.identities()) {
            if (!Files.isRegularFile(key)) {
                check("key", "WARN", key + " does not exist");
                continue;
            }
            if (!Files.isReadable(key)) {
                check("key", "FAIL", key + " is not readable by you");
                keyProblem = "key " + key + " is not readable";
                keyProblemFix = "fix its owner and mode: chmod 600 " + key;
                continue;
            }
            byte[] raw;
            try {
                raw = Files.readAllBytes(key);
            } catch (IOException e) {
                check("key", "FAIL", key + ": " + e.getMessage());
                continue;
            }
            List<String> notes = new ArrayList<>();
            String format = format(raw);
            notes.add(format);
            if (raw.length >= 3 && (raw[0] & 0xff) == 0xEF) {
                notes.add("starts with a BOM");
            }
            if (new String(raw, StandardCharsets.ISO_8859_1).contains("\r\n")) {
                notes.add("Windows (CRLF) line ends");
            }
            String perms = permissions(key);
            JSch jsch = new JSch();
            KeyPair pair;
            try {
                byte[] pubBytes = Files.isRegularFile(Path.of(key + ".pub")) ? Identities.normalize(Files.readAllBytes(Path.of(key + ".pub"))) : null;
                pair = KeyPair.load(jsch, Identities.normalize(raw), pubBytes);
            } catch (JSchException | IOException e) {
                check("key", "FAIL", key + " (" + String.join(", ", notes) + "): cannot be read: " + e.getMessage());
                keyProblem = "key " + key + " cannot be read (" + e.getMessage() + ")";
                keyProblemFix = "give an OpenSSH, PEM, PKCS#8 or PuTTY private key (not the .pub)";
                continue;
            }
            if (pair.isEncrypted()) {
                if (t.keyPassphrase() == null) {
                    check("key", "FAIL", key + " (" + String.join(", ", notes) + ") is encrypted and no passphrase was given");
                    keyProblem = "key " + key + " is encrypted and no passphrase was given";
                    keyProblemFix = "set VPS_KEY_PASSPHRASE in the environment or .env, or pass --passphrase-file FILE";
                    continue;
                }
                if (!pair.decrypt(t.keyPassphrase().getBytes(StandardCharsets.UTF_8))) {
                    check("key", "FAIL", key + " (" + String.join(", ", notes) + "): the passphrase given does not open it");
                    keyProblem = "the passphrase does not open key " + key;
                    keyProblemFix = "fix VPS_KEY_PASSPHRASE or the passphrase file; test it with: ssh-keygen -y -f " + key;
                    continue;
                }
                notes.add("encrypted, passphrase opens it");
            } else {
                notes.add("not encrypted");
            }
            notes.add(pair.getKeyTypeString() + " " + bits(pair) + " bits " + Fingerprints.sha256(pair.getPublicKeyBlob()));
            String status = "PASS";
            if (perms != null) {
                notes.add("mode " + perms + ": OpenSSH would refuse a key others can read (chmod 600 " + key + ")");
                status = "WARN";
            }
            String pubMismatch = pubMismatch(key, pair);
            if (pubMismatch != null) {
                notes.add(pubMismatch);
                status = "WARN";
            }
            keys.put(key, pair);
            check("key", status, key + " (" + String.join(", ", notes) + ")");
            usable.add(key);
        }
        return usable;
    }

    private final Map<Path, KeyPair> keys = new LinkedHashMap<>();

    /** JSch gives Ed25519 and Ed448 sizes in bytes of the public key; people know them as 256 and 448 bits. */
    static int bits(KeyPair pair) {
        return switch (pair.getKeyType()) {
            case KeyPair.ED25519 -> 256;
            case KeyPair.ED448 -> 448;
            default -> pair.getKeySize();
        };
    }

    private static String format(byte[] raw) {
        String head = new String(raw, 0, Math.min(raw.length, 80), StandardCharsets.ISO_8859_1).replace("\uFEFF", "").replaceAll("^\\W+", "");
        if (head.startsWith("PuTTY-User-Key-File-3")) {
            return "PuTTY v3";
        }
        if (head.startsWith("PuTTY-User-Key-File-2")) {
            return "PuTTY v2";
        }
        if (head.contains("BEGIN OPENSSH PRIVATE KEY")) {
            return "OpenSSH";
        }
        if (head.contains("BEGIN ENCRYPTED PRIVATE KEY") || head.contains("BEGIN PRIVATE KEY")) {
            return "PKCS#8";
        }
        if (head.contains("PRIVATE KEY")) {
            return "PEM";
        }
        if (head.startsWith("ssh-") || head.startsWith("ecdsa-")) {
            return "a PUBLIC key (give the file without .pub)";
        }
        return "unknown format";
    }

    private static String permissions(Path key) {
        try {
            Set<PosixFilePermission> p = Files.getPosixFilePermissions(key);
            boolean open = p.contains(PosixFilePermission.GROUP_READ) || p.contains(PosixFilePermission.OTHERS_READ)
                    || p.contains(PosixFilePermission.GROUP_WRITE) || p.contains(PosixFilePermission.OTHERS_WRITE);
            return open ? java.nio.file.attribute.PosixFilePermissions.toString(p) : null;
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    private static String pubMismatch(Path key, KeyPair pair) {
        Path pub = Path.of(key + ".pub");
        if (!Files.isRegularFile(pub)) {
            return null;
        }
        try {
            String[] f = Files.readString(pub).trim().split("\\s+");
            byte[] blob = java.util.Base64.getDecoder().decode(f[1]);
            return java.util.Arrays.equals(blob, pair.getPublicKeyBlob()) ? null : key + ".pub does not belong to this key";
        } catch (IOException | RuntimeException e) {
            return key + ".pub cannot be read";
        }
    }

    private void agent() {
        if (!t.useAgent() || t.agentSocket() == null) {
            check("agent", "SKIP", t.origins().getOrDefault("agent", "not used"));
            return;
        }
        try {
            com.jcraft.jsch.AgentIdentityRepository repo = new com.jcraft.jsch.AgentIdentityRepository(
                    new com.jcraft.jsch.SSHAgentConnector(new com.jcraft.jsch.UnixDomainSocketFactory(), t.agentSocket()));
            List<String> held = repo.getIdentities().stream()
                    .map(id -> id.getAlgName() + " " + Fingerprints.sha256(id.getPublicKeyBlob()) + " " + id.getName()).toList();
            agentKeys = held.size();
            check("agent", held.size() > 5 ? "WARN" : "PASS", t.agentSocket() + " holds " + held.size() + " key(s)"
                    + (held.isEmpty() ? "" : ": " + String.join(", ", held))
                    + (held.size() > 5 ? "; more than the server's default MaxAuthTries (6) allows: use IdentitiesOnly yes" : ""));
        } catch (Exception e) {
            check("agent", "WARN", "SSH_AUTH_SOCK=" + t.agentSocket() + " is not reachable (" + e.getMessage() + ")");
        }
    }

    /** Each key alone, RSA keys with each SHA-2 signature, then what the working login sees on the server. */
    private void authenticate(List<Path> usable, HostKeyVerifier.Verdict hostKey) {
        List<String> accepted = new ArrayList<>();
        List<String> rejected = new ArrayList<>();
        VpsConnection working = null;
        Path workingKey = null;
        String allowedSetting = t.algorithms().get("PubkeyAcceptedAlgorithms");
        List<String> allowed = allowedSetting == null ? null : List.of(allowedSetting.split(","));
        for (Path key : usable) {
            KeyPair pair = keys.get(key);
            boolean rsa = pair.getKeyTypeString().equals("ssh-rsa");
            // RSA is tried with each signature, also beyond the user's settings: that tells whose side limits it.
            List<String> algorithms = rsa ? List.of("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa") : List.of("");
            for (String algorithm : algorithms) {
                VpsConnection c = tryLogin(key, algorithm);
                String label = key + (algorithm.isEmpty() ? "" : " with " + algorithm);
                if (c == null) {
                    rejected.add(label);
                    continue;
                }
                accepted.add(label);
                boolean permitted = algorithm.isEmpty() || (allowed == null ? !algorithm.equals("ssh-rsa") : allowed.contains(algorithm));
                if (permitted && working == null) {
                    working = c;
                    workingKey = key;
                } else {
                    if (!permitted && !algorithm.equals("ssh-rsa")) {
                        outsideSettings = label;
                    }
                    c.close();
                }
                break;
            }
        }
        if (agentKeys > 0) {
            VpsConnection c = tryAgent();
            (c != null ? accepted : rejected).add("the agent's keys");
            if (working == null) {
                working = c;
            } else if (c != null) {
                c.close();
            }
        }
        if (t.passwordAuth()) {
            VpsConnection c = tryPassword();
            (c != null ? accepted : rejected).add("a password");
            if (working == null) {
                working = c;
            } else if (c != null) {
                c.close();
            }
        }
        check("auth", working != null ? "PASS" : "FAIL",
                (accepted.isEmpty() ? "" : "accepted: " + String.join(", ", accepted) + (rejected.isEmpty() ? "" : "; "))
                        + (rejected.isEmpty() ? "" : "rejected: " + String.join(", ", rejected)));
        if (working != null) {
            String shellRefusal;
            try (VpsConnection c = working) {
                shellRefusal = remoteChecks(c);
            }
            if (shellRefusal != null) {
                verdict = new Verdict("login fails", "the login shell of " + t.user() + " runs no commands (nologin or false)", shellRefusal,
                        "as root on the server: usermod -s /bin/bash " + t.user() + " (diagnose-auth --fix-script prints a script that does it)");
                serverSide(workingKey);
                return;
            }
            Check openKey = checks.stream().filter(c -> c.name().equals("key") && c.detail().contains("OpenSSH would refuse")).findFirst().orElse(null);
            if (openKey != null) {
                Path key = Path.of(openKey.detail().substring(0, openKey.detail().indexOf(" (")));
                verdict = new Verdict("login works", "login works here, but ssh refuses " + key + ": its permissions let others read it",
                        openKey.detail(), "chmod 600 " + key);
                return;
            }
            verdict = new Verdict("login works", "login works as " + t.user(), "accepted: " + String.join(", ", accepted), "nothing to change");
            return;
        }
        if (accepted.stream().anyMatch(a -> a.endsWith("with ssh-rsa"))) {
            verdict = new Verdict("login fails", "the server accepts this RSA key only with SHA-1 (ssh-rsa) signatures",
                    "rsa-sha2-512 and rsa-sha2-256 were rejected, ssh-rsa accepted", "upgrade the server's OpenSSH (7.2 or newer), or pass --legacy-ssh-rsa");
            return;
        }
        if (t.passwordAuth() && usable.isEmpty() && !methods.isEmpty() && !methods.contains("password") && !methods.contains("keyboard-interactive")) {
            verdict = new Verdict("login fails", "the server does not accept passwords for " + t.user(), "it allows only " + String.join(",", methods),
                    "log in with a key (ask the server's owner to add your public key), or set PasswordAuthentication yes in its sshd_config");
            serverSide(null);
            return;
        }
        if (outsideSettings != null) {
            verdict = new Verdict("login fails", "your settings and the server share no signature algorithm for this RSA key",
                    "you allow only " + allowedSetting + " (" + t.origins().getOrDefault("pubkeyacceptedalgorithms", "settings")
                            + "); the server accepted " + outsideSettings,
                    "allow SHA-2 signatures: in ~/.ssh/config, PubkeyAcceptedAlgorithms +rsa-sha2-512,rsa-sha2-256");
            return;
        }
        if (keyProblem != null && accepted.isEmpty()) {
            verdict = new Verdict("login fails", keyProblem, "the key could not be offered", keyProblemFix);
            return;
        }
        if (!methods.isEmpty() && !methods.contains("publickey")) {
            verdict = new Verdict("login fails", "the server does not accept keys for " + t.user(), "it allows only " + String.join(",", methods),
                    "enable PubkeyAuthentication yes in /etc/ssh/sshd_config (and any Match block for this user), then: systemctl reload ssh");
            serverSide(usable.isEmpty() ? null : usable.get(0));
            return;
        }
        if (usable.isEmpty()) {
            verdict = new Verdict("login fails", agentKeys > 0 ? "the server refused the agent's keys" : "there is no usable key",
                    agentKeys > 0 ? "rejected: " + String.join(", ", rejected) : "no key file could be offered",
                    "create one with ssh-keygen -t ed25519 and pass it with -i, or set VPS_KEY");
            serverSide(null);
            return;
        }
        KeyPair first = keys.get(usable.get(0));
        serverSide(usable.get(0));
        String line = authorizedKeysLine(first);
        verdict = new Verdict("login fails", "the server refused every key for user '" + t.user() + "'",
                "the server allows " + String.join(",", methods) + "; rejected: " + String.join(", ", rejected),
                "the public key is not in ~" + t.user() + "/.ssh/authorized_keys on the server, or that user does not exist, or ~/.ssh"
                        + " is writable by others (StrictModes), or the server does not accept " + first.getKeyTypeString()
                        + " keys (its PubkeyAcceptedAlgorithms; see sshd -T | grep -i pubkeyaccepted). Add this line there, as " + t.user() + ":\n  " + line
                        + "\n  e.g. from a machine that can log in: mkdir -p ~/.ssh && chmod 700 ~/.ssh && echo '" + line
                        + "' >> ~/.ssh/authorized_keys && chmod 600 ~/.ssh/authorized_keys");
    }

    /** The verdict is a cause on the server's side; KEY (null: none) is the key file a fix there authorizes. */
    private void serverSide(Path key) {
        serverSideCause = true;
        keyToAuthorize = key == null ? null : new KeyToAuthorize(key, keys.get(key));
    }

    private VpsConnection tryLogin(Path key, String algorithm) {
        Map<String, String> algorithms = new LinkedHashMap<>(t.algorithms());
        if (!algorithm.isEmpty()) {
            algorithms.put("PubkeyAcceptedAlgorithms", algorithm);
        }
        return tryWith(new Target.Credentials(List.of(key), t.keyPassphrase(), false, null, false, null), algorithms);
    }

    private VpsConnection tryAgent() {
        return tryWith(new Target.Credentials(List.of(), null, true, t.agentSocket(), false, null), t.algorithms());
    }

    private VpsConnection tryPassword() {
        return tryWith(new Target.Credentials(List.of(), null, false, null, true, t.credentials().password()), t.algorithms());
    }

    /** One login attempt with only these credentials; null when the server refuses it. */
    private VpsConnection tryWith(Target.Credentials credentials, Map<String, String> algorithms) {
        try {
            return VpsConnection.open(t.withCredentials(credentials, algorithms), null);
        } catch (VpsException e) {
            return null;
        }
    }

    /** The account's details as the working login sees them; returns why its shell ran nothing (nologin, false), else null. */
    private String remoteChecks(VpsConnection c) {
        String script = "id -un; printf '%s\\n' \"$HOME\"; for p in \"$HOME\" \"$HOME/.ssh\" \"$HOME/.ssh/authorized_keys\"; do "
                + "stat -c '%a %U %n' \"$p\" 2>/dev/null || echo \"missing $p\"; done; sudo -n true 2>/dev/null && echo sudo:yes || echo sudo:no";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ExecRunner.run(c, RemoteCommand.of(script), out, new ByteArrayOutputStream(), null);
        } catch (VpsException e) {
            if (e.kind != VpsException.Kind.CONFIG) {
                throw e;
            }
            check("server", "FAIL", e.getMessage());
            return e.getMessage();
        }
        String[] lines = out.toString(StandardCharsets.UTF_8).split("\n");
        if (lines.length < 6) {
            check("server", "WARN", "could not read the account's details");
            return null;
        }
        List<String> warnings = new ArrayList<>();
        for (int i = 2; i <= 4; i++) {
            String[] f = lines[i].split(" ", 3);
            if (f.length == 3 && f[0].matches("\\d+") && (Integer.parseInt(f[0], 8) & 022) != 0) {
                warnings.add(f[2] + " is " + f[0] + " (writable by group or others: StrictModes makes sshd ignore authorized_keys; chmod go-w " + f[2] + ")");
            }
        }
        check("server", warnings.isEmpty() ? "PASS" : "WARN", "user " + lines[0] + ", home " + lines[1] + ", " + lines[2] + "; " + lines[3] + "; "
                + lines[4] + "; " + (lines[5].equals("sudo:yes") ? "sudo -n works" : "sudo -n needs a password or is not allowed")
                + (warnings.isEmpty() ? "" : "; " + String.join("; ", warnings)));
        return null;
    }

    static String authorizedKeysLine(KeyPair pair) {
        return pair.getKeyTypeString() + " " + java.util.Base64.getEncoder().encodeToString(pair.getPublicKeyBlob())
                + (pair.getPublicKeyComment() == null || pair.getPublicKeyComment().isEmpty() ? "" : " " + pair.getPublicKeyComment());
    }

    private void check(String name, String status, String detail) {
        Check c = new Check(name, status, detail);
        checks.add(c);
        if (live != null) {
            live.printf("%-4s %-10s %s%n", status, name, c.detail());
            live.flush();
        }
    }

    private static long ms(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }

    private static String abbreviate(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }

    private record Collector(List<String> lines) implements Logger {
        @Override
        public boolean isEnabled(int level) {
            return true;
        }

        @Override
        public void log(int level, String message) {
            lines.add(message);
        }
    }
}
