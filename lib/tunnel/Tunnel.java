import com.jcraft.jsch.Channel;
import com.jcraft.jsch.ChannelDirectStreamLocal;
import com.jcraft.jsch.ChannelDirectTCPIP;
import com.jcraft.jsch.JSchException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A set of forwards kept up like autossh: the local ports are bound here, by this object, and stay
 * bound while the SSH login is replaced (keepalive finds a dead link; logins are retried with a
 * doubling pause, 0.5 s to 10 s, the host key verified again each time). Each local connection opens
 * its own direct-tcpip (or direct-streamlocal) channel; -R is asked of the server after every login.
 * A failure that will not heal (AUTH, HOSTKEY, the server refusing the forward) stops the tunnel
 * with that error; an unreachable destination only closes that one connection.
 */
final class Tunnel implements AutoCloseable {
    enum Status { UP, RECONNECTING, FAILED, STOPPED }

    /** Told of every change of status (a person's --foreground, the detached process's state file). */
    interface Watcher {
        void changed(Tunnel tunnel);

        /** A client connection ended, or a new last error: the counters moved. */
        default void activity(Tunnel tunnel) {
        }
    }

    static final long FIRST_PAUSE_MS = 500;
    static final long LONGEST_PAUSE_MS = 10_000;
    /** How long a client accepted while the login is being replaced waits for it before it is closed. */
    static final Duration CLIENT_WAIT = Duration.ofSeconds(15);
    /**
     * A channel's window and packet size. JSch opens direct-tcpip with 128 KiB and 16 KiB (~2.6 MB/s at 50 ms
     * RTT) and tops a window up only once half of it is used, so at 2 MiB (OpenSSH's) a download at 50 ms RTT
     * ran at 0.56x ssh's; at 8 MiB, 2.1x. It costs no memory: JSch hands each packet to the client's socket
     * as it arrives (a slow client holds back the session, as with any window).
     */
    static final int WINDOW = 8 * 1024 * 1024;
    static final int PACKET = 32 * 1024;
    /** A client's read that fits one SSH packet (OpenSSH's 32 KiB less JSch's header and margin): no runt packet after each. */
    static final int CHUNK = PACKET - 1024;
    private static final int SSH_OPEN_ADMINISTRATIVELY_PROHIBITED = 1;
    private static final int SSH_OPEN_CONNECT_FAILED = 2;

    final Target target;
    final List<TunnelSpec> specs;
    private final Watcher watcher;
    private final int[] ports;
    private final List<ServerSocket> listeners = new ArrayList<>();
    private final ExecutorService clients = Executors.newCachedThreadPool(Daemons.named("vps-tunnel-client"));
    private final Object lock = new Object();
    private VpsConnection connection;
    private volatile Status status = Status.RECONNECTING;
    private volatile Instant since = Instant.now();
    private volatile VpsException error;
    private volatile String lastError;
    private volatile String hostKey;
    private volatile boolean closed;
    private final AtomicLong bytesIn = new AtomicLong();
    private final AtomicLong bytesOut = new AtomicLong();
    private final AtomicLong connectionsTotal = new AtomicLong();
    private final AtomicInteger connectionsOpen = new AtomicInteger();
    private final AtomicInteger reconnects = new AtomicInteger();
    private volatile long quietSince = System.nanoTime();
    /** -R's local connections, counted like -L's. */
    private final RemoteForwardSockets remoteSockets = new RemoteForwardSockets(new RemoteForwardSockets.Counters() {
        @Override
        public void opened() {
            connectionsOpen.incrementAndGet();
            connectionsTotal.incrementAndGet();
        }

        @Override
        public void closed() {
            connectionsOpen.decrementAndGet();
            quietSince = System.nanoTime();
            watcher.activity(Tunnel.this);
        }

        @Override
        public void toServer(long bytes) {
            bytesOut.addAndGet(bytes);
        }

        @Override
        public void fromServer(long bytes) {
            bytesIn.addAndGet(bytes);
        }

        @Override
        public void failed(String where, IOException e) {
            lastError = "connect failed: " + where + " (here, for -R: " + e.getMessage() + ")";
        }
    });

    Tunnel(Target target, List<TunnelSpec> specs, Watcher watcher) {
        this.target = target;
        this.specs = List.copyOf(specs);
        this.watcher = watcher;
        this.ports = specs.stream().mapToInt(TunnelSpec::port).toArray();
    }

    /** Binds the local ports, logs in and asks for the remote forwards; throws what went wrong (nothing stays bound then). */
    Tunnel start() {
        try {
            bindLocalPorts();
            VpsConnection c = VpsConnection.connect(target, null);
            try {
                forwardRemotePorts(c, true);
            } catch (VpsException e) {
                c.close();
                throw e;
            }
            up(c);
        } catch (RuntimeException e) {
            synchronized (lock) {
                closed = true;
                status = Status.FAILED;
                error = e instanceof VpsException v ? v : null;
            }
            closeListeners();
            throw e;
        }
        for (int i = 0; i < specs.size(); i++) {
            if (specs.get(i).kind() != TunnelSpec.Kind.R) {
                TunnelSpec spec = specs.get(i);
                ServerSocket server = listeners.get(i);
                Daemons.start("vps-tunnel-accept-" + server.getLocalPort(), () -> accept(spec, server));
            }
        }
        Daemons.start("vps-tunnel-keeper", this::keepUp);
        return this;
    }

    private void bindLocalPorts() {
        for (int i = 0; i < specs.size(); i++) {
            TunnelSpec spec = specs.get(i);
            if (spec.kind() == TunnelSpec.Kind.R) {
                listeners.add(null);
                continue;
            }
            try {
                ServerSocket server = new ServerSocket();
                server.setReuseAddress(true);
                try {
                    server.bind(new InetSocketAddress(InetAddress.getByName(spec.bind()), spec.port()), 128);
                } catch (IOException e) {
                    server.close();
                    throw e;
                }
                listeners.add(server);
                ports[i] = server.getLocalPort();
            } catch (BindException e) {
                String holder = PortHolder.describe(spec.port());
                throw VpsException.config("local port " + spec.listens(spec.port()) + " for " + spec.kind().option + " is in use"
                                + (holder == null ? "" : " (held by " + holder + ")") + " or cannot be bound there: " + e.getMessage(),
                        "choose another local port (0 takes any free one), or stop what holds it" + (holder == null ? " (ss -ltnp shows it)" : ""));
            } catch (IOException e) {
                throw VpsException.config("cannot listen on " + spec.listens(spec.port()) + " for " + spec.kind().option + ": " + e.getMessage(),
                        "use a local address of this machine (127.0.0.1 or [::1])");
            }
        }
    }

    /** Asks the server for every -R. The first time a refusal is final; after a reconnect the old session may still hold the port. */
    private void forwardRemotePorts(VpsConnection c, boolean first) {
        for (TunnelSpec spec : specs) {
            if (spec.kind() != TunnelSpec.Kind.R) {
                continue;
            }
            try {
                c.forwardFromServer(spec.bind(), spec.port(), spec.host(), spec.hostPort(), remoteSockets);
            } catch (JSchException e) {
                if (!first) {
                    throw new VpsException(VpsException.Kind.NETWORK, "the server did not grant -R " + spec.listens(spec.port())
                            + " again yet (the dropped session may still hold it)", "it is asked again; the tunnel keeps trying", true, e);
                }
                throw new VpsException(VpsException.Kind.REMOTE, "the server refused to listen on " + spec.listens(spec.port()) + " for -R",
                        "the port may be in use on the server, or its sshd_config forbids it: AllowTcpForwarding yes (or remote),"
                                + " PermitListen, and GatewayPorts clientspecified for a bind other than loopback; then start the tunnel again", false, e);
            }
        }
    }

    private void up(VpsConnection c) {
        synchronized (lock) {
            connection = c;
            hostKey = c.hostKeyFingerprint();
            status = Status.UP;
            since = Instant.now();
            lock.notifyAll();
        }
        watcher.changed(this);
    }

    /** Watches the login; when it died, replaces it. */
    private void keepUp() {
        while (!closed && status != Status.FAILED) {
            VpsConnection c = current();
            if (c != null && c.isConnected()) {
                pause(250);
                continue;
            }
            reconnect(c);
        }
    }

    private void reconnect(VpsConnection dead) {
        synchronized (lock) {
            status = Status.RECONNECTING;
            since = Instant.now();
            connection = null;
        }
        reconnects.incrementAndGet();
        if (dead != null) {
            dead.close();
        }
        watcher.changed(this);
        long pauseMs = FIRST_PAUSE_MS;
        while (!closed) {
            pause(pauseMs);
            if (closed) {
                return;
            }
            try {
                VpsConnection c = VpsConnection.open(target, null);
                try {
                    forwardRemotePorts(c, false);
                } catch (VpsException e) {
                    c.close();
                    throw e;
                }
                up(c);
                return;
            } catch (VpsException e) {
                if (e.kind != VpsException.Kind.NETWORK && e.kind != VpsException.Kind.TIMEOUT) {
                    fail(e);
                    return;
                }
                lastError = e.getMessage();
                pauseMs = Math.min(pauseMs * 2, LONGEST_PAUSE_MS);
            }
        }
    }

    /** Stops the tunnel with E (it will not heal): the ports are released, the status says why. */
    void fail(VpsException e) {
        synchronized (lock) {
            if (status == Status.FAILED || closed) {
                return;
            }
            error = e;
            status = Status.FAILED;
            since = Instant.now();
            lock.notifyAll();
        }
        shutDown();
        watcher.changed(this);
    }

    private VpsConnection current() {
        synchronized (lock) {
            return connection;
        }
    }

    /** The live login, waiting (at most CLIENT_WAIT) while it is being replaced; null when there is none. */
    private VpsConnection awaitConnection() throws InterruptedException {
        long deadline = System.nanoTime() + CLIENT_WAIT.toNanos();
        synchronized (lock) {
            while (!closed && status != Status.FAILED) {
                if (connection != null && connection.isConnected()) {
                    return connection;
                }
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0) {
                    return null;
                }
                lock.wait(Math.min(left, 250));
            }
            return null;
        }
    }

    private void accept(TunnelSpec spec, ServerSocket server) {
        while (!closed) {
            try {
                Socket client = server.accept();
                client.setTcpNoDelay(true);
                clients.execute(() -> serve(spec, client));
            } catch (IOException | java.util.concurrent.RejectedExecutionException e) {
                return;   // closed
            }
        }
    }

    /** One local connection: its destination (for -D, what the SOCKS5 client asks), a channel to it, and bytes both ways. */
    private void serve(TunnelSpec spec, Socket client) {
        connectionsOpen.incrementAndGet();
        connectionsTotal.incrementAndGet();
        try (client) {
            SocketSink sink = new SocketSink(client, bytesIn);
            String host = spec.host();
            int port = spec.hostPort();
            if (spec.kind() == TunnelSpec.Kind.D) {
                client.setSoTimeout((int) CLIENT_WAIT.toMillis());   // a client that says nothing does not hold a thread for ever
                Socks5.Request r = Socks5.handshake(client.getInputStream(), client.getOutputStream());
                client.setSoTimeout(0);
                host = r.host();
                port = r.port();
                sink.before(Socks5.replyBytes(Socks5.SUCCEEDED));
            }
            VpsConnection c = awaitConnection();
            if (c == null) {
                if (!closed && status != Status.FAILED) {
                    lastError = "a client was turned away: no SSH login for " + CLIENT_WAIT.toSeconds() + " s";
                }
                socksReply(spec, client, Socks5.GENERAL_FAILURE);
                return;
            }
            Channel channel = open(c, spec, host, port, client, sink);
            if (channel != null) {
                try {
                    copy(client, channel, sink);
                } finally {
                    channel.disconnect();
                }
            }
        } catch (IOException e) {
            // the client went away, or was not a SOCKS5 client
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            connectionsOpen.decrementAndGet();
            quietSince = System.nanoTime();
            watcher.activity(this);
        }
    }

    private Channel open(VpsConnection c, TunnelSpec spec, String host, int port, Socket client, SocketSink sink) throws IOException {
        boolean unix = spec.socketPath() != null;
        String where = unix ? "unix:" + spec.socketPath() : (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
        ChannelDirectTCPIP channel;
        try {
            channel = (ChannelDirectTCPIP) c.openChannel(unix ? "direct-streamlocal@openssh.com" : "direct-tcpip");
        } catch (JSchException e) {
            lastError = "the SSH login dropped while opening a channel to " + where;
            socksReply(spec, client, Socks5.GENERAL_FAILURE);
            return null;
        }
        if (unix) {
            ((ChannelDirectStreamLocal) channel).setSocketPath(spec.socketPath());
        } else {
            channel.setHost(host);
            channel.setPort(port);
        }
        channel.setOrgIPAddress(client.getInetAddress().getHostAddress());
        channel.setOrgPort(client.getPort());
        widenWindow(channel);
        channel.setOutputStream(sink);
        try {
            channel.connect((int) Math.max(1, target.connectTimeout().toMillis()));
            sink.opened();
            return channel;
        } catch (JSchException e) {
            int reason = channel.getExitStatus();
            if (reason == SSH_OPEN_ADMINISTRATIVELY_PROHIBITED) {
                socksReply(spec, client, Socks5.NOT_ALLOWED);
                VpsException refused = forwardingRefused(spec, where);
                if (spec.kind() == TunnelSpec.Kind.D) {
                    lastError = refused.getMessage();   // another destination may be allowed (PermitOpen)
                } else {
                    fail(refused);
                }
            } else {
                lastError = "connect failed: " + where + (reason == SSH_OPEN_CONNECT_FAILED ? "" : " (" + e.getMessage() + ")");
                socksReply(spec, client, reason == SSH_OPEN_CONNECT_FAILED ? Socks5.REFUSED : Socks5.GENERAL_FAILURE);
            }
            return null;
        }
    }

    private static VpsException forwardingRefused(TunnelSpec spec, String where) {
        boolean unix = spec.socketPath() != null;
        return new VpsException(VpsException.Kind.REMOTE, "the server refused to forward " + spec.kind().option + " to " + where
                + " (administratively prohibited)",
                "the server's sshd_config forbids it: " + (unix ? "AllowStreamLocalForwarding yes (or local)"
                        : "AllowTcpForwarding yes (or local), and PermitOpen must allow " + where)
                        + "; reload sshd, then start the tunnel again");
    }

    private static void socksReply(TunnelSpec spec, Socket client, int code) {
        if (spec.kind() == TunnelSpec.Kind.D) {
            try {
                Socks5.reply(client.getOutputStream(), code);
            } catch (IOException ignored) {
                // the client is gone
            }
        }
    }

    /** Client to server here; server to client on JSch's session thread through the sink. Ends when both directions have. */
    private void copy(Socket client, Channel channel, SocketSink sink) throws IOException, InterruptedException {
        InputStream fromClient = client.getInputStream();
        OutputStream toServer = channel.getOutputStream();
        byte[] chunk = new byte[CHUNK];
        int n;
        while ((n = fromClient.read(chunk)) >= 0) {
            toServer.write(chunk, 0, n);
            toServer.flush();
            bytesOut.addAndGet(n);
        }
        toServer.close();   // EOF to the server: its answer may still come
        sink.awaitEnd(channel);
    }

    /** JSch has no setter for a channel's window (its setLocalWindowSize* are package-private): set as OpenSSH's. */
    private static void widenWindow(Channel channel) {
        try {
            for (Map.Entry<String, Integer> field : Map.of("lwsize_max", WINDOW, "lwsize", WINDOW, "lmpsize", PACKET).entrySet()) {
                java.lang.reflect.Field f = Channel.class.getDeclaredField(field.getKey());
                f.setAccessible(true);
                f.setInt(channel, field.getValue());
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            // another JSch: its own window then
        }
    }

    private void pause(long ms) {
        synchronized (lock) {
            if (!closed) {
                try {
                    lock.wait(ms);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    closed = true;
                }
            }
        }
    }

    Status status() {
        return status;
    }

    VpsException error() {
        return error;
    }

    int openConnections() {
        return connectionsOpen.get();
    }

    /** How long no client connection has been open (zero while one is). */
    Duration quiet() {
        return connectionsOpen.get() > 0 ? Duration.ZERO : Duration.ofNanos(System.nanoTime() - quietSince);
    }

    /** The local (or, for -R, remote) port each forward listens on. */
    int port(int index) {
        return ports[index];
    }

    List<Map<String, Object>> forwards() {
        List<Map<String, Object>> all = new ArrayList<>();
        for (int i = 0; i < specs.size(); i++) {
            all.add(specs.get(i).toJson(ports[i]));
        }
        return all;
    }

    /** What `tunnel status` shows. */
    Map<String, Object> snapshot() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", status.name().toLowerCase(java.util.Locale.ROOT));
        m.put("since", since.toString());
        m.put("target", target.display());
        m.put("hostKey", hostKey);
        m.put("forwards", forwards());
        m.put("bytesIn", bytesIn.get());
        m.put("bytesOut", bytesOut.get());
        m.put("connectionsOpen", connectionsOpen.get());
        m.put("connectionsTotal", connectionsTotal.get());
        m.put("reconnects", reconnects.get());
        m.put("quietSeconds", quiet().toSeconds());
        m.put("lastError", lastError);
        m.put("error", error == null ? null : Json.error(error));
        return m;
    }

    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            if (status != Status.FAILED) {
                status = Status.STOPPED;
                since = Instant.now();
            }
            lock.notifyAll();
        }
        shutDown();
    }

    private void shutDown() {
        closeListeners();
        clients.shutdownNow();
        VpsConnection c;
        synchronized (lock) {
            c = connection;
            connection = null;
        }
        if (c != null) {
            c.close();
        }
    }

    private void closeListeners() {
        for (ServerSocket s : listeners) {
            if (s != null) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
        }
    }

    /**
     * The server's bytes on their way to a local client, written by JSch's session thread. Before the
     * channel is open nothing may reach the client (a SOCKS5 client first gets its reply, which goes
     * out before the first byte); the server's EOF half-closes the client's socket, so an answer
     * after the client's own EOF still arrives.
     */
    static final class SocketSink extends OutputStream {
        private final Socket socket;
        private final OutputStream out;
        private final AtomicLong counted;
        private byte[] before;
        private boolean opened;
        private boolean ended;

        SocketSink(Socket socket, AtomicLong counted) throws IOException {
            this.socket = socket;
            this.out = socket.getOutputStream();
            this.counted = counted;
        }

        /** Bytes that go to the client once the channel opened, ahead of the server's. */
        synchronized void before(byte[] bytes) {
            before = bytes;
        }

        synchronized void opened() throws IOException {
            opened = true;
            sendBefore();
            if (ended) {
                socket.shutdownOutput();
            }
        }

        private void sendBefore() throws IOException {
            if (before != null) {
                out.write(before);
                out.flush();
                before = null;
            }
        }

        @Override
        public synchronized void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) throws IOException {
            sendBefore();
            out.write(b, off, len);
            counted.addAndGet(len);
        }

        @Override
        public synchronized void flush() throws IOException {
            out.flush();
        }

        /** The server's EOF (or the channel's end): a half close once open; before that, the caller closes the socket. */
        @Override
        public synchronized void close() throws IOException {
            if (ended) {
                return;
            }
            ended = true;
            notifyAll();
            if (opened && !socket.isClosed()) {
                socket.shutdownOutput();
            }
        }

        /** Waits until the server's side ended (its EOF, the channel's close, or the login's end). */
        synchronized void awaitEnd(Channel channel) throws InterruptedException {
            while (!ended && !channel.isClosed() && channel.isConnected()) {
                wait(1000);
            }
        }
    }
}
