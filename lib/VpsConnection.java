import com.jcraft.jsch.ChannelExec;
import com.jcraft.jsch.ChannelSftp;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.KeyPair;
import com.jcraft.jsch.Logger;
import com.jcraft.jsch.Session;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One authenticated SSH session to a target: bounded connect, strict host-key checking,
 * keepalive. Open commands on it with {@link #openExec}; close it with try-with-resources.
 */
final class VpsConnection implements AutoCloseable {
    static final int KEEPALIVE_INTERVAL_MS = 15_000;
    static final int KEEPALIVE_COUNT_MAX = 3;

    final Target target;
    private final Session session;

    private VpsConnection(Target target, Session session) {
        this.target = target;
        this.session = session;
    }

    static VpsConnection open(Target target, PrintStream verboseLog) {
        JSch jsch = new JSch();
        if (verboseLog != null) {
            jsch.setInstanceLogger(new StderrLogger(verboseLog));
        }
        List<String> offered = loadIdentities(jsch, target);
        HostKeyVerifier verifier;
        Session session;
        try {
            verifier = new HostKeyVerifier(jsch, target.knownHosts(), target.pinnedHostKey(), target.acceptNew());
            jsch.setHostKeyRepository(verifier);
            session = jsch.getSession(target.user(), target.host(), target.port());
        } catch (JSchException e) {
            throw new VpsException(VpsException.Kind.CONFIG, "cannot set up the connection: " + e.getMessage(),
                    "check the known_hosts file and the target values", false, e);
        }
        session.setConfig("StrictHostKeyChecking", "yes");
        session.setConfig("PreferredAuthentications", "publickey");
        int timeoutMs = (int) Math.max(1, target.connectTimeout().toMillis());

        // JSch bounds each socket read by the timeout, not the whole login; the watchdog bounds the whole.
        Watchdog watchdog = new Watchdog(session, timeoutMs);
        try {
            session.connect(timeoutMs);
            session.setServerAliveInterval(KEEPALIVE_INTERVAL_MS);
            session.setServerAliveCountMax(KEEPALIVE_COUNT_MAX);
        } catch (JSchException e) {
            session.disconnect();
            throw translate(e, target, verifier, offered, watchdog.fired());
        } finally {
            watchdog.cancel();
        }
        return new VpsConnection(target, session);
    }

    ChannelExec openExec(String command) {
        try {
            ChannelExec channel = (ChannelExec) session.openChannel("exec");
            channel.setCommand(command);
            return channel;
        } catch (JSchException e) {
            throw lost(e);
        }
    }

    ChannelSftp openSftp() {
        try {
            return (ChannelSftp) session.openChannel("sftp");
        } catch (JSchException e) {
            throw lost(e);
        }
    }

    boolean isConnected() {
        return session.isConnected();
    }

    VpsException lost(Exception cause) {
        return new VpsException(VpsException.Kind.NETWORK,
                "the connection to " + target.display() + " was lost: " + cause.getMessage(),
                "check the network and retry; a command that had started may still be running or may have finished",
                true, cause);
    }

    @Override
    public void close() {
        session.disconnect();
    }

    private static List<String> loadIdentities(JSch jsch, Target target) {
        List<String> offered = new ArrayList<>();
        boolean explicit = target.origins().getOrDefault("identity", "default").startsWith("default") == false;
        for (Path key : target.identities()) {
            if (!Files.isRegularFile(key)) {
                if (explicit) {
                    throw VpsException.config("key file " + key + " does not exist",
                            "fix the path given by " + target.origins().get("identity"));
                }
                continue;
            }
            KeyPair pair;
            try {
                pair = KeyPair.load(jsch, key.toString());
            } catch (JSchException e) {
                throw new VpsException(VpsException.Kind.AUTH, "cannot read key " + key + ": " + e.getMessage(),
                        "give an OpenSSH, PEM or PuTTY private key (the file without .pub)", false, e);
            }
            String passphrase = target.keyPassphrase();
            if (pair.isEncrypted()) {
                if (passphrase == null) {
                    throw new VpsException(VpsException.Kind.AUTH, "key " + key + " is encrypted and no passphrase was given",
                            "set VPS_KEY_PASSPHRASE in the environment or in .env (never on the command line)");
                }
                if (!pair.decrypt(passphrase.getBytes(java.nio.charset.StandardCharsets.UTF_8))) {
                    throw new VpsException(VpsException.Kind.AUTH, "the passphrase in VPS_KEY_PASSPHRASE does not open key " + key,
                            "fix VPS_KEY_PASSPHRASE, or check with: ssh-keygen -y -f " + key);
                }
            }
            offered.add(key + " (" + Fingerprints.sha256(pair.getPublicKeyBlob()) + ")");
            pair.dispose();
            try {
                jsch.addIdentity(key.toString(), passphrase == null ? null : passphrase.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            } catch (JSchException e) {
                throw new VpsException(VpsException.Kind.AUTH, "cannot use key " + key + ": " + e.getMessage(),
                        "check the key file and its passphrase", false, e);
            }
        }
        if (offered.isEmpty()) {
            throw new VpsException(VpsException.Kind.AUTH, "no private key to log in with as " + target.user(),
                    "pass -i KEY or set VPS_KEY (looked for ~/.ssh/id_ed25519, id_ecdsa and id_rsa)");
        }
        return offered;
    }

    private static VpsException translate(JSchException e, Target t, HostKeyVerifier verifier, List<String> offered, boolean timedOut) {
        VpsException hostKey = verifier.failure();
        if (hostKey != null) {
            return hostKey;
        }
        String where = t.host() + ":" + t.port();
        Throwable cause = e.getCause();
        String msg = String.valueOf(e.getMessage());
        if (cause instanceof UnknownHostException) {
            return new VpsException(VpsException.Kind.NETWORK, "cannot resolve host name '" + t.host() + "'",
                    "check the spelling, the HostName in your ssh config, or use the server's IP address", true, e);
        }
        if (cause instanceof ConnectException) {
            return new VpsException(VpsException.Kind.NETWORK, where + " refused the connection",
                    "check that sshd runs on the server and listens on port " + t.port() + " (-p), and that a firewall allows it", true, e);
        }
        if (cause instanceof NoRouteToHostException) {
            return new VpsException(VpsException.Kind.NETWORK, "no route to " + where,
                    "check the address and the network; the host may be down", true, e);
        }
        if (timedOut || cause instanceof SocketTimeoutException || msg.contains("timeout")) {
            return new VpsException(VpsException.Kind.NETWORK,
                    "no SSH answer from " + where + " within " + Durations.format(t.connectTimeout()),
                    "the host may be down, a firewall may drop the packets, or the port may not be SSH; raise --connect-timeout on a slow link", true, e);
        }
        if (msg.startsWith("Auth fail") || msg.startsWith("Auth cancel") || msg.contains("USERAUTH fail")) {
            return new VpsException(VpsException.Kind.AUTH,
                    "the server refused every key offered for user '" + t.user() + "': " + String.join(", ", offered),
                    "add the matching public key to ~" + t.user() + "/.ssh/authorized_keys on the server (ssh-copy-id -i KEY.pub -p " + t.port() + " "
                            + t.user() + "@" + t.host() + " from a machine that can log in), or check the user name (-u)", false, e);
        }
        if (msg.contains("Algorithm negotiation fail")) {
            return new VpsException(VpsException.Kind.PROTOCOL, "no common algorithm with " + where + ": " + msg,
                    "the server's SSH is very old or very restricted; check its KexAlgorithms, Ciphers and HostKeyAlgorithms", false, e);
        }
        if (msg.contains("invalid server's version string") || msg.contains("ssh_exchange_identification")) {
            return new VpsException(VpsException.Kind.PROTOCOL, where + " did not answer as an SSH server",
                    "check the port: another service (HTTP, SMTP...) listens there", false, e);
        }
        if (msg.contains("closed by foreign host") || msg.contains("Connection reset") || msg.contains("socket is not established")) {
            return new VpsException(VpsException.Kind.NETWORK, where + " closed the connection during the handshake",
                    "the server may be overloaded (MaxStartups), block your address (fail2ban, hosts.deny), or not be SSH", true, e);
        }
        return new VpsException(VpsException.Kind.PROTOCOL, "SSH handshake with " + where + " failed: " + msg,
                "rerun with -v to see the protocol log", false, e);
    }

    /** Disconnects a session that is still logging in after the deadline. */
    private static final class Watchdog {
        private final Thread thread;
        private volatile boolean fired;
        private volatile boolean cancelled;

        Watchdog(Session session, long millis) {
            thread = new Thread(() -> {
                try {
                    Thread.sleep(millis);
                } catch (InterruptedException e) {
                    return;
                }
                if (!cancelled) {
                    fired = true;
                    session.disconnect();
                }
            }, "vps-connect-watchdog");
            thread.setDaemon(true);
            thread.start();
        }

        boolean fired() {
            return fired;
        }

        void cancel() {
            cancelled = true;
            thread.interrupt();
        }
    }

    private record StderrLogger(PrintStream out) implements Logger {
        @Override
        public boolean isEnabled(int level) {
            return true;
        }

        @Override
        public void log(int level, String message) {
            out.println("debug: " + message);
        }

        /** One line per event: a stack trace only says that the socket closed, which we report ourselves. */
        @Override
        public void log(int level, String message, Throwable cause) {
            out.println("debug: " + message + (cause == null ? "" : " (" + cause + ")"));
        }
    }
}
