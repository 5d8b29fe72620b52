import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Where and how to connect, fully resolved. {@code origins} says where each value came from
 * (option, environment, .env, ssh config file:line, default, sandbox) for messages and
 * diagnose-auth; {@code notes} lists what was read but is not applied (shown under -v).
 */
record Target(
        String alias,
        String host,
        int port,
        String user,
        Credentials credentials,
        HostKeyPolicy hostKeys,
        Duration connectTimeout,
        Duration aliveInterval,
        int aliveCountMax,
        Map<String, String> algorithms,
        List<Target> jumps,
        Map<String, String> origins,
        List<String> notes) {

    /** How to prove who we are. Secrets stay out of toString. */
    record Credentials(List<Path> identities, String keyPassphrase, boolean useAgent, Path agentSocket,
                       boolean passwordAuth, String password) {
        @Override
        public String toString() {
            return "Credentials[identities=" + identities + ", agent=" + useAgent + " " + agentSocket
                    + ", passwordAuth=" + passwordAuth + "]";
        }
    }

    /** How to check the server's host key. {@code alias} replaces the host name in known_hosts (HostKeyAlias). */
    record HostKeyPolicy(Path knownHosts, String pinned, boolean acceptNew, String alias) {}

    static final Duration DEFAULT_ALIVE_INTERVAL = Duration.ofSeconds(15);
    static final int DEFAULT_ALIVE_COUNT_MAX = 3;

    /** The same target logging in with other credentials (diagnose-auth tries them one by one). */
    Target withCredentials(Credentials other, Map<String, String> otherAlgorithms) {
        Map<String, String> why = other.identities().isEmpty() ? Map.of() : Map.of("identity", "option -i");
        return new Target(alias, host, port, user, other, hostKeys, connectTimeout, aliveInterval, aliveCountMax,
                otherAlgorithms, jumps, why, List.of());
    }

    /** The same target reached through HOPS (ProxyJump), in order. */
    Target through(List<Target> hops) {
        return new Target(alias, host, port, user, credentials, hostKeys, connectTimeout, aliveInterval, aliveCountMax,
                algorithms, hops, origins, notes);
    }

    /** The last ProxyJump hop, reached through the hops before it; null without hops. */
    Target lastHop() {
        return jumps.isEmpty() ? null : jumps.get(jumps.size() - 1).through(jumps.subList(0, jumps.size() - 1));
    }

    List<Path> identities() {
        return credentials.identities();
    }

    String keyPassphrase() {
        return credentials.keyPassphrase();
    }

    boolean useAgent() {
        return credentials.useAgent();
    }

    Path agentSocket() {
        return credentials.agentSocket();
    }

    boolean passwordAuth() {
        return credentials.passwordAuth();
    }

    Path knownHosts() {
        return hostKeys.knownHosts();
    }

    String pinnedHostKey() {
        return hostKeys.pinned();
    }

    boolean acceptNew() {
        return hostKeys.acceptNew();
    }

    /** host, or [host]:port as known_hosts writes it (or the HostKeyAlias). */
    String hostKeyName() {
        if (hostKeys.alias() != null) {
            return hostKeys.alias();
        }
        return port == 22 ? host : "[" + host + "]:" + port;
    }

    String display() {
        return user + "@" + host + (port == 22 ? "" : ":" + port);
    }
}
