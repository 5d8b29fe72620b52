import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What a Ctrl-C does. SIGINT (likewise TERM and HUP) makes the JVM run its shutdown hooks while the
 * command's own threads still run, then exit 128 + the signal (130 for SIGINT). The one hook here
 * first runs the registered stops (what runs on the server for this client), then the command's one
 * report: a line on stderr, or with --json its one object on stdout. A command whose work ended
 * because of the interrupt sees {@link #happened()} and prints nothing of its own; a normal exit
 * through {@link Cli#main} runs neither stops nor report.
 * <p>All of this belongs to a {@link Scope}: the process's own, which the hook acts on, unless the
 * thread runs inside another one (a call in a long-lived JVM), which its {@link Scope#interrupt} acts on.
 */
final class Interrupts {
    /** How a report tells of an interrupt: DESIGN §5's status "failed" with this error kind. */
    static final String KIND = "INTERRUPTED";
    /** 128 + SIGINT: the status the JVM exits with after a Ctrl-C. */
    static final int EXIT = 130;

    /** The process's own: what SIGINT (TERM, HUP) acts on through the shutdown hook. */
    private static final Scope PROCESS = new Scope();
    private static final InheritableThreadLocal<Scope> CURRENT = new InheritableThreadLocal<>();
    private static final AtomicBoolean EXITING = new AtomicBoolean();
    /** The stops take a few seconds at most; a report that takes longer is not waited for. */
    private static final long REPORT_WAIT_SECONDS = 15;

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(Interrupts::onShutdown, "vps-interrupt"));
    }

    private Interrupts() {}

    /**
     * What one call's interrupt acts on: its registered stops and its report. A long-lived JVM that runs
     * many calls gives each its own, {@link #enter}s it on the call's thread and calls {@link #interrupt}
     * when that call's client goes away or asks to stop.
     */
    static final class Scope {
        private final Deque<Runnable> stops = new ConcurrentLinkedDeque<>();
        private final AtomicBoolean happened = new AtomicBoolean();
        private final AtomicBoolean reported = new AtomicBoolean();
        private final CountDownLatch finished = new CountDownLatch(1);
        private volatile Thread interrupter;
        private volatile Runnable report;

        private Scope() {}

        /**
         * Runs the stops registered now, then the report, once (later calls do nothing); from then on
         * {@link #happened()} is true in this scope. A stop or a report registered afterwards runs at
         * once: a command that goes on after its interrupt neither leaves work running nor stays silent.
         */
        void interrupt() {
            if (!happened.compareAndSet(false, true)) {
                return;
            }
            interrupter = Thread.currentThread();
            try {
                // Taken before the stops: once they end the remote work, the command's thread unregisters it.
                Runnable r = report;
                for (Runnable stop : stops) {
                    runQuietly(stop);
                }
                if (r != null) {
                    reportOnce(r);
                }
            } finally {
                finished.countDown();
            }
        }

        /**
         * True once the interrupt began; the command's thread waits (bounded) until the report is out,
         * so that what the call prints ends with it (the process's exit waits for its hook the same way).
         */
        private boolean happened() {
            if (!happened.get()) {
                return false;
            }
            if (Thread.currentThread() != interrupter) {
                try {
                    finished.await(REPORT_WAIT_SECONDS, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return true;
        }

        private Registration stopping(Runnable stop) {
            Runnable once = once(stop);
            stops.push(once);
            if (happened.get()) {
                runQuietly(once);
            }
            return () -> stops.remove(once);
        }

        private Registration reporting(Runnable reportOnInterrupt) {
            Runnable before;
            synchronized (this) {
                before = report;
                report = reportOnInterrupt;
            }
            if (happened.get()) {
                reportOnce(reportOnInterrupt);
            }
            return () -> {
                synchronized (this) {
                    if (report == reportOnInterrupt) {
                        report = before;
                    }
                }
            };
        }

        private void reportOnce(Runnable r) {
            if (reported.compareAndSet(false, true)) {
                r.run();
            }
        }

        private boolean hasWork() {
            return !stops.isEmpty() || report != null;
        }

        private static Runnable once(Runnable stop) {
            AtomicBoolean ran = new AtomicBoolean();
            return () -> {
                if (ran.compareAndSet(false, true)) {
                    stop.run();
                }
            };
        }

        private static void runQuietly(Runnable stop) {
            try {
                stop.run();
            } catch (RuntimeException ignored) {
                // best effort: the report says what the user can do
            }
        }
    }

    /** A scope of its own for one call; nothing acts on it until it is entered and interrupted. */
    static Scope newScope() {
        return new Scope();
    }

    /** Makes stopping, reporting and happened act on SCOPE, on this thread and on threads it creates, until closed. */
    static Registration enter(Scope scope) {
        Scope before = CURRENT.get();
        CURRENT.set(scope);
        return () -> {
            if (CURRENT.get() == scope) {
                CURRENT.set(before);
            }
        };
    }

    private static Scope current() {
        Scope scope = CURRENT.get();
        return scope != null ? scope : PROCESS;
    }

    /** How a command tells of an interrupt: WHAT happened and the HINT, as a line or as its JSON object. */
    interface Report {
        void report(String what, String hint);
    }

    /** A report that is only the line on STREAM. */
    static Report printingTo(java.io.PrintStream stream) {
        return (what, hint) -> {
            stream.println(line(what, hint));
            stream.flush();
        };
    }

    /** A registration that ends with its try block. */
    interface Registration extends AutoCloseable {
        @Override
        void close();
    }

    /** Runs STOP (best effort, a few seconds at most) if the current scope is interrupted before the registration closes. */
    static Registration stopping(Runnable stop) {
        return current().stopping(stop);
    }

    /**
     * Prints REPORT, once, if the current scope is interrupted before the registration closes; it replaces
     * the report registered before it (a command's own), which comes back when it closes.
     */
    static Registration reporting(Runnable reportOnInterrupt) {
        return current().reporting(reportOnInterrupt);
    }

    /** True once an interrupt of the current scope began: the caller's result is the interrupt's report, already printed or being printed. */
    static boolean happened() {
        return current().happened();
    }

    /** Called by {@link Cli#main} before a normal exit: the shutdown that follows is no interrupt. */
    static void exiting() {
        EXITING.set(true);
    }

    /** The line a person reads, `vps: interrupted: WHAT` and its hint. */
    static String line(String what, String hint) {
        return "vps: interrupted: " + what + "\nhint: " + hint;
    }

    /** DESIGN §5's error object for an interrupt. */
    static Map<String, Object> error(String what, String hint) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("kind", KIND);
        error.put("message", "interrupted: " + what);
        error.put("hint", hint);
        error.put("retriable", false);
        return error;
    }

    private static void onShutdown() {
        if (EXITING.get() || !PROCESS.hasWork()) {
            return;
        }
        PROCESS.interrupt();
        System.out.flush();
        System.err.flush();
    }
}
