import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The detached tunnels of this user: each runs in a background process of its own ({@link TunnelDaemon})
 * with its folder in the toolkit home, tunnels/ID (0700): request.json (the start call's arguments;
 * its environment and folder are the process's), state.json (what `tunnel status` shows, rewritten
 * every second and on every change) and log. Not in the engine: a tunnel must outlive the engine's
 * idle end and its retirement when the toolkit's files change, and one tunnel's bytes must not
 * compete with warm calls.
 */
final class Tunnels {
    /** Bound on the wait for a new tunnel's first login (beyond --connect-timeout) and its JVM's start. */
    static final Duration START_SLACK = Duration.ofSeconds(60);

    private Tunnels() {}

    static Path home() {
        return LocalFolders.privateDir(LocalFolders.root().resolve("tunnels"));
    }

    static Path folder(String id) {
        if (!id.matches("[a-z0-9-]{1,40}")) {
            throw VpsException.config("'" + id + "' is not a tunnel id", "tunnel list shows the ids");
        }
        return home().resolve(id);
    }

    static String newId() {
        byte[] b = new byte[4];
        new SecureRandom().nextBytes(b);
        return "tun-" + HexFormat.of().formatHex(b);
    }

    /** A tunnel as its folder tells: its last state, and whether its process still runs. */
    record Entry(String id, Map<String, Object> state, boolean alive) {
        String status() {
            String s = state == null ? "starting" : String.valueOf(state.get("status"));
            if (!alive && (s.equals("up") || s.equals("reconnecting") || s.equals("starting"))) {
                return "lost";   // its process ended without saying why (killed)
            }
            return s;
        }

        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("tunnel", id);
            if (state != null) {
                m.putAll(state);
            }
            m.put("status", status());
            m.remove("processStart");
            return m;
        }

        VpsException failure() {
            if (state != null && state.get("error") instanceof Map<?, ?> e) {
                return VpsException.fromJson(e);
            }
            return null;
        }

        /** The local ports its -L and -D listen on. */
        List<Integer> localPorts() {
            List<Integer> ports = new ArrayList<>();
            if (state != null && state.get("forwards") instanceof List<?> forwards) {
                for (Object f : forwards) {
                    if (f instanceof Map<?, ?> m && !"R".equals(m.get("kind")) && m.get("port") instanceof Number n) {
                        ports.add(n.intValue());
                    }
                }
            }
            return ports;
        }
    }

    static Entry read(String id) {
        Path dir = folder(id);
        if (!Files.isDirectory(dir)) {
            return null;
        }
        Map<String, Object> state = null;
        try {
            @SuppressWarnings("unchecked")
            Map<String, Object> m = Json.read(Files.readString(dir.resolve("state.json")), Map.class);
            state = m;
        } catch (IOException | RuntimeException notYet) {
            // starting, or its process died before writing
        }
        return new Entry(id, state, state != null && alive(state));
    }

    static List<Entry> list() {
        List<Entry> all = new ArrayList<>();
        try (Stream<Path> s = Files.list(home())) {
            s.map(p -> p.getFileName().toString()).filter(n -> n.matches("[a-z0-9-]{1,40}")).sorted().forEach(id -> {
                Entry e = read(id);
                if (e != null) {
                    all.add(e);
                }
            });
        } catch (IOException e) {
            throw VpsException.config("cannot list " + home() + ": " + VpsException.reason(e), "check that folder's permissions");
        }
        return all;
    }

    private static boolean alive(Map<String, Object> state) {
        if (!(state.get("pid") instanceof Number pid)) {
            return false;
        }
        return ProcessHandle.of(pid.longValue()).filter(ProcessHandle::isAlive)
                .filter(h -> h.info().startInstant().map(Object::toString).map(s -> s.equals(state.get("processStart"))).orElse(true))
                .isPresent();
    }

    /** A port another of our tunnels holds: named by its id (the bind itself would only say "in use"). */
    static void refuseHeldPorts(List<TunnelSpec> specs) {
        for (Tunnels.Entry other : Tunnels.list()) {
            for (TunnelSpec s : specs) {
                if (s.kind() != TunnelSpec.Kind.R && s.port() != 0 && other.alive() && other.localPorts().contains(s.port())) {
                    throw VpsException.config("local port " + s.port() + " for " + s.kind().option + " is in use (held by tunnel " + other.id() + ")",
                            "use that tunnel, choose another port, or stop it: tunnel stop " + other.id());
                }
            }
        }
    }

    /** The bytes a tunnel's STATE says it moved, both ways. */
    static long bytesMoved(Map<String, Object> state) {
        return ((Number) state.getOrDefault("bytesIn", 0L)).longValue() + ((Number) state.getOrDefault("bytesOut", 0L)).longValue();
    }

    /**
     * Starts tunnel ID in its own process with the start call's ARGS, in the caller's environment and
     * folder, and waits until it is up (returns its entry) or failed (throws its error).
     */
    static Entry start(String id, List<String> args, Duration connectTimeout) {
        Path dir = LocalFolders.privateDir(folder(id));
        try {
            LocalFolders.writePrivate(dir.resolve("request.json"), Json.write(Map.of("args", args)));
            Process p = spawn(id, dir);
            long deadline = System.nanoTime() + connectTimeout.multipliedBy(2).plus(START_SLACK).toNanos();
            while (System.nanoTime() < deadline) {
                Entry e = read(id);
                if (e.state() != null && !"starting".equals(e.state().get("status"))) {
                    if (e.failure() != null) {
                        throw e.failure();
                    }
                    return e;
                }
                if (!p.isAlive()) {
                    throw VpsException.config("the tunnel's process ended before it was up (exit " + p.exitValue() + ")",
                            "see its log: " + dir.resolve("log"));
                }
                Thread.sleep(50);
            }
            p.destroyForcibly();
            throw new VpsException(VpsException.Kind.TIMEOUT, "tunnel " + id + " was not up within " + Durations.human(connectTimeout.multipliedBy(2).plus(START_SLACK)),
                    "see its log: " + dir.resolve("log"));
        } catch (IOException e) {
            throw VpsException.config("cannot start a tunnel in " + dir + ": " + VpsException.reason(e), "check that folder's permissions");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VpsException(VpsException.Kind.CONFIG, "interrupted while starting tunnel " + id, "tunnel stop " + id);
        }
    }

    /** The tunnel's process outlives this one: its own session (setsid), so a Ctrl-C here does not reach it. */
    private static Process spawn(String id, Path dir) throws IOException {
        List<String> cmd = new ArrayList<>();
        if (new File("/usr/bin/setsid").canExecute()) {
            cmd.add("/usr/bin/setsid");
        }
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of("-XX:+UseSerialGC", "-Xmx128m", "-Xss512k", "-Duser.home=" + System.getProperty("user.home")));
        String hosts = System.getProperty("jdk.net.hosts.file");
        if (hosts != null) {
            cmd.add("-Djdk.net.hosts.file=" + hosts);   // a test's isolated name resolution
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "TunnelDaemon", id));
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .directory(Environment.workingFolder().toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("log").toFile()))
                .redirectErrorStream(true);
        pb.environment().clear();
        pb.environment().putAll(Environment.all());
        return pb.start();
    }

    /** Ends tunnel ID's process (if it runs) and forgets it; returns its last entry, or null when there is no such tunnel. */
    static Entry stop(String id) {
        Entry e = read(id);
        if (e == null) {
            return null;
        }
        if (e.alive() && e.state().get("pid") instanceof Number pid) {
            ProcessHandle.of(pid.longValue()).ifPresent(h -> Processes.stop(h, Duration.ofSeconds(10)));
        }
        deleteFolder(folder(id));
        return e;
    }

    private static void deleteFolder(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // gone already
        }
    }
}
