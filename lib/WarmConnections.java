import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * One authenticated connection per target name, kept open across calls, so that a call costs a
 * channel and not a login. A dead connection is replaced on its next use, with a bounded backoff.
 * At most {@link #CHANNELS} channels are open on a connection at a time, under sshd's default
 * MaxSessions (10): excess calls wait their turn instead of being refused by the server.
 */
final class WarmConnections implements AutoCloseable {
    static final int CHANNELS = 8;
    /** Pauses before each connection attempt: three tries within about 3 s plus the connect timeouts. */
    static final long[] BACKOFF_MS = {0, 700, 2000};
    static final long QUEUE_WAIT_SECONDS = 300;

    interface Work<T> {
        T run(VpsConnection connection);
    }

    private final Function<String, Target> resolver;
    private final PrintStream log;
    private final boolean verbose;
    private final Map<String, Held> held = new ConcurrentHashMap<>();

    /** @param resolver turns a target name into a Target; it is asked again on every reconnect */
    WarmConnections(Function<String, Target> resolver, PrintStream log, boolean verbose) {
        this.resolver = resolver;
        this.log = log;
        this.verbose = verbose;
    }

    /** Runs WORK on NAME's connection, which it may use CHANNELS_USED channels of at once. */
    <T> T use(String name, int channelsUsed, Work<T> work) {
        return run(name, channelsUsed, work, false);
    }

    /**
     * Like {@link #use}, and once more on a fresh connection when the link dropped during the
     * work: only for work that is safe to repeat (reads, idempotent job calls, atomic transfers).
     */
    <T> T useRepeatable(String name, int channelsUsed, Work<T> work) {
        return run(name, channelsUsed, work, true);
    }

    private <T> T run(String name, int channelsUsed, Work<T> work, boolean repeatable) {
        Held h = held.computeIfAbsent(name, Held::new);
        acquire(h, channelsUsed);
        try {
            VpsConnection c = h.connection();
            try {
                return work.run(c);
            } catch (VpsException e) {
                if (e.kind != VpsException.Kind.NETWORK || !h.dropIfDead(c) || !repeatable) {
                    throw e;
                }
                log.println("vps: the connection to " + name + " dropped (" + e.getMessage() + "); reconnecting and repeating the call once");
                VpsConnection fresh = h.connection();
                try {
                    return work.run(fresh);
                } catch (VpsException again) {
                    if (again.kind == VpsException.Kind.NETWORK) {
                        h.dropIfDead(fresh);
                    }
                    throw again;
                }
            }
        } finally {
            h.channels.release(channelsUsed);
        }
    }

    /** Whether NAME has a live connection now (list_targets shows it). */
    boolean isConnected(String name) {
        Held h = held.get(name);
        return h != null && h.isUp();
    }

    /** Opens NAME's connection in the background, so that the first call finds it warm; failures are only logged. */
    void warmUp(String name) {
        Thread t = new Thread(() -> {
            try {
                use(name, 0, c -> null);
            } catch (VpsException e) {
                log.println("vps: could not connect to " + name + " yet: " + e.getMessage() + " (the first call will try again)");
            }
        }, "vps-warm-up");
        t.setDaemon(true);
        t.start();
    }

    private static void acquire(Held h, int permits) {
        try {
            if (!h.channels.tryAcquire(permits, QUEUE_WAIT_SECONDS, TimeUnit.SECONDS)) {
                throw new VpsException(VpsException.Kind.TIMEOUT, "every channel to " + h.name + " stayed busy for "
                        + QUEUE_WAIT_SECONDS + " s; this call was not started",
                        "wait for the running calls to end (or start long work with job_start), then retry", true, null);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VpsException(VpsException.Kind.TIMEOUT, "interrupted while waiting for a channel to " + h.name,
                    "retry", true, e);
        }
    }

    @Override
    public void close() {
        held.values().forEach(Held::close);
    }

    /** One target's connection, replaced under its lock so that concurrent calls log in once. */
    private final class Held {
        final String name;
        final Semaphore channels = new Semaphore(CHANNELS, true);
        /** Volatile so that isUp never waits behind a reconnect that holds the lock. */
        private volatile VpsConnection connection;

        Held(String name) {
            this.name = name;
        }

        synchronized VpsConnection connection() {
            if (connection != null && connection.isConnected()) {
                return connection;
            }
            if (connection != null) {
                connection.close();
                connection = null;
                log.println("vps: the connection to " + name + " was closed; reconnecting");
            }
            connection = connectWithBackoff();
            return connection;
        }

        private VpsConnection connectWithBackoff() {
            VpsException last = null;
            for (int attempt = 0; attempt < BACKOFF_MS.length; attempt++) {
                try {
                    Thread.sleep(BACKOFF_MS[attempt]);
                    return VpsConnection.open(resolver.apply(name), verbose ? log : null);
                } catch (VpsException e) {
                    if (!e.retriable) {
                        throw e;
                    }
                    last = e;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            throw new VpsException(last == null ? VpsException.Kind.NETWORK : last.kind,
                    (last == null ? "connecting to " + name + " was interrupted" : last.getMessage())
                            + " (" + BACKOFF_MS.length + " attempts)", last == null ? "retry" : last.hint, true, last);
        }

        boolean isUp() {
            VpsConnection c = connection;
            return c != null && c.isConnected();
        }

        /** Forgets C when its link is gone (a later call reconnects); true when it is gone. */
        synchronized boolean dropIfDead(VpsConnection c) {
            if (c.isConnected()) {
                return false;
            }
            if (connection == c) {
                c.close();
                connection = null;
                log.println("vps: the connection to " + name + " was lost; the next call reconnects");
            }
            return true;
        }

        synchronized void close() {
            if (connection != null) {
                connection.close();
                connection = null;
            }
        }
    }
}
