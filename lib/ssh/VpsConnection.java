import com.jcraft.jsch.Channel;
import com.jcraft.jsch.ChannelExec;
import com.jcraft.jsch.ChannelSftp;
import com.jcraft.jsch.HostKey;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchAlgoNegoFailException;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.Logger;
import com.jcraft.jsch.Session;
import com.jcraft.jsch.UIKeyboardInteractive;
import com.jcraft.jsch.UserInfo;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * One authenticated SSH session to a target: bounded connect, strict host-key checking,
 * keepalive. Open commands on it with {@link #openExec}; close it with try-with-resources.
 * A connection leased from a {@link SessionPool} shares the pool's session: closing it ends the
 * lease, never the session.
 */
final class VpsConnection implements AutoCloseable {
    static final int KEEPALIVE_INTERVAL_MS = 15_000;
    static final int KEEPALIVE_COUNT_MAX = 3;

    /** What a leased connection asks of the pool it came from. */
    interface Lease {
        /** A live session of the same way of connecting, in place of DEAD (logging in again, host key verified again). */
        VpsConnection replace(VpsConnection dead);

        /** Gives the lease back; called once. */
        void release();
    }

    final Target target;
    /** Replaced only in a lease, and only when found dead before a request was sent on it. */
    private volatile Session session;
    private final List<Session> jumpSessions;
    /** The pool's lease this connection is, or null when it owns its session. */
    private final Lease lease;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    private VpsConnection(Target target, Session session, List<Session> jumpSessions, Lease lease) {
        this.target = target;
        this.session = session;
        this.jumpSessions = jumpSessions;
        this.lease = lease;
    }

    /** A login for a script: tried again with the one reconnect policy when the server refused the connection. */
    static VpsConnection connect(Target target, PrintStream verboseLog) {
        return Reconnect.login(() -> open(target, verboseLog));
    }

    /** A connection on this one's session for TARGET, whose close() calls LEASE's release instead of disconnecting. */
    VpsConnection leased(Target target, Lease lease) {
        return new VpsConnection(target, session, List.of(), lease);
    }

    /** Connects through every ProxyJump hop in order, each with its own host-key check, then to the target. */
    static VpsConnection open(Target target, PrintStream verboseLog) {
        List<Session> hops = new ArrayList<>();
        try {
            Session previous = null;
            for (Target jump : target.jumps()) {
                previous = login(jump, previous, verboseLog);
                hops.add(previous);
            }
            return new VpsConnection(target, login(target, previous, verboseLog), hops, null);
        } catch (RuntimeException e) {
            hops.forEach(Session::disconnect);
            throw e;
        }
    }

    private static Session login(Target target, Session via, PrintStream verboseLog) {
        JSch jsch = new JSch();
        if (verboseLog != null) {
            jsch.setInstanceLogger(new StderrLogger(verboseLog));
            target.notes().forEach(n -> verboseLog.println("debug: " + n));
        }
        List<String> offered = Identities.load(jsch, target, verboseLog);
        HostKeyVerifier verifier;
        Session session;
        try {
            session = jsch.getSession(target.user(), target.host(), target.port());
            verifier = HostKeyVerifier.install(jsch, session, target);
        } catch (JSchException e) {
            throw new VpsException(VpsException.Kind.CONFIG, "cannot set up the connection: " + e.getMessage(),
                    "check the known_hosts file and the target values", false, e);
        }
        session.setConfig("PreferredAuthentications", target.passwordAuth() ? "publickey,keyboard-interactive,password" : "publickey");
        target.algorithms().forEach(session::setConfig);
        if (target.passwordAuth() && target.credentials().password() != null) {
            session.setPassword(target.credentials().password().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            session.setUserInfo(new PasswordAnswers(target.credentials().password()));
        }
        if (via != null) {
            session.setProxy(new JumpProxy(via));
        }
        int timeoutMs = (int) Math.max(1, target.connectTimeout().toMillis());

        // JSch bounds each socket read by the timeout, not the whole login; the watchdog bounds the whole.
        Watchdog watchdog = new Watchdog(session, timeoutMs);
        try {
            session.connect(timeoutMs);
            session.setServerAliveInterval((int) target.aliveInterval().toMillis());
            // JSch gives up one interval after its last unanswered keepalive: CountMax - 1 of them
            // find a dead link within ServerAliveInterval x ServerAliveCountMax, as ssh_config(5) states.
            session.setServerAliveCountMax(Math.max(0, target.aliveCountMax() - 1));
        } catch (JSchException e) {
            session.disconnect();
            throw translate(e, target, verifier, offered, watchdog.fired());
        } finally {
            watchdog.cancel();
        }
        return session;
    }

    ChannelExec openExec(String command) {
        try {
            ChannelExec channel = (ChannelExec) liveSession().openChannel("exec");
            channel.setCommand(command);
            return channel;
        } catch (JSchException e) {
            throw lost(e);
        }
    }

    /** A new tunnel from this server onwards (a ProxyJump hop), for a connection or a probe of the next host. */
    JumpProxy tunnel() {
        return new JumpProxy(session);
    }

    ChannelSftp openSftp() {
        try {
            return (ChannelSftp) liveSession().openChannel("sftp");
        } catch (JSchException e) {
            throw lost(e);
        }
    }

    Channel openChannel(String type) throws JSchException {
        return liveSession().openChannel(type);
    }

    /** Asks the server to listen on BIND:PORT and send each connection to HOST:HOST_PORT on this side (ssh -R); JSch makes the local connections through SOCKETS. */
    void forwardFromServer(String bind, int port, String host, int hostPort, com.jcraft.jsch.SocketFactory sockets) throws JSchException {
        liveSession().setPortForwardingR(bind, port, host, hostPort, sockets);
    }

    /** The connection this thread last opened a channel on: how mcp-server's audit finds the host key and credentials a tool call used. */
    private static final ThreadLocal<VpsConnection> USED_ON_THIS_THREAD = new ThreadLocal<>();

    /** The connection this thread last opened a channel on since the last call, or null; forgets it. */
    static VpsConnection takeUsedOnThisThread() {
        VpsConnection c = USED_ON_THIS_THREAD.get();
        USED_ON_THIS_THREAD.remove();
        return c;
    }

    /** The session to open a channel on: for a lease found dead (nothing was sent on it yet), the pool's fresh one. */
    private Session liveSession() {
        Session s = session;
        if (lease != null && !s.isConnected()) {
            replaceDeadSession();
        }
        USED_ON_THIS_THREAD.set(this);
        return session;
    }

    /**
     * Whether a channel that failed with E can be opened again on a fresh session: only for a lease,
     * only when its exec or subsystem request never left (the server refused the channel, or the
     * session was found dead while opening it), and after the pool replaced the dead session.
     */
    boolean reopenAfter(JSchException e) {
        String m = String.valueOf(e.getMessage());
        boolean beforeRequest = m.equals("session is down") || m.startsWith("channel is not opened");
        if (lease == null || !beforeRequest || session.isConnected()) {
            return false;
        }
        replaceDeadSession();
        return true;
    }

    private void replaceDeadSession() {
        session = lease.replace(this).session;
    }

    boolean isConnected() {
        return session.isConnected();
    }

    /** The SHA256: fingerprint of the host key this connection's login verified (for the audit log). */
    String hostKeyFingerprint() {
        HostKey key = session.getHostKey();
        return key == null ? null : Fingerprints.sha256(java.util.Base64.getDecoder().decode(key.getKey()));
    }

    /** How long to wait for a channel to open and its request to be answered. */
    int channelTimeoutMs() {
        return (int) Math.max(1000, target.connectTimeout().toMillis());
    }

    VpsException lost(Exception cause) {
        return new VpsException(VpsException.Kind.NETWORK,
                "the connection to " + target.display() + " was lost: " + cause.getMessage(),
                "check the network and retry; a command that had started may still be running or may have finished",
                true, cause);
    }

    /**
     * A command's channel failed. When the server refused the channel or the request, or the
     * session was down before the channel opened, the command surely did not start and may be run
     * again; otherwise it may have.
     */
    VpsException failedToStart(JSchException e, String what) {
        String m = String.valueOf(e.getMessage());
        boolean refused = m.contains("channel is not opened") || m.contains("failed to send channel request") || m.equals("session is down");
        if (!refused) {
            return mayHaveRun(e, what);
        }
        String why = m.equals("session is down") ? "the connection to " + target.display() + " was lost before it was sent"
                : target.display() + " refused the channel (" + m + ")";
        return new VpsException(VpsException.Kind.NETWORK, what + " did not start: " + why,
                "it is safe to run it again; if this repeats, the server may be at its MaxSessions limit", true, e);
    }

    /** The link dropped while a command ran: it must not be re-run blindly. */
    VpsException mayHaveRun(Exception cause, String what) {
        return new VpsException(VpsException.Kind.NETWORK,
                "the connection to " + target.display() + " was lost while " + what + " ran (" + cause.getMessage()
                        + "): it may have finished, may still be running, or may not have started; it was not run again",
                "it may still be running or have finished: check what it changed before running it again; work that must not run twice "
                        + "belongs in a job (job start --id KEY is safe to repeat)",
                false, cause);
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (lease != null) {
            lease.release();
            return;
        }
        session.disconnect();
        for (int i = jumpSessions.size() - 1; i >= 0; i--) {
            jumpSessions.get(i).disconnect();
        }
    }

    private static VpsException translate(JSchException e, Target t, HostKeyVerifier verifier, List<String> offered, boolean timedOut) {
        VpsException hostKey = verifier.failure(e);
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
            String tried = String.join(", ", offered) + (t.passwordAuth() ? (offered.isEmpty() ? "" : ", ") + "a password" : "");
            return new VpsException(VpsException.Kind.AUTH,
                    "the server refused every key offered for user '" + t.user() + "' on " + where + ": " + tried,
                    "add the matching public key to ~" + t.user() + "/.ssh/authorized_keys on the server (ssh-copy-id -i KEY.pub -p " + t.port() + " "
                            + t.user() + "@" + t.host() + " from a machine that can log in), or check the user name (-u)", false, e);
        }
        if (msg.startsWith(JumpProxy.FAILURE)) {
            return new VpsException(VpsException.Kind.NETWORK, msg,
                    "check that the jump host allows forwarding (AllowTcpForwarding in its sshd_config) and can reach " + where, true, e);
        }
        if (e instanceof JSchAlgoNegoFailException nego) {
            return noCommonAlgorithm(nego, where);
        }
        boolean endedEarly = msg.contains("closed by foreign host") || msg.contains("Connection reset") || msg.contains("socket is not established");
        if (msg.contains("invalid server's version string") || msg.contains("ssh_exchange_identification") || endedEarly) {
            String answer = firstLineOfAnotherService(t);
            if (answer != null) {
                return new VpsException(VpsException.Kind.PROTOCOL, where + " is " + ServerProbe.notSsh(answer),
                        "check the port (-p, Port in ssh config): another service listens on " + t.port() + "; find sshd's with: ss -tlnp | grep sshd", false, e);
            }
        }
        if (msg.contains("invalid server's version string") || msg.contains("ssh_exchange_identification")) {
            return new VpsException(VpsException.Kind.PROTOCOL, where + " did not answer as an SSH server",
                    "check the port: another service (HTTP, SMTP...) listens there", false, e);
        }
        if (endedEarly || msg.contains("Connection reset") || msg.contains("socket is not established")) {
            return new VpsException(VpsException.Kind.NETWORK, where + " closed the connection during the handshake",
                    "the server may be overloaded (MaxStartups), block your address (fail2ban, hosts.deny), or not be SSH", true, e);
        }
        return new VpsException(VpsException.Kind.PROTOCOL, "SSH handshake with " + where + " failed: " + msg,
                "rerun with -v to see the protocol log", false, e);
    }

    /**
     * JSch only says the server hung up: one more look, as diagnose-auth takes, tells a web server
     * (or another service) on the port from a server that refuses us. Null when it is not one.
     */
    private static String firstLineOfAnotherService(Target t) {
        if (!t.jumps().isEmpty()) {
            return null;
        }
        try {
            int timeoutMs = (int) Math.min(3000, Math.max(500, t.connectTimeout().toMillis()));
            String banner = ServerProbe.probe(java.net.InetAddress.getByName(t.host()), t.port(), timeoutMs).banner();
            return banner.isEmpty() || banner.startsWith("SSH-") ? null : banner;
        } catch (IOException | RuntimeException probeFailed) {
            return null;
        }
    }

    private static final Map<String, String> ALGORITHM_KINDS = Map.of(
            "kex", "key exchange", "server_host_key", "host key", "cipher.c2s", "cipher", "cipher.s2c", "cipher",
            "mac.c2s", "MAC", "mac.s2c", "MAC");

    private static VpsException noCommonAlgorithm(JSchAlgoNegoFailException e, String where) {
        String kind = ALGORITHM_KINDS.getOrDefault(e.getAlgorithmName(), e.getAlgorithmName());
        String server = withoutMarkers(e.getServerProposal());
        String ours = withoutMarkers(e.getJSchProposal());
        boolean onlySha1Rsa = e.getAlgorithmName().equals("server_host_key") && List.of(server.split(",")).contains("ssh-rsa")
                && !server.contains("rsa-sha2");
        String keyword = switch (kind) {
            case "key exchange" -> "KexAlgorithms";
            case "host key" -> "HostKeyAlgorithms";
            case "cipher" -> "Ciphers";
            default -> "MACs";
        };
        String spoken = Arrays.stream(server.split(",")).filter(a -> JSch.getConfig(a) != null).findFirst().orElse(null);
        String hint = onlySha1Rsa
                ? "the server only offers the SHA-1 ssh-rsa host key; upgrade its OpenSSH, or pass --legacy-ssh-rsa if you must connect now"
                : spoken != null && !kind.equals("host key")
                ? "we leave out the server's " + spoken + ": add it in ~/.ssh/config (" + keyword + " +" + spoken + "), or allow one of ours in its sshd_config"
                : "the server's SSH is very old or restricted: allow a modern algorithm in its sshd_config, or widen ours in ~/.ssh/config ("
                        + keyword + " +ALGORITHM)";
        return new VpsException(VpsException.Kind.PROTOCOL, "no common " + kind + " algorithm with " + where
                + ": the server offers " + server + "; we offer " + ours, hint, false, e);
    }

    private static String withoutMarkers(String kexList) {
        return Arrays.stream(kexList.split(",")).filter(a -> !ServerProbe.isMarker(a)).collect(Collectors.joining(","));
    }

    /**
     * Answers password and keyboard-interactive prompts with the emergency password, once each:
     * a wrong password must fail at once, not be retried into the server's growing delays.
     */
    private static final class PasswordAnswers implements UserInfo, UIKeyboardInteractive {
        private final String password;
        private boolean passwordGiven;
        private boolean promptsAnswered;

        PasswordAnswers(String password) {
            this.password = password;
        }

        @Override
        public String[] promptKeyboardInteractive(String destination, String name, String instruction, String[] prompt, boolean[] echo) {
            if (promptsAnswered) {
                return null;
            }
            promptsAnswered = true;
            String[] answers = new String[prompt.length];
            for (int i = 0; i < prompt.length; i++) {
                answers[i] = echo[i] ? "" : password;
            }
            return answers;
        }

        @Override
        public String getPassphrase() {
            return null;
        }

        @Override
        public String getPassword() {
            return password;
        }

        @Override
        public boolean promptPassword(String message) {
            boolean first = !passwordGiven;
            passwordGiven = true;
            return first;
        }

        @Override
        public boolean promptPassphrase(String message) {
            return false;
        }

        @Override
        public boolean promptYesNo(String message) {
            return false;
        }

        @Override
        public void showMessage(String message) {
            // banners are not shown: nothing of ours before the command's output
        }

        @Override
        public String toString() {
            return "PasswordAnswers[***]";
        }
    }

    /** Disconnects a session that is still logging in after the deadline. */
    private static final class Watchdog {
        private final Thread thread;
        private volatile boolean fired;
        private volatile boolean cancelled;

        Watchdog(Session session, long millis) {
            thread = Daemons.start("vps-connect-watchdog", () -> {
                try {
                    Thread.sleep(millis);
                } catch (InterruptedException e) {
                    return;
                }
                if (!cancelled) {
                    fired = true;
                    session.disconnect();
                }
            });
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
