import java.net.UnknownHostException;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * Retries with exponential backoff (jittered), bounded in attempts and in time, for work that is
 * safe to repeat: logging in, reading a job's state, a resumable transfer. Only a transient
 * NETWORK failure is retried; AUTH, HOSTKEY, CONFIG and the like fail at once.
 */
final class Reconnect {
    /**
     * @param attempts  at most this many tries in all
     * @param first     the first pause; each later pause doubles, up to {@code longest}
     * @param budget    no new try starts after this much time since the first
     * @param timeouts  whether a try that timed out is retried (it already waited a full --connect-timeout)
     */
    record Policy(int attempts, Duration first, Duration longest, Duration budget, boolean onlyRefused) {}

    /**
     * A client's login: only a refused connection (sshd restarting) is tried again, about 1.5 s of
     * pauses; a timeout already waited --connect-timeout, and a closed handshake is more often
     * another service on the port than a passing fault.
     */
    static final Policy CONNECT = new Policy(3, Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(5), true);
    /** The holder's login again after its link died: any transient network failure. */
    static final Policy HOLDER = new Policy(4, Duration.ofMillis(500), Duration.ofSeconds(2), Duration.ofSeconds(40), false);
    /** A repeatable operation (reading a job's state, a resumable transfer) whose link dropped in the middle. */
    static final Policy OPERATION = new Policy(3, Duration.ofSeconds(1), Duration.ofSeconds(4), Duration.ofSeconds(40), false);

    private Reconnect() {}

    static <T> T withBackoff(Supplier<T> attempt, Policy policy) {
        long start = System.nanoTime();
        long pauseMs = policy.first().toMillis();
        for (int tried = 1; ; tried++) {
            try {
                return attempt.get();
            } catch (VpsException e) {
                long elapsedMs = (System.nanoTime() - start) / 1_000_000;
                if (!isTransient(e, policy) || tried >= policy.attempts() || elapsedMs + pauseMs > policy.budget().toMillis()) {
                    throw e;
                }
                sleep(pauseMs / 2 + ThreadLocalRandom.current().nextLong(pauseMs / 2 + 1));
                pauseMs = Math.min(pauseMs * 2, policy.longest().toMillis());
            }
        }
    }

    /**
     * Logs in with CONNECT and runs WORK, which is safe to repeat; when the link drops in the middle
     * of WORK, logs in again and runs it again. A failure to log in is not retried here: CONNECT
     * already retried what was worth it. A drop is worth another try even when the failure says
     * "not retriable": that flag warns about commands that may have run, and WORK may repeat.
     */
    static <T> T repeatable(Supplier<VpsConnection> connect, java.util.function.Function<VpsConnection, T> work) {
        return repeatable(connect, work, VpsConnection::close);
    }

    /** As above, with DONE instead of closing each connection after its try (the holder keeps its session). */
    static <T> T repeatable(Supplier<VpsConnection> connect, java.util.function.Function<VpsConnection, T> work,
            java.util.function.Consumer<VpsConnection> done) {
        long start = System.nanoTime();
        long pauseMs = OPERATION.first().toMillis();
        for (int tried = 1; ; tried++) {
            VpsConnection c = connect.get();
            try {
                return work.apply(c);
            } catch (VpsException e) {
                long elapsedMs = (System.nanoTime() - start) / 1_000_000;
                if (e.kind != VpsException.Kind.NETWORK || tried >= OPERATION.attempts() || elapsedMs + pauseMs > OPERATION.budget().toMillis()) {
                    throw e;
                }
            } finally {
                done.accept(c);
            }
            sleep(pauseMs / 2 + ThreadLocalRandom.current().nextLong(pauseMs / 2 + 1));
            pauseMs = Math.min(pauseMs * 2, OPERATION.longest().toMillis());
        }
    }

    static boolean isTransient(VpsException e, Policy policy) {
        if (e.kind != VpsException.Kind.NETWORK || !e.retriable) {
            return false;
        }
        boolean refused = false;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof UnknownHostException) {
                return false;
            }
            refused |= t instanceof java.net.ConnectException;
        }
        return refused || !policy.onlyRefused();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VpsException(VpsException.Kind.NETWORK, "interrupted while waiting to reconnect", null);
        }
    }
}
