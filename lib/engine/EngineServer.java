import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.sshd.common.channel.Channel;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.session.SessionListener;
import org.apache.sshd.core.CoreModuleProperties;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.channel.ChannelSessionFactory;
import org.apache.sshd.server.config.keys.AuthorizedKeysAuthenticator;
import org.apache.sshd.server.forward.RejectAllForwardingFilter;
import org.apache.sshd.server.keyprovider.SimpleGeneratorHostKeyProvider;

/**
 * The engine (DESIGN §11): one per-user background JVM that runs whole CLI calls in-process on warm
 * SSH sessions. Thin clients reach it through OpenSSH's ssh, multiplexed over one ControlMaster
 * connection, to an embedded SSH server here: 127.0.0.1 only (the whole peer address is checked),
 * the local user's name, and only the client key this engine generated into its private folder.
 * A call is one exec request: the request names the script, the caller's argv, working folder and
 * terminals arrive as environment requests (never in a process list), and the call's streams and
 * exit status are the channel's. See {@link EngineCall}.
 */
final class EngineServer implements AutoCloseable {
    /** What the engine runs: a script's picocli command object for NAME, or null for an unknown name. */
    interface Commands {
        Object make(String name, PrintStream out, PrintStream err, InputStream in);
    }

    /** The login name clients use; the key is what proves the caller is this user. */
    static final String USER = "vps";
    /** The log (one line a call, and what went wrong) starts over when a new engine finds it larger. */
    static final long LOG_LIMIT = 1 << 20;
    private static volatile EngineServer running;

    final EngineFiles files;
    final Commands commands;
    private final Path sources;
    private final String fingerprint;
    private final Duration persist;
    private final SessionPool pool;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final Map<String, EngineCall> calls = new ConcurrentHashMap<>();
    private final ScheduledExecutorService clock = Executors.newSingleThreadScheduledExecutor(Daemons.named("vps-engine-clock"));
    private final Object done = new Object();
    private SshServer server;
    private volatile long lastActivity = System.nanoTime();
    private volatile boolean retired;
    private volatile boolean stopping;
    private long ticks;

    private EngineServer(EngineFiles files, Commands commands, Path sources, Duration persist, FileChannel lockChannel, FileLock lock) {
        this.files = files;
        this.commands = commands;
        this.sources = sources;
        this.fingerprint = EngineFiles.fingerprint(sources);
        this.persist = persist;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.pool = new SessionPool(System.err);
    }

    /** The engine this JVM runs, or null (a cold call, mcp-server). */
    static EngineServer running() {
        return running;
    }

    /**
     * Starts the engine for SOURCES (the toolkit's root folder, whose files decide when it retires)
     * unless one already holds the lock; returns null then. Ends after PERSIST without calls.
     */
    static EngineServer start(Path sources, Duration persist, Commands commands) throws IOException {
        EngineFiles files = EngineFiles.here();
        FileChannel channel = FileChannel.open(files.lock(), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = channel.tryLock();
        if (lock == null) {
            channel.close();
            return null;
        }
        EngineServer engine = new EngineServer(files, commands, sources, persist, channel, lock);
        engine.listen();
        return engine;
    }

    private void listen() throws IOException {
        files.clearCalls();
        files.trimLog(LOG_LIMIT);
        // A fresh client key per engine: a key copied out of the folder stops working with the engine that made it.
        KeyFiles.generate(files.dir().resolve("client_key"), "vps-toolkit-engine");
        SimpleGeneratorHostKeyProvider hostKeys = new SimpleGeneratorHostKeyProvider(files.dir().resolve("host_key"));
        hostKeys.setAlgorithm(KeyUtils.EC_ALGORITHM);
        hostKeys.setKeySize(256);
        AuthorizedKeysAuthenticator authorized = new AuthorizedKeysAuthenticator(files.dir().resolve("client_key.pub"));

        server = SshServer.setUpDefaultServer();
        server.setHost("127.0.0.1");
        server.setPort(0);
        server.setKeyPairProvider(hostKeys);
        server.setPublickeyAuthenticator((name, key, session) -> USER.equals(name) && fromLoopback(session.getClientAddress())
                && authorized.authenticate(name, key, session));
        server.setPasswordAuthenticator(null);
        server.setKeyboardInteractiveAuthenticator(null);
        server.setGSSAuthenticator(null);
        server.setHostBasedAuthenticator(null);
        server.setForwardingFilter(RejectAllForwardingFilter.INSTANCE);
        server.setShellFactory(null);
        server.setSubsystemFactories(List.of());
        server.setCommandFactory((channel, command) -> new EngineCall(this, command));
        server.setChannelFactories(List.of(StatusFirstSessionFactory.INSTANCE));
        // A call may print nothing for hours (a long build): the link to a local client is never idle-closed.
        CoreModuleProperties.IDLE_TIMEOUT.set(server, Duration.ZERO);
        CoreModuleProperties.NIO2_READ_TIMEOUT.set(server, Duration.ZERO);
        // Small request-answer exchanges: without it each waits out a delayed ACK (40 ms a call).
        CoreModuleProperties.TCP_NODELAY.set(server, true);
        server.addSessionListener(new SessionListener() {
            @Override
            public void sessionCreated(Session session) {
                if (!fromLoopback(session.getIoSession().getRemoteAddress())) {
                    session.close(true);
                }
            }
        });
        server.start();

        String hostKey = PublicKeyEntry.toString(hostKeys.loadKeys(null).iterator().next().getPublic());
        LocalFolders.writePrivate(files.knownHosts(), EngineFiles.HOST_ALIAS + " " + hostKey + "\n");
        LocalFolders.writePrivate(files.port(), server.getPort() + " " + ProcessHandle.current().pid() + "\n");
        files.startedBy().toFile().delete();
        running = this;
        SessionPool.useInProcess(pool);
        clock.scheduleWithFixedDelay(this::tick, 1, 1, TimeUnit.SECONDS);
        Runtime.getRuntime().addShutdownHook(new Thread(this::close, "vps-engine-stop"));
    }

    /** Only 127.0.0.1 itself: not the rest of 127/8, not ::1 mapped, nothing else. */
    static boolean fromLoopback(SocketAddress address) {
        return address instanceof InetSocketAddress a && a.getAddress() != null
                && a.getAddress().getHostAddress().equals("127.0.0.1");
    }

    /** Blocks until the engine ends (idle, retired, stopped). */
    void awaitEnd() throws InterruptedException {
        synchronized (done) {
            while (!stopping || !calls.isEmpty()) {
                done.wait(1000);
            }
        }
    }

    /**
     * Whether a call may run here: false once the engine's sources changed (an engine from older
     * sources is retired, not used) or the client runs another copy of the toolkit.
     */
    boolean accepts(String callerSources) {
        if (retired || stopping) {
            return false;
        }
        boolean same = callerSources == null || sources.equals(Path.of(callerSources).toAbsolutePath().normalize());
        if (!same || !fingerprint.equals(EngineFiles.fingerprint(sources))) {
            retire();
            return false;
        }
        return true;
    }

    /** Stops taking calls and gives the folder to a new engine; ends when the running calls have. */
    synchronized void retire() {
        if (retired) {
            return;
        }
        retired = true;
        files.forgetPort(server.getPort());
        try {
            lock.release();
            lockChannel.close();
        } catch (IOException ignored) {
            // the lock goes with the process anyway
        }
        stopWhenIdle();
    }

    /** Ends the engine once no call runs (connection stop --all). */
    void stopWhenIdle() {
        stopping = true;
        synchronized (done) {
            done.notifyAll();
        }
    }

    void begin(EngineCall call) {
        calls.put(call.id, call);
        lastActivity = System.nanoTime();
    }

    void end(EngineCall call) {
        calls.remove(call.id, call);
        lastActivity = System.nanoTime();
        synchronized (done) {
            done.notifyAll();
        }
    }

    EngineCall call(String id) {
        return calls.get(id);
    }

    SessionPool pool() {
        return pool;
    }

    Map<String, Object> describe() {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("pid", ProcessHandle.current().pid());
        m.put("port", server.getPort());
        m.put("calls", calls.size());
        m.put("persistSeconds", persist.toSeconds());
        m.put("idleSeconds", Duration.ofNanos(System.nanoTime() - lastActivity).toSeconds());
        m.put("sources", sources.toString());
        return m;
    }

    private void tick() {
        try {
            calls.values().forEach(EngineCall::checkClient);
            if (++ticks % 60 == 0) {
                files.forgetEndedCalls(Duration.ofMinutes(10));
            }
            if (calls.isEmpty() && System.nanoTime() - lastActivity > persist.toNanos()) {
                stopWhenIdle();
            }
        } catch (RuntimeException e) {
            System.err.println("vps-engine: " + e);   // a failed tick must not end the schedule
        }
    }

    @Override
    public void close() {
        stopping = true;
        running = null;
        clock.shutdownNow();
        files.forgetPort(server == null ? -1 : server.getPort());
        calls.values().forEach(c -> c.interrupt("the engine stops"));
        pool.close();
        try {
            if (server != null) {
                server.stop(true);
            }
        } catch (IOException ignored) {
            // exiting anyway
        }
    }

    /**
     * Session channels that send a call's exit-status before its EOF. MINA sends EOF first; ssh's
     * ControlMaster answers an EOF on a channel whose stdin is closed (ssh -n) with CLOSE at once, and
     * once that CLOSE is in, MINA drops the exit-status: the client ended 255 and bin/vps ran the
     * call a second time, cold.
     */
    static final class StatusFirstSessionFactory extends ChannelSessionFactory {
        static final StatusFirstSessionFactory INSTANCE = new StatusFirstSessionFactory();

        @Override
        public Channel createChannel(Session session) {
            return new ChannelSession() {
                @Override
                protected void closeShell(int exitValue, boolean immediately) throws IOException {
                    if (!isClosing()) {
                        sendExitStatus(exitValue);   // sent once: MINA's own call in closeShell is then a no-op
                    }
                    super.closeShell(exitValue, immediately);
                }
            };
        }
    }
}
