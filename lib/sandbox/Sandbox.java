import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The embedded sandbox target: finds, starts and stops the {@link SandboxServer} process whose
 * state (keys, known_hosts, server.json, home) lives in a private folder
 * (VPS_SANDBOX_DIR, default ~/.vps-toolkit/sandbox).
 */
final class Sandbox {
    static final Duration START_TIMEOUT = Duration.ofSeconds(30);

    final Path dir;

    Sandbox(Path dir) {
        this.dir = dir;
    }

    static Sandbox fromEnvironment() {
        String override = Environment.get("VPS_SANDBOX_DIR");
        return new Sandbox(override != null ? Environment.resolve(override) : LocalFolders.root().resolve("sandbox"));
    }

    record Status(boolean running, long pid, int port, String user) {}

    Status status() {
        Path info = dir.resolve("server.json");
        if (!Files.isRegularFile(info)) {
            return new Status(false, 0, 0, null);
        }
        try {
            Map<?, ?> m = Json.read(Files.readString(info), Map.class);
            long pid = ((Number) m.get("pid")).longValue();
            int port = ((Number) m.get("port")).intValue();
            boolean alive = ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) && listening(port);
            return new Status(alive, pid, port, (String) m.get("user"));
        } catch (IOException | RuntimeException e) {
            return new Status(false, 0, 0, null);
        }
    }

    /** Starts the server unless it already runs; serialized by a lock so racing callers start one. */
    Sandbox ensureRunning() {
        LocalFolders.privateDir(dir);
        try (FileChannel lockFile = FileChannel.open(dir.resolve("start.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock ignored = lockFile.lock()) {
            if (status().running()) {
                return this;
            }
            Files.deleteIfExists(dir.resolve("server.json"));
            Process p = spawn();
            long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
            while (System.nanoTime() < deadline) {
                if (status().running()) {
                    return this;
                }
                if (!p.isAlive()) {
                    break;
                }
                Thread.sleep(50);
            }
            p.destroyForcibly();
            throw new VpsException(VpsException.Kind.CONFIG, "the sandbox server did not start",
                    "see its log: " + dir.resolve("server.log"));
        } catch (IOException e) {
            throw new VpsException(VpsException.Kind.CONFIG, "cannot start the sandbox in " + dir + ": " + VpsException.reason(e),
                    "check that folder's permissions, or set VPS_SANDBOX_DIR", false, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VpsException(VpsException.Kind.CONFIG, "interrupted while starting the sandbox", null);
        }
    }

    /** The server outlives this process: its own session (setsid) so a Ctrl-C here does not reach it. */
    private Process spawn() throws IOException {
        List<String> cmd = new ArrayList<>();
        if (new File("/usr/bin/setsid").canExecute()) {
            cmd.add("/usr/bin/setsid");
        }
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of("-XX:+UseSerialGC", "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                "SandboxServer", dir.toAbsolutePath().toString()));
        File log = dir.resolve("server.log").toFile();
        return new ProcessBuilder(cmd)
                .directory(LocalFolders.privateDir(dir.resolve("home")).toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(log)
                .redirectErrorStream(true)
                .start();
    }

    boolean stop() {
        Status s = status();
        if (s.pid() > 0) {
            ProcessHandle.of(s.pid()).ifPresent(h -> Processes.stop(h, Duration.ofSeconds(10)));
        }
        try {
            Files.deleteIfExists(dir.resolve("server.json"));
        } catch (IOException ignored) {
            // a stale file is detected as not running anyway
        }
        return s.running();
    }

    Target target(Duration connectTimeout) {
        Status s = status();
        Map<String, String> origins = new LinkedHashMap<>();
        for (String field : List.of("host", "port", "user", "identity", "knownHosts")) {
            origins.put(field, "sandbox " + dir);
        }
        return new Target("sandbox", "127.0.0.1", s.port(), s.user(),
                new Target.Credentials(List.of(dir.resolve("client_key")), null, false, null, false, null),
                new Target.HostKeyPolicy(dir.resolve("known_hosts"), null, false, null),
                connectTimeout, Target.DEFAULT_ALIVE_INTERVAL, Target.DEFAULT_ALIVE_COUNT_MAX, Map.of(), List.of(), origins, List.of());
    }

    /** The VPS_* variables that point any script at the sandbox. */
    Map<String, String> environment() {
        Target t = target(Duration.ofSeconds(10));
        Map<String, String> env = new LinkedHashMap<>();
        env.put("VPS_HOST", t.host());
        env.put("VPS_PORT", Integer.toString(t.port()));
        env.put("VPS_USER", t.user());
        env.put("VPS_KEY", t.identities().get(0).toString());
        env.put("VPS_KNOWN_HOSTS", t.knownHosts().toString());
        return env;
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
