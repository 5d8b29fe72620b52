import com.jcraft.jsch.JSch;
import com.jcraft.jsch.KeyPair;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.sshd.common.channel.ChannelFactory;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.session.SessionListener;
import org.apache.sshd.core.CoreModuleProperties;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.config.keys.AuthorizedKeysAuthenticator;

/**
 * The connection holder: a background process that keeps one authenticated SSH session to a
 * target and serves it to the toolkit's scripts as a local SSH server (Apache MINA SSHD) reached
 * through a Unix domain socket in a private (0700) folder. Each exec or sftp request of a client
 * becomes the same request on the upstream session, so every script works through it unchanged.
 * It logs in with a key pair it makes for itself, so only the local user who can read that folder
 * can use it. It exits after --persist of idleness (no client connected), when told to stop, or
 * when a newer holder took its place.
 *
 * <p>Started by {@link Holders}: args DIR ID; stdin: the idle limit in ms on one line, then the
 * resolved target as JSON; stdout: one line, "ready" or the login failure as JSON.
 */
final class ConnectionHolder {
    private final HolderFiles files;
    private final Duration persist;
    private final PrintStream log;
    private final long started = System.currentTimeMillis();
    private final AtomicInteger clients = new AtomicInteger();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile long lastActivity = System.currentTimeMillis();
    private volatile boolean draining;
    private final HolderBridge bridge;
    private int sshPort;
    private HolderUpstream upstream;
    private Target target;

    private ConnectionHolder(HolderFiles files, Duration persist, PrintStream log) {
        this.files = files;
        this.persist = persist;
        this.log = log;
        this.bridge = new HolderBridge(log);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2 || !Path.of(args[0]).isAbsolute()) {
            System.err.println("usage: ConnectionHolder ABSOLUTE_DIR ID (started by the scripts' --reuse, not by hand)");
            System.exit(2);
        }
        String[] input = new String(System.in.readAllBytes(), StandardCharsets.UTF_8).split("\n", 2);
        System.in.close();
        ConnectionHolder holder = new ConnectionHolder(new HolderFiles(Path.of(args[0]), args[1]),
                Duration.ofMillis(Long.parseLong(input[0].trim())), System.err);
        holder.run(TargetJson.read(input[1]));
    }

    private void run(Target t) throws Exception {
        target = t;
        VpsConnection first;
        try {
            first = Reconnect.withBackoff(() -> VpsConnection.open(t, null), Reconnect.CONNECT);
        } catch (VpsException e) {
            System.out.println(Json.write(Json.error(e)));
            System.out.flush();
            System.exit(1);
            return;
        }
        upstream = new HolderUpstream(t, first, log, u -> writeState());
        ensureClientKey();
        java.security.KeyPair hostKey = hostKey();
        SshServer server = server(hostKey);
        server.start();
        LocalFolders.writePrivate(files.knownHosts(), files.hostKeyAlias() + " " + PublicKeyEntry.toString(hostKey.getPublic()) + "\n");
        sshPort = server.getPort();
        bridge.open(files.socket(), sshPort);
        writeState();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> shutdown(server)));
        HolderRelay.daemon(this::watch, "holder-idle");
        log.println(java.time.Instant.now() + " holding " + t.display() + " on " + files.socket() + " (idle limit " + Durations.format(persist) + ")");
        System.out.println("ready");
        System.out.close();
        stopped.await();
        System.exit(0);
    }

    private SshServer server(java.security.KeyPair hostKey) throws IOException {
        SshServer server = SshServer.setUpDefaultServer();
        server.setHost("127.0.0.1");
        server.setPort(0);
        server.setKeyPairProvider(KeyPairProvider.wrap(hostKey));
        AuthorizedKeysAuthenticator authorized = new AuthorizedKeysAuthenticator(files.clientKeyPub());
        server.setPublickeyAuthenticator(authorized);
        server.setPasswordAuthenticator(null);
        server.setKeyboardInteractiveAuthenticator(null);
        ExecutorService opener = Executors.newCachedThreadPool(r -> {
            Thread th = new Thread(r, "holder-open");
            th.setDaemon(true);
            return th;
        });
        server.setChannelFactories(List.of(new ChannelFactory() {
            @Override
            public String getName() {
                return "session";
            }

            @Override
            public org.apache.sshd.common.channel.Channel createChannel(Session session) {
                return new HolderChannel(upstream, files.dir(), opener);
            }
        }));
        // A command may print nothing for hours, and a client may stop reading for as long.
        CoreModuleProperties.IDLE_TIMEOUT.set(server, Duration.ZERO);
        CoreModuleProperties.WAIT_FOR_SPACE_TIMEOUT.set(server, Duration.ofDays(365));
        server.addSessionListener(bridge);
        server.addSessionListener(new SessionListener() {
            @Override
            public void sessionCreated(Session session) {
                clients.incrementAndGet();
                lastActivity = System.currentTimeMillis();
            }

            @Override
            public void sessionClosed(Session session) {
                clients.decrementAndGet();
                lastActivity = System.currentTimeMillis();
            }
        });
        return server;
    }

    /** Ends the holder when idle past the limit, or when a newer holder has taken this target over. */
    private void watch() {
        while (true) {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                return;
            }
            boolean idle = clients.get() == 0 && System.currentTimeMillis() - lastActivity > persist.toMillis();
            if (idle || !isCurrent()) {
                log.println(java.time.Instant.now() + (idle ? " idle for " + Durations.format(persist) + ": exiting" : " replaced: exiting"));
                drain();
                stopped.countDown();
                return;
            }
            writeState();
        }
    }

    /**
     * Stops taking clients, then lets those that connected in the meantime finish. The files go
     * first, so that a new caller starts a new holder instead of taking this one for a hung one.
     */
    private void drain() {
        draining = true;
        if (isCurrent()) {
            files.delete();
        }
        try {
            bridge.close();
            while (clients.get() > 0) {
                Thread.sleep(200);
            }
        } catch (IOException | InterruptedException ignored) {
            // exiting anyway
        }
    }

    private boolean isCurrent() {
        HolderFiles.State s = files.readState();
        return s == null || s.pid() == ProcessHandle.current().pid();
    }

    private synchronized void writeState() {
        if (draining || !isCurrent()) {
            return;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", files.id());
        m.put("pid", ProcessHandle.current().pid());
        m.put("target", target.display());
        m.put("socket", files.socket().toString());
        m.put("sshPort", sshPort);
        m.put("started", started);
        m.put("persistSeconds", persist.toSeconds());
        m.put("upstream", upstream.connected() ? "connected" : "down");
        m.put("reconnects", upstream.reconnects);
        m.put("clients", clients.get());
        m.put("channels", upstream.inUse());
        m.put("sessionLimit", upstream.sessionLimit());
        m.put("refusals", upstream.refusals);
        m.put("lastActivity", lastActivity);
        m.put("lastError", upstream.lastError == null ? null : Json.error(upstream.lastError));
        m.put("transfers", true);   // runs sftp-put/sftp-get itself (HolderTransfer); older holders only relay
        try {
            LocalFolders.writePrivate(files.stateFile(), Json.write(m));
        } catch (IOException e) {
            log.println("cannot write " + files.stateFile() + ": " + e);
        }
    }

    private void shutdown(SshServer server) {
        boolean current = isCurrent();
        try {
            bridge.close();
            server.stop(true);
        } catch (IOException ignored) {
            // exiting anyway
        }
        upstream.close();
        if (current && !draining) {
            files.delete();
        }
    }

    private void ensureClientKey() throws Exception {
        KeyPair pair = KeyPair.genKeyPair(new JSch(), KeyPair.ECDSA, 256);
        ByteArrayOutputStream priv = new ByteArrayOutputStream();
        pair.writePrivateKey(priv);
        ByteArrayOutputStream pub = new ByteArrayOutputStream();
        pair.writePublicKey(pub, "vps-toolkit-holder");
        LocalFolders.writePrivate(files.clientKey(), priv.toString(StandardCharsets.UTF_8));
        LocalFolders.writePrivate(files.clientKeyPub(), pub.toString(StandardCharsets.UTF_8));
    }

    private static java.security.KeyPair hostKey() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(256);
        return generator.generateKeyPair();
    }
}
