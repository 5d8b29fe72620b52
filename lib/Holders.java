import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.Session;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The client side of connection reuse: finds the holder for a target, starts one when there is
 * none (or only a dead one), and logs in to it over its Unix socket. Starting is serialized by a
 * file lock, so racing calls start one holder.
 */
final class Holders {
    static final Duration DEFAULT_PERSIST = Duration.ofMinutes(10);
    /** A holder that does not finish the local handshake in this time is hung: it is replaced. */
    static final int ATTACH_TIMEOUT_MS = 5000;
    /** Why this thread's last attach failed, for the error when a holder that was just started does not answer. */
    private static final ThreadLocal<String> LAST_ATTACH_FAILURE = ThreadLocal.withInitial(() -> "no socket");
    /** Unix socket paths are limited to about 100 bytes (sun_path). */
    private static final int MAX_SOCKET_PATH = 100;

    private static final Map<String, Object> STARTING = new java.util.concurrent.ConcurrentHashMap<>();

    private Holders() {}

    static Path dir() {
        return LocalFolders.privateDir(LocalFolders.root().resolve("holders"));
    }

    /** One holder per way of connecting: the same host reached as another user, key or jump is another holder. */
    static HolderFiles files(Target t) {
        StringBuilder key = new StringBuilder(t.user() + "@" + t.host() + ":" + t.port());
        for (Target j : t.jumps()) {
            key.append(" via ").append(j.user()).append('@').append(j.host()).append(':').append(j.port());
        }
        key.append(" keys ").append(t.identities()).append(" agent ").append(t.useAgent()).append(' ').append(t.agentSocket())
                .append(" password ").append(t.passwordAuth()).append(" hostkeys ").append(t.hostKeys()).append(" algorithms ")
                .append(new java.util.TreeMap<>(t.algorithms()));
        java.security.MessageDigest d = Sha256.digest();
        d.update(key.toString().getBytes(StandardCharsets.UTF_8));
        String id = Sha256.hex(d).substring(0, 16);
        HolderFiles f = new HolderFiles(dir(), id);
        if (f.socket().toString().length() > MAX_SOCKET_PATH) {
            throw VpsException.config("the holder socket path " + f.socket() + " is too long for a Unix socket",
                    "set VPS_TOOLKIT_HOME to a shorter folder, or run without --reuse");
        }
        return f;
    }

    /** A session through the target's holder, starting (or replacing) the holder when needed. */
    static VpsConnection connect(Target t, Duration persist, PrintStream verboseLog) {
        HolderFiles f = files(t);
        VpsConnection c = attach(t, f, verboseLog);
        if (c != null) {
            return c;
        }
        // The file lock serializes processes; it cannot be taken twice in one JVM, so threads queue on the monitor first.
        synchronized (STARTING.computeIfAbsent(f.id(), k -> new Object())) {
            try (FileChannel lockFile = FileChannel.open(f.lock(), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock ignored = lockFile.lock()) {
                c = attachWhileAlive(t, f, verboseLog);
                if (c != null) {
                    return c;
                }
                retire(f);
                start(t, persist, f);
            } catch (IOException e) {
                throw new VpsException(VpsException.Kind.CONFIG, "cannot start a connection holder in " + f.dir() + ": " + VpsException.reason(e),
                        "check that folder's permissions, or run without --reuse", false, e);
            }
        }
        // Many clients may arrive at a holder that has just started: it may be busy, not hung.
        c = attachWhileAlive(t, f, verboseLog);
        if (c == null) {
            throw new VpsException(VpsException.Kind.NETWORK, "the connection holder for " + t.display() + " started but does not answer ("
                    + LAST_ATTACH_FAILURE.get() + ")", "see its log " + f.log() + "; run without --reuse meanwhile", true, null);
        }
        return c;
    }

    /** Logs in to a running holder; null when there is none or it does not answer (stale socket, dead or hung process). */
    private static VpsConnection attach(Target t, HolderFiles f, PrintStream verboseLog) {
        if (!Files.exists(f.socket()) || !Files.exists(f.clientKey()) || !Files.exists(f.knownHosts())) {
            return null;
        }
        Session session = null;
        try {
            JSch jsch = new JSch();
            jsch.addIdentity(f.clientKey().toString());
            jsch.setKnownHosts(f.knownHosts().toString());
            session = jsch.getSession(t.user(), f.hostKeyAlias(), 22);
            session.setHostKeyAlias(f.hostKeyAlias());
            session.setConfig("StrictHostKeyChecking", "yes");
            session.setConfig("PreferredAuthentications", "publickey");
            // The local leg needs no post-quantum key exchange: ML-KEM would load (and verify the
            // signed jar of) BouncyCastle on every call, the largest part of a warm call's cost.
            session.setConfig("kex", "curve25519-sha256");
            session.setConfig("server_host_key", "ecdsa-sha2-nistp256");
            session.setConfig("cipher.c2s", "aes128-gcm@openssh.com,aes128-ctr");
            session.setConfig("cipher.s2c", "aes128-gcm@openssh.com,aes128-ctr");
            session.setProxy(new UnixSocketProxy(f.socket()));
            Session s = session;
            CompletableFuture<Void> watchdog = CompletableFuture.runAsync(s::disconnect,
                    CompletableFuture.delayedExecutor(ATTACH_TIMEOUT_MS, TimeUnit.MILLISECONDS));
            try {
                session.connect(ATTACH_TIMEOUT_MS);
            } finally {
                watchdog.cancel(false);
            }
            if (verboseLog != null) {
                verboseLog.println("debug: reusing the connection held by " + f.socket());
            }
            return VpsConnection.throughHolder(t, session, f);
        } catch (JSchException e) {
            LAST_ATTACH_FAILURE.set(e.getMessage());
            if (session != null) {
                session.disconnect();
            }
            if (verboseLog != null) {
                verboseLog.println("debug: holder " + f.socket() + " does not answer (" + e.getMessage() + "); starting a new one");
            }
            return null;
        }
    }

    /**
     * A holder that is alive but did not answer may just be busy (many clients at once): it gets a
     * few more tries before it counts as hung and is replaced.
     */
    private static VpsConnection attachWhileAlive(Target t, HolderFiles f, PrintStream verboseLog) {
        for (int i = 0; i < 3; i++) {
            VpsConnection c = attach(t, f, verboseLog);
            if (c != null || !alive(f)) {
                return c;
            }
            try {
                Thread.sleep(200L << i);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
        return null;
    }

    /** A holder that left its files behind, or hangs: end it and remove them. */
    private static void retire(HolderFiles f) {
        HolderFiles.State s = f.readState();
        if (s != null && s.pid() != ProcessHandle.current().pid()) {
            ProcessHandle.of(s.pid()).filter(h -> isHolder(h, f)).ifPresent(h -> {
                h.destroyForcibly();
                h.onExit().orTimeout(5, TimeUnit.SECONDS).exceptionally(x -> h).join();
            });
        }
        f.delete();
    }

    /** The pid may have been reused by another program since: only a process whose arguments name this holder is ended. */
    /**
     * Whether process H is this holder (a pid may have been reused). On Linux /proc/PID/cmdline is
     * read here: the JDK gives no arguments at all when the command line is longer than a page,
     * as it is with a long class path.
     */
    private static boolean isHolder(ProcessHandle h, HolderFiles f) {
        String mark = HOLDER_MARK + f.id();
        Path cmdline = Path.of("/proc", Long.toString(h.pid()), "cmdline");
        if (Files.exists(cmdline)) {
            try {
                return new String(Files.readAllBytes(cmdline), java.nio.charset.StandardCharsets.ISO_8859_1).contains(mark + "\0");
            } catch (IOException e) {
                return false;
            }
        }
        return h.info().arguments().map(a -> List.of(a).contains(mark)).orElse(false);
    }

    private static final String HOLDER_MARK = "-Dvps.holder=";

    /** Spawns the holder in its own session (no terminal, none of our streams) and waits for it to log in. */
    private static void start(Target t, Duration persist, HolderFiles f) throws IOException {
        List<String> cmd = new ArrayList<>();
        if (new File("/usr/bin/setsid").canExecute()) {
            cmd.add("/usr/bin/setsid");
        }
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(HOLDER_MARK + f.id(), "-XX:+UseSerialGC", "-Xmx256m", "-Xss512k", "-cp", System.getProperty("java.class.path"),
                "ConnectionHolder", f.dir().toAbsolutePath().toString(), f.id()));
        Process p = new ProcessBuilder(cmd)
                .directory(f.dir().toFile())
                .redirectOutput(ProcessBuilder.Redirect.PIPE)
                .redirectInput(ProcessBuilder.Redirect.PIPE)
                .redirectError(ProcessBuilder.Redirect.appendTo(f.log().toFile()))
                .start();
        try (OutputStream in = p.getOutputStream()) {
            in.write((persist.toMillis() + "\n" + TargetJson.write(t) + "\n").getBytes(StandardCharsets.UTF_8));
        }
        long waitMs = 20_000 + 3 * t.connectTimeout().toMillis();
        CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                return r.readLine();
            } catch (IOException e) {
                return null;
            }
        });
        String answer;
        try {
            answer = line.get(waitMs, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            answer = null;
        }
        if ("ready".equals(answer)) {
            return;
        }
        p.destroyForcibly();
        if (answer != null && answer.startsWith("{")) {
            throw VpsException.fromJson(Json.read(answer, Map.class));
        }
        throw new VpsException(VpsException.Kind.NETWORK, "the connection holder for " + t.display() + " did not start within "
                + Durations.format(Duration.ofMillis(waitMs)), "see its log " + f.log() + "; run without --reuse meanwhile", true, null);
    }

    /** Every holder with a state file, running or not. */
    static List<HolderFiles> all() {
        Path dir = dir();
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".json") && !n.contains(".tmp"))
                    .map(n -> new HolderFiles(dir, n.substring(0, n.length() - 5))).sorted(java.util.Comparator.comparing(HolderFiles::id)).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    static boolean alive(HolderFiles f) {
        HolderFiles.State s = f.readState();
        return s != null && ProcessHandle.of(s.pid()).filter(h -> h.isAlive() && isHolder(h, f)).isPresent() && Files.exists(f.socket());
    }

    /** Ends the holder (it removes its files); true when one was running. */
    static boolean stop(HolderFiles f) {
        HolderFiles.State s = f.readState();
        boolean running = alive(f);
        if (s != null) {
            ProcessHandle.of(s.pid()).filter(h -> isHolder(h, f)).ifPresent(h -> {
                h.destroy();
                h.onExit().orTimeout(10, TimeUnit.SECONDS).exceptionally(x -> {
                    h.destroyForcibly();
                    return h;
                }).join();
            });
        }
        f.delete();
        return running;
    }
}
