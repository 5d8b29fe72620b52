import java.time.Duration;
import picocli.CommandLine.Option;

/** --lock and --lock-wait, shared by exec-command and job start. */
final class LockOptions {
    @Option(names = "--lock", paramLabel = "NAME", description = "Hold the server-wide lock NAME (e.g. apt) while the command runs: one holder at a time.")
    String name;

    @Option(names = "--lock-wait", paramLabel = "DUR", converter = Durations.class, defaultValue = "30s",
            description = "How long to wait for --lock before failing with TIMEOUT (default 30s).")
    Duration waitAtMost;

    /** The lock to take, described to whoever finds it busy as HOLDER; null without --lock. */
    RemoteLock lock(String holder) {
        return name == null ? null : new RemoteLock(name, waitAtMost, holder);
    }
}
