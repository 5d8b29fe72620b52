import java.net.ConnectException;
import java.net.UnknownHostException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The one reconnect policy: one backoff schedule (jittered, doubling, bounded in tries and time)
 * for a login (a script's, and the session pool's when it replaces a dead session) and for work
 * that is safe to repeat after its link dropped (reading a job's state, a resumable transfer).
 * Nothing else retries: a command that may have started is never sent again.
 */
final class Reconnect {
    /** At most this many tries in all. */
    static final int ATTEMPTS = 3;
    /** The first pause; each later one doubles, up to LONGEST_MS. */
    static final long FIRST_MS = 500;
    static final long LONGEST_MS = 2_000;
    /** No new try starts after this much time since the first. */
    static final long BUDGET_MS = 40_000;

    private Reconnect() {}

    /**
     * Logs in with LOGIN, again while the server refuses the connection (sshd restarting). A
     * timeout already waited --connect-timeout, and a handshake that closed is more often another
     * service on the port than a passing fault: those fail at once, as AUTH, HOSTKEY and CONFIG do.
     */
    static VpsConnection login(Supplier<VpsConnection> login) {
        Schedule schedule = new Schedule();
        while (true) {
            try {
                return login.get();
            } catch (VpsException e) {
                if (!refused(e) || !schedule.pause()) {
                    throw e;
                }
            }
        }
    }

    /**
     * Connects with CONNECT and runs WORK, which is safe to repeat; when the link drops in the
     * middle of WORK, connects again and runs it again. A failure to connect is not retried here:
     * {@link #login} already did. A drop is worth another try even when the failure says "not
     * retriable": that flag warns about commands that may have run, and WORK may repeat.
     */
    static <T> T repeatable(Supplier<VpsConnection> connect, Function<VpsConnection, T> work) {
        return repeatable(connect, work, VpsConnection::close);
    }

    /** As above, with DONE instead of closing each connection after its try. */
    static <T> T repeatable(Supplier<VpsConnection> connect, Function<VpsConnection, T> work, Consumer<VpsConnection> done) {
        Schedule schedule = new Schedule();
        while (true) {
            VpsConnection c = connect.get();
            try {
                return work.apply(c);
            } catch (VpsException e) {
                if (e.kind != VpsException.Kind.NETWORK || !schedule.pause()) {
                    throw e;
                }
            } finally {
                done.accept(c);
            }
        }
    }

    /** A NETWORK failure because the server refused the connection; never a name that does not resolve. */
    static boolean refused(VpsException e) {
        if (e.kind != VpsException.Kind.NETWORK || !e.retriable) {
            return false;
        }
        boolean refused = false;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof UnknownHostException) {
                return false;
            }
            refused |= t instanceof ConnectException;
        }
        return refused;
    }

    /** The pauses between tries of one operation. */
    private static final class Schedule {
        private final long start = System.nanoTime();
        private int tried = 1;
        private long pauseMs = FIRST_MS;

        /** Pauses before the next try; false (without pausing) when no try is left. */
        boolean pause() {
            long elapsedMs = (System.nanoTime() - start) / 1_000_000;
            if (tried >= ATTEMPTS || elapsedMs + pauseMs > BUDGET_MS) {
                return false;
            }
            tried++;
            try {
                Thread.sleep(pauseMs / 2 + ThreadLocalRandom.current().nextLong(pauseMs / 2 + 1));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new VpsException(VpsException.Kind.NETWORK, "interrupted while waiting to reconnect", null);
            }
            pauseMs = Math.min(pauseMs * 2, LONGEST_MS);
            return true;
        }
    }
}
