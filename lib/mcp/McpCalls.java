import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The tool calls running in this mcp-server, each in its own {@link Interrupts.Scope}: cancelling one
 * (notifications/cancelled names its JSON-RPC id) or all of them (the client went away) stops what
 * it started on the server as a Ctrl-C does: the command's process group, the job of a detached
 * exec, a transfer (at its next packet); a call still busy 2 s later (a wait) has its thread interrupted.
 */
final class McpCalls {
    /** Where {@link McpSerialTransport} writes a tools/call's JSON-RPC id into its _meta, so that the call can be named. */
    static final String REQUEST_ID_META = "vps-toolkit/requestId";
    /** How long a cancelled call may take to end by its stops before its thread is interrupted. */
    private static final long STOP_GRACE_MS = 2_000;

    private static final Set<Call> RUNNING = ConcurrentHashMap.newKeySet();
    private static final Map<String, Call> BY_REQUEST = new ConcurrentHashMap<>();
    /** Ids cancelled before their call began (the notification overtook the call's start). */
    private static final Set<String> CANCELLED_EARLY = ConcurrentHashMap.newKeySet();
    private static final ThreadLocal<Call> CURRENT = new ThreadLocal<>();
    /** Why every call is cancelled from now on (the client went away); null while it is there. */
    private static volatile String closed;

    private McpCalls() {}

    /** One running call: begun and ended on its handler's thread. */
    static final class Call implements AutoCloseable {
        private final String requestKey;
        private final McpProgress progress;
        private final Interrupts.Scope scope = Interrupts.newScope();
        private final Thread thread = Thread.currentThread();
        private final Interrupts.Registration entered;
        private final CountDownLatch ended = new CountDownLatch(1);
        private volatile String cancelledBecause;
        private boolean done;

        private Call(String requestKey, McpProgress progress) {
            this.requestKey = requestKey;
            this.progress = progress;
            this.entered = Interrupts.enter(scope);
            CURRENT.set(this);
        }

        /** Why the call was cancelled (the client asked, or went away); null while it was not. */
        String cancelledBecause() {
            return cancelledBecause;
        }

        /** Stops the call's remote work; returns at once (the stops run on a thread of their own). */
        void cancel(String why) {
            synchronized (this) {
                if (done || cancelledBecause != null) {
                    return;
                }
                cancelledBecause = why;
            }
            Daemons.start("vps-mcp-cancel", () -> {
                scope.interrupt();
                awaitEnd(STOP_GRACE_MS);
                synchronized (this) {
                    if (!done) {
                        thread.interrupt();   // a wait or a transfer that has no remote stop of its own
                    }
                }
            });
        }

        /** A call cancelled before it began: it starts nothing (its scope is interrupted before its work runs). */
        private void cancelAtStart(String why) {
            cancelledBecause = why;
            scope.interrupt();
        }

        private boolean awaitEnd(long ms) {
            try {
                return ended.await(ms, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }

        @Override
        public void close() {
            synchronized (this) {
                done = true;
                Thread.interrupted();   // the handler's thread serves other calls next: no interrupt meant for this one stays
            }
            entered.close();
            CURRENT.remove();
            RUNNING.remove(this);
            if (requestKey != null) {
                BY_REQUEST.remove(requestKey, this);
            }
            ended.countDown();
        }
    }

    /**
     * Begins a call on this thread; REQUEST_ID is its JSON-RPC id (null: it cannot be cancelled by id),
     * PROGRESS where it reports progress (null: the client did not ask).
     */
    static Call begin(Object requestId, McpProgress progress) {
        String key = key(requestId);
        Call call = new Call(key, progress);
        RUNNING.add(call);
        if (closed != null) {
            call.cancelAtStart(closed);   // the client is gone: whatever still comes in starts nothing
        } else if (key != null) {
            BY_REQUEST.put(key, call);
            if (CANCELLED_EARLY.remove(key)) {
                call.cancelAtStart("the client cancelled it");
            }
        }
        return call;
    }

    /** notifications/cancelled: stops the call REQUEST_ID names, if it runs (or when it begins). */
    static void cancel(Object requestId, String reason) {
        String key = key(requestId);
        if (key == null) {
            return;
        }
        Call call = BY_REQUEST.get(key);
        String why = "the client cancelled it" + (reason == null || reason.isBlank() ? "" : " (" + reason + ")");
        if (call != null) {
            call.cancel(why);
        } else if (CANCELLED_EARLY.size() < 1000) {
            CANCELLED_EARLY.add(key);   // bounded: ids of calls that already ended are never claimed
        }
    }

    /** Cancels every running call and every call that begins from now on, then waits until the running ones ended, at most MAX_MS. */
    static void cancelAll(String why, long maxMs) {
        closed = why;
        long deadline = System.nanoTime() + maxMs * 1_000_000;
        Set<Call> calls = Set.copyOf(RUNNING);
        calls.forEach(c -> c.cancel(why));
        for (Call c : calls) {
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0 || !c.awaitEnd(left)) {
                return;
            }
        }
    }

    /** The progress of the call running on this thread; null when its client did not ask for it (or on another thread). */
    static McpProgress progress() {
        Call call = CURRENT.get();
        return call == null ? null : call.progress;
    }

    /** How many tool calls are running now. */
    static int inFlight() {
        return RUNNING.size();
    }

    /** A JSON-RPC id as a key: a string and a number that print alike are different ids. */
    private static String key(Object id) {
        if (id instanceof String s) {
            return "s:" + s;
        }
        if (id instanceof Number n) {
            return "n:" + new java.math.BigDecimal(n.toString()).stripTrailingZeros().toPlainString();
        }
        return null;
    }
}
