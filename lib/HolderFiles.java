import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The files of one connection holder in the private holders folder, all named by the holder's id
 * (a digest of the target): the socket, its state (JSON), the key pair clients log in with, the
 * holder's host key for clients to pin, its log and the lock that serializes starting it.
 */
record HolderFiles(Path dir, String id) {
    /** What a holder says about itself in its state file. */
    record State(long pid, String target, String upstream, int clients, Map<String, Object> raw) {}

    Path socket() {
        return dir.resolve(id + ".sock");
    }

    Path stateFile() {
        return dir.resolve(id + ".json");
    }

    Path clientKey() {
        return dir.resolve(id + ".key");
    }

    Path clientKeyPub() {
        return dir.resolve(id + ".key.pub");
    }

    Path knownHosts() {
        return dir.resolve(id + ".known_hosts");
    }

    String hostKeyAlias() {
        return "vps-holder-" + id;
    }

    Path log() {
        return dir.resolve(id + ".log");
    }

    Path lock() {
        return dir.resolve(id + ".lock");
    }

    /** The state file, or null when there is none (or it cannot be read). */
    @SuppressWarnings("unchecked")
    State readState() {
        try {
            Map<String, Object> m = Json.read(Files.readString(stateFile()), Map.class);
            return new State(((Number) m.get("pid")).longValue(), (String) m.get("target"), (String) m.get("upstream"),
                    ((Number) m.get("clients")).intValue(), m);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** The last failure the holder recorded (a reconnect that failed, a channel it could not open), or null. */
    @SuppressWarnings("unchecked")
    VpsException lastError() {
        State s = readState();
        Object e = s == null ? null : s.raw().get("lastError");
        if (!(e instanceof Map<?, ?> m)) {
            return null;
        }
        return VpsException.fromJson(m);
    }

    /** Removes everything but the log and the lock. */
    void delete() {
        for (Path p : new Path[] {socket(), stateFile(), clientKey(), clientKeyPub(), knownHosts()}) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // a leftover is detected as stale next time
            }
        }
    }
}
