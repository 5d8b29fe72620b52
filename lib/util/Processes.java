import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** Ending a local child process, the same way everywhere: bounded, and forcibly when asking is not enough. */
final class Processes {
    private Processes() {}

    /** Asks H to end (SIGTERM) and waits up to GRACE for it; still running then, it is killed (SIGKILL). */
    static void stop(ProcessHandle h, Duration grace) {
        h.destroy();
        h.onExit().orTimeout(grace.toMillis(), TimeUnit.MILLISECONDS).exceptionally(timedOut -> {
            h.destroyForcibly();
            return h;
        }).join();
    }

    /** Waits up to LIMIT for P to end; still running then, it and every process it started are killed. Returns whether it ended in time. */
    static boolean waitOrKill(Process p, Duration limit) throws InterruptedException {
        if (p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
            return true;
        }
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        return false;
    }
}
