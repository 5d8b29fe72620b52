import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What a Ctrl-C does. SIGINT (likewise TERM and HUP) makes the JVM run its shutdown hooks while the
 * command's own threads still run, then exit 128 + the signal (130 for SIGINT). The one hook here
 * first runs the registered stops (what runs on the server for this client), then the command's one
 * report: a line on stderr, or with --json its one object on stdout. A command whose work ended
 * because of the interrupt sees {@link #happened()} and prints nothing of its own; a normal exit
 * through {@link Cli#main} runs neither stops nor report.
 */
final class Interrupts {
    /** How a report tells of an interrupt: DESIGN §5's status "failed" with this error kind. */
    static final String KIND = "INTERRUPTED";
    /** 128 + SIGINT: the status the JVM exits with after a Ctrl-C. */
    static final int EXIT = 130;

    private static final Deque<Runnable> STOPS = new ConcurrentLinkedDeque<>();
    private static final AtomicBoolean EXITING = new AtomicBoolean();
    private static final AtomicBoolean HAPPENED = new AtomicBoolean();
    private static volatile Runnable report;

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(Interrupts::onShutdown, "vps-interrupt"));
    }

    private Interrupts() {}

    // TEMP stub until the context part lands
    static final class Scope {
        volatile boolean happened;
        final Deque<Runnable> stops = new ConcurrentLinkedDeque<>();
        volatile Runnable report;
        boolean happened() { return happened; }
        void interrupt() {
            happened = true;
            Runnable r = report;
            for (Runnable s : stops) { try { s.run(); } catch (RuntimeException ignored) { } }
            if (r != null) r.run();
        }
    }
    private static final InheritableThreadLocal<Scope> SCOPE = new InheritableThreadLocal<>();
    static Scope newScope() { return new Scope(); }
    static Registration enter(Scope s) { Scope prev = SCOPE.get(); SCOPE.set(s); return () -> SCOPE.set(prev); }

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

    /** Runs STOP (best effort, a few seconds at most) if the process is interrupted before the registration closes. */
    static Registration stopping(Runnable stop) {
        Scope sc = SCOPE.get();
        Deque<Runnable> d = sc != null ? sc.stops : STOPS;
        d.push(stop);
        return () -> d.remove(stop);
    }

    /**
     * Prints REPORT, once, if the process is interrupted before the registration closes; it replaces
     * the report registered before it (a command's own), which comes back when it closes.
     */
    static synchronized Registration reporting(Runnable reportOnInterrupt) {
        Scope sc = SCOPE.get();
        if (sc != null) { Runnable b = sc.report; sc.report = reportOnInterrupt; return () -> { if (sc.report == reportOnInterrupt) sc.report = b; }; }
        Runnable before = report;
        report = reportOnInterrupt;
        return () -> {
            synchronized (Interrupts.class) {
                if (report == reportOnInterrupt) {
                    report = before;
                }
            }
        };
    }

    /** True once an interrupt began: the caller's result is the interrupt's report, already printed or being printed. */
    static boolean happened() {
        Scope sc = SCOPE.get();
        if (sc != null) return sc.happened;
        return HAPPENED.get();
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
        if (EXITING.get() || (STOPS.isEmpty() && report == null)) {
            return;
        }
        HAPPENED.set(true);
        // Taken before the stops: once they end the remote work, the command's thread unregisters it.
        Runnable r = report;
        for (Runnable stop : STOPS) {
            try {
                stop.run();
            } catch (RuntimeException ignored) {
                // best effort: the report says what the user can do
            }
        }
        if (r != null) {
            r.run();
        }
        System.out.flush();
        System.err.flush();
    }
}
