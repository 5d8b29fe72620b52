import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The target options every script shares (DESIGN §3). {@link TargetResolver} turns them, the
 * environment, .env and ~/.ssh/config into a {@link Target}. Secrets come only from the
 * environment, .env or a file, never from an option value (argv is visible to every local user).
 * A command with subcommands (job, connection) mixes these in once, on itself: being inherited,
 * they are accepted before and after the subcommand (`job -H vps list`, `job list -H vps`) and
 * land in that one instance.
 */
final class TargetOptions {
    @Option(scope = ScopeType.INHERIT, names = {"-H", "--host"}, paramLabel = "HOST", description = "Server name, address or ~/.ssh/config alias (env VPS_HOST).")
    String host;

    @Option(scope = ScopeType.INHERIT, names = {"-p", "--port"}, paramLabel = "PORT", description = "SSH port (env VPS_PORT; default 22).")
    Integer port;

    @Option(scope = ScopeType.INHERIT, names = {"-u", "--user"}, paramLabel = "USER", description = "Login user (env VPS_USER; default: ssh config, else your local user).")
    String user;

    @Option(scope = ScopeType.INHERIT, names = {"-i", "--identity"}, paramLabel = "KEY", description = "Private key file; repeatable (env VPS_KEY).")
    List<Path> identities = new ArrayList<>();

    @Option(scope = ScopeType.INHERIT, names = "--passphrase-file", paramLabel = "FILE", description = "Read the key passphrase from FILE (else env VPS_KEY_PASSPHRASE).")
    Path passphraseFile;

    @Option(scope = ScopeType.INHERIT, names = {"-J", "--jump"}, paramLabel = "[USER@]HOST[:PORT],...", description = "Connect through these jump hosts, like ssh -J (else ProxyJump from ssh config).")
    String jump;

    @Option(scope = ScopeType.INHERIT, names = "--known-hosts", paramLabel = "FILE", description = "known_hosts file (env VPS_KNOWN_HOSTS; default ~/.ssh/known_hosts).")
    Path knownHosts;

    @Option(scope = ScopeType.INHERIT, names = "--host-key", paramLabel = "SHA256:...", description = "Accept only this host key fingerprint (env VPS_HOST_KEY).")
    String hostKey;

    @Option(scope = ScopeType.INHERIT, names = "--accept-new", description = "Trust an unknown host key on first use and record it. A changed key is still refused.")
    boolean acceptNew;

    @Option(scope = ScopeType.INHERIT, names = "--connect-timeout", paramLabel = "DUR", converter = Durations.class,
            description = "Give up connecting and logging in after DUR (default 10s).")
    Duration connectTimeout;

    @Option(scope = ScopeType.INHERIT, names = "--password-auth", description = "Emergency only: also try a password (env VPS_PASSWORD or --password-file).")
    boolean passwordAuth;

    @Option(scope = ScopeType.INHERIT, names = "--password-file", paramLabel = "FILE", description = "Read the login password from FILE (with --password-auth).")
    Path passwordFile;

    @Option(scope = ScopeType.INHERIT, names = "--legacy-ssh-rsa", description = "Allow SHA-1 ssh-rsa signatures and host keys (old servers only; prints a warning).")
    boolean legacySshRsa;

    @Option(scope = ScopeType.INHERIT, names = "--env-file", paramLabel = "FILE", description = "Read VPS_* settings from FILE (default ./.env when present).")
    Path envFile;

    @Option(scope = ScopeType.INHERIT, names = "--ssh-config", paramLabel = "FILE", description = "OpenSSH client config (env VPS_SSH_CONFIG; default ~/.ssh/config).")
    Path sshConfig;

    @Option(scope = ScopeType.INHERIT, names = "--sandbox", description = "Target the embedded sandbox server on 127.0.0.1 (started when needed).")
    boolean sandbox;

    @Option(scope = ScopeType.INHERIT, names = {"-v", "--verbose"}, description = "Log the SSH protocol to stderr.")
    boolean verbose;

    @Option(scope = ScopeType.INHERIT, names = "--reuse", negatable = true, description = "Take the warm path: the engine (a background JVM, see vps) runs the call on a login it keeps, "
            + "like ssh's ControlPersist (env VPS_REUSE=1; through ./jbang or vps). --no-reuse: connect directly.")
    Boolean reuse;

    @Option(scope = ScopeType.INHERIT, names = "--persist", paramLabel = "DUR", converter = Durations.class,
            description = "With --reuse: the engine ends after DUR without calls (env VPS_PERSIST; default 10m).")
    Duration persist;

    static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);

    /** Set by {@link #pin}: the inventory's name for the host and its groups, which a policy's `match` also sees. */
    List<String> inventoryNames = List.of();

    /**
     * This run is for one host of a host set (or the inventory's host a single -H names): HOST,
     * and PORT, USER and IDENTITY when not null, replace what the options say; INVENTORY_NAMES are
     * its name and groups in the inventory (empty when it came from no inventory).
     */
    void pin(String host, Integer port, String user, Path identity, List<String> inventoryNames) {
        this.inventoryNames = List.copyOf(inventoryNames);
        this.host = host;
        if (port != null) {
            this.port = port;
        }
        if (user != null) {
            this.user = user;
        }
        if (identity != null) {
            this.identities = new ArrayList<>(List.of(identity));
        }
    }

    /** Logs in to T directly, or leases T's warm session from the process's pool (the engine's) with --reuse / VPS_REUSE=1. */
    VpsConnection connect(Target t, PrintStream err) {
        return connect(t, err, 2);
    }

    /** As above, for work that opens up to CHANNELS channels at once (a transfer's lanes). */
    VpsConnection connect(Target t, PrintStream err, int channels) {
        PrintStream log = verbose ? err : null;
        SessionPool pool = SessionPool.inProcess();
        if (pool != null && reuseWanted() && !verbose) {   // -v shows a login's protocol: it gets one
            return pool.lease(t, channels, log);
        }
        return VpsConnection.connect(t, log);
    }

    boolean reuseWanted() {
        if (reuse != null) {
            return reuse;
        }
        if (SessionPool.inProcess() != null) {
            return true;   // a call the engine runs: keeping the login warm is what the engine is for
        }
        if (sandbox) {
            return false;
        }
        String fromEnv = new TargetResolver(this, System.err).setting("VPS_REUSE");
        return fromEnv != null && List.of("1", "true", "yes", "on").contains(fromEnv.trim().toLowerCase(java.util.Locale.ROOT));
    }

    Target resolve() {
        return resolve(System.err);
    }

    /** @param warnings where warnings about risky settings go (always printed, not only with -v) */
    Target resolve(PrintStream warnings) {
        if (sandbox) {
            return Sandbox.fromEnvironment().ensureRunning().target(connectTimeout != null ? connectTimeout : DEFAULT_CONNECT_TIMEOUT);
        }
        return new TargetResolver(this, warnings).resolve();
    }
}
