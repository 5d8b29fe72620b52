import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The engine mode of {@link Runs}: a call of a script the engine serves runs as a user's shell runs
 * it, `bin/vps SCRIPT ARGS...` as a process, handed to one warm engine per suite run. The call gets
 * the test's environment ({@link Environment#all()}), working folder and stdin; the test asserts on
 * the same Result. Every test keeps its private VPS_TOOLKIT_HOME: VPS_ENGINE_HOME points bin/vps at
 * the suite's engine. A call that did not go through the engine (bin/vps ran it cold) fails the test.
 */
final class EngineRuns {
    /** The scripts the engine runs (scripts/engine.java); others (sandbox) stay in-process. */
    static final Set<String> SERVED = Set.of("exec-command", "sftp-put", "sftp-get", "job", "session", "diagnose-auth", "connection", "tunnel");
    private static final String PERSIST = "2m";   // an engine the suite forgets to stop ends soon anyway
    private static final long START_LIMIT_MS = 180_000;   // the first start may compile the engine
    private static final long CALL_LIMIT_MIN = 10;
    private static final String COLD_MARK = "Picked up JAVA_TOOL_OPTIONS";

    private static volatile boolean on = "engine".equals(System.getenv("VPS_TEST_VIA"));
    private static Path engineHome;
    private static long enginePid = -1;

    private EngineRuns() {}

    static boolean on() {
        return on;
    }

    static void use(boolean engine) {
        on = engine;
    }

    static boolean serves(String script) {
        return on && SERVED.contains(script);
    }

    static Runs.Result run(String script, List<String> args, byte[] stdin) {
        Path log = ensureEngine();
        try {
            Path dir = Files.createTempDirectory("vps-engine-call");
            Path in = Files.write(dir.resolve("stdin"), stdin);
            List<String> command = new ArrayList<>(List.of(root().resolve("bin/vps").toString(), script));
            command.addAll(args);
            ProcessBuilder pb = new ProcessBuilder(command).directory(Environment.workingFolder().toFile())
                    .redirectInput(in.toFile()).redirectOutput(dir.resolve("stdout").toFile()).redirectError(dir.resolve("stderr").toFile());
            pb.environment().clear();
            pb.environment().putAll(callEnvironment());
            long logBefore = Files.size(log);
            long start = System.nanoTime();
            Process p = pb.start();
            if (!Processes.waitOrKill(p, Duration.ofMinutes(CALL_LIMIT_MIN))) {
                throw new AssertionError("bin/vps " + script + " did not end within " + CALL_LIMIT_MIN + " min");
            }
            long millis = (System.nanoTime() - start) / 1_000_000;
            Runs.Result r = new Runs.Result(p.exitValue(), Files.readAllBytes(dir.resolve("stdout")),
                    Files.readString(dir.resolve("stderr"), StandardCharsets.UTF_8), millis);
            if (!tookCall(log, logBefore, p.pid())) {
                throw new AssertionError("bin/vps " + script + " ran cold, not through the engine (no line 'call " + p.pid()
                        + "-...' in " + log + ")\n" + r);
            }
            if (r.stderr().contains(COLD_MARK)) {
                throw new AssertionError("bin/vps " + script + " ran the call in the engine and then again cold\n" + r);
            }
            deleteAll(dir);
            return r;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /**
     * The test's variables; HOME (for ssh) is the tests' private home unless the test set one. A JVM
     * that bin/vps would start for a cold run says "Picked up JAVA_TOOL_OPTIONS" on stderr (the engine
     * gets only VPS_* variables), and finds the tests' home, not the real ~/.ssh.
     */
    private static Map<String, String> callEnvironment() {
        Map<String, String> env = new HashMap<>(Environment.all());
        env.putIfAbsent("PATH", System.getenv("PATH"));
        env.putIfAbsent("HOME", System.getProperty("user.home"));
        env.put("JAVA_TOOL_OPTIONS", "-Duser.home=" + System.getProperty("user.home"));
        env.put("VPS_ENGINE_HOME", engineHome.toString());
        env.remove("VPS_ENGINE");
        return env;
    }

    /** The engine logs one line per call it ran, naming the call's id, which starts with bin/vps's pid. */
    private static boolean tookCall(Path log, long from, long pid) throws IOException {
        byte[] all = Files.readAllBytes(log);
        String added = new String(all, (int) Math.min(from, all.length), (int) Math.max(0, all.length - from), StandardCharsets.UTF_8);
        return added.lines().anyMatch(l -> l.startsWith("call " + pid + "-"));
    }

    /** The suite's engine, started on first use and again when it ended (idle); returns its log. */
    private static synchronized Path ensureEngine() {
        try {
            if (engineHome == null) {
                engineHome = Files.createTempDirectory("vps-engine-home", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            Path log = engineHome.resolve("engine.log");
            if (!Files.exists(log)) {
                Files.createFile(log);
            }
            if (alive(enginePid) && Files.exists(engineHome.resolve("engine/port"))) {
                return log;
            }
            Map<String, String> env = new HashMap<>(System.getenv());
            env.keySet().removeIf(k -> k.startsWith("VPS_") || k.equals("SSH_AUTH_SOCK"));
            env.put("VPS_TOOLKIT_HOME", engineHome.toString());
            env.put("VPS_ENGINE", "0");
            // The engine must not find the real ~/.ssh of whoever runs the tests, as in-process runs do not.
            env.put("JAVA_TOOL_OPTIONS", "-Duser.home=" + System.getProperty("user.home"));
            ProcessBuilder pb = new ProcessBuilder(root().resolve("jbang").toString(), "engine", "--sources", root().toString(), "--persist", PERSIST)
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).redirectErrorStream(true);
            pb.environment().clear();
            pb.environment().putAll(env);
            Files.deleteIfExists(engineHome.resolve("engine/port"));
            Process launcher = pb.start();
            enginePid = awaitPort(launcher, log);
            return log;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long awaitPort(Process launcher, Path log) throws IOException {
        Path port = engineHome.resolve("engine/port");
        long deadline = System.currentTimeMillis() + START_LIMIT_MS;
        while (System.currentTimeMillis() < deadline) {
            if (Files.exists(port)) {
                String[] words = Files.readString(port).trim().split(" ");
                if (words.length == 2 && alive(Long.parseLong(words[1]))) {
                    return Long.parseLong(words[1]);
                }
            }
            if (!launcher.isAlive()) {
                throw new AssertionError("the test engine ended before it listened:\n" + Files.readString(log));
            }
            sleep(100);
        }
        launcher.destroy();
        throw new AssertionError("the test engine did not listen within " + START_LIMIT_MS / 1000 + " s:\n" + Files.readString(log));
    }

    /** Ends the suite's engine (the one this class started), waiting for it to exit. */
    static synchronized void stop() {
        ProcessHandle.of(enginePid).ifPresent(engine -> Processes.stop(engine, Duration.ofSeconds(15)));
        enginePid = -1;
    }

    /** The folder of the suite's engine (port, client_key, known_hosts), started if need be. */
    static Path engineFolder() {
        ensureEngine();
        return engineHome.resolve("engine");
    }

    static synchronized Path log() {
        return engineHome == null ? null : engineHome.resolve("engine.log");
    }

    private static void deleteAll(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        Files.delete(dir);
    }

    private static boolean alive(long pid) {
        return pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    private static Path root() {
        String root = System.getenv("VPS_REPO_ROOT");
        return Path.of(root != null ? root : "").toAbsolutePath();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
