import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The engine's private folder (LocalFolders.root()/engine), shared with its thin client bin/vps:
 * `lock` (held by the live engine), `port` ("PORT PID"), `known_hosts` (the engine's host key under
 * the alias vps-engine), `client_key`, `ctl` (ssh's ControlPath), `calls/ID` (one marker per call:
 * `started` while it runs, `done CODE` once it ended, `retired` when it was refused unrun). A client
 * whose ssh ends 255 reads it: `done` is the call's own answer, `started` means the engine died
 * during the call (it may have run), and no marker means no engine took it: only then may the
 * client run it cold. A call is never sent twice.
 */
record EngineFiles(Path dir) {
    static final String HOST_ALIAS = "vps-engine";

    static EngineFiles here() {
        Path dir = LocalFolders.privateDir(LocalFolders.root().resolve("engine"));
        LocalFolders.privateDir(dir.resolve("calls"));
        return new EngineFiles(dir);
    }

    Path lock() {
        return dir.resolve("lock");
    }

    Path port() {
        return dir.resolve("port");
    }

    Path knownHosts() {
        return dir.resolve("known_hosts");
    }

    /** Made by the client that starts an engine, so that racing clients start one; the engine removes it. */
    Path startedBy() {
        return dir.resolve("starting");
    }

    /** Where a call's output waits, past 1 MiB, for a client that reads slowly. */
    Path spill() {
        return LocalFolders.privateDir(dir.resolve("spill"));
    }

    Path call(String id) {
        return dir.resolve("calls").resolve(id);
    }

    /** The running engine's port and pid, or null. */
    long[] portAndPid() {
        try {
            String[] words = Files.readString(port()).trim().split(" ");
            return new long[] {Long.parseLong(words[0]), Long.parseLong(words[1])};
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Removes the port file if it still names PORT (a newer engine may have written its own). */
    void forgetPort(int port) {
        long[] current = portAndPid();
        if (current != null && current[0] == port && current[1] == ProcessHandle.current().pid()) {
            port().toFile().delete();
        }
    }

    void mark(String id, String state) {
        try {
            Files.writeString(call(id), state);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Empties the log when it grew past LIMIT; its writers append, so they go on at the new end. */
    void trimLog(long limit) {
        Path log = dir.resolve("log");
        try (java.nio.channels.FileChannel c = java.nio.channels.FileChannel.open(log, java.nio.file.StandardOpenOption.WRITE)) {
            if (c.size() > limit) {
                c.truncate(0);
            }
        } catch (IOException ignored) {
            // no log yet
        }
    }

    /** Markers of calls that ended more than AGE ago: their clients have read them long since. */
    void forgetEndedCalls(java.time.Duration age) {
        long before = System.currentTimeMillis() - age.toMillis();
        try (Stream<Path> s = Files.list(dir.resolve("calls"))) {
            s.filter(p -> p.toFile().lastModified() < before).forEach(p -> {
                try {
                    if (Files.readString(p).startsWith("done")) {
                        Files.deleteIfExists(p);
                    }
                } catch (IOException ignored) {
                    // gone already
                }
            });
        } catch (IOException ignored) {
            // nothing to forget
        }
    }

    void clearCalls() {
        try (Stream<Path> s = Files.list(dir.resolve("calls"))) {
            s.forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // nothing to clear
        }
    }

    /** Changes when any source file of the toolkit under ROOT is added, removed or modified. */
    static String fingerprint(Path root) {
        MessageDigest d = Sha256.digest();
        try (Stream<Path> files = sourceFiles(root)) {
            files.forEach(f -> {
                try {
                    BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
                    d.update((f + " " + a.size() + " " + a.lastModifiedTime().toMillis() + "\n").getBytes(StandardCharsets.UTF_8));
                } catch (IOException gone) {
                    d.update((f + " gone\n").getBytes(StandardCharsets.UTF_8));
                }
            });
        } catch (IOException e) {
            return "unreadable " + e.getMessage();
        }
        return Sha256.hex(d);
    }

    /** For the fingerprint: the toolkit's own sources under ROOT, in a stable order. */
    private static Stream<Path> sourceFiles(Path root) throws IOException {
        List<Path> all = new ArrayList<>();
        for (String dir : List.of("lib", "scripts", "bin")) {
            Path d = root.resolve(dir);
            if (Files.isDirectory(d)) {
                try (Stream<Path> s = Files.walk(d)) {
                    s.filter(Files::isRegularFile).forEach(all::add);
                }
            }
        }
        all.add(root.resolve("jbang"));
        all.sort(null);
        return all.stream();
    }
}
