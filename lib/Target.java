import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Where and how to connect, fully resolved. {@code origins} says where each value came from
 * (option, environment, .env, ssh config, default, sandbox) for messages and diagnose-auth.
 */
record Target(
        String alias,
        String host,
        int port,
        String user,
        List<Path> identities,
        Path knownHosts,
        String pinnedHostKey,
        boolean acceptNew,
        Duration connectTimeout,
        String keyPassphrase,
        Map<String, String> origins) {

    /** host, or [host]:port as known_hosts writes it. */
    String hostKeyName() {
        return port == 22 ? host : "[" + host + "]:" + port;
    }

    String display() {
        return user + "@" + host + (port == 22 ? "" : ":" + port);
    }
}
