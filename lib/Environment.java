import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;

/**
 * The caller's environment: its variables, its working folder and which of its streams are
 * terminals. Outside a {@link Scope} that is the process's own (replaceable by in-process tests
 * through {@link #use} and {@link #useWorkingFolder}); inside one, opened by {@link #enter} for one
 * call in a long-lived JVM, it is that call's, on the thread that opened it and on every thread
 * created while it is open.
 */
final class Environment {
    private static volatile Map<String, String> vars = System.getenv();
    /** Null: the folder the process was started in. */
    private static volatile Path workingFolder;
    private static final InheritableThreadLocal<Call> CALL = new InheritableThreadLocal<>();

    private Environment() {}

    /** Whether the caller's stdin, stdout and stderr are terminals (a person is there; no progress bar into a pipe). */
    record Terminals(boolean stdin, boolean stdout, boolean stderr) {
        /** The process's own streams: System.console() exists only when stdin and stdout are both terminals. */
        static Terminals ofProcess() {
            boolean console = System.console() != null;
            return new Terminals(console, console, console);
        }
    }

    /** One call's environment, open until closed. */
    interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    private record Call(Map<String, String> vars, Path workingFolder, Terminals terminals) {}

    /**
     * Runs what follows, on this thread and threads it creates, as a call from a caller with VARS,
     * in WORKING_FOLDER (absolute), whose streams are TERMINALS; closing it restores what was before.
     */
    static Scope enter(Map<String, String> vars, Path workingFolder, Terminals terminals) {
        if (!workingFolder.isAbsolute()) {
            throw new IllegalArgumentException("a call's working folder must be absolute: " + workingFolder);
        }
        Call before = CALL.get();
        Call call = new Call(Map.copyOf(vars), workingFolder.normalize(), terminals);
        CALL.set(call);
        return () -> {
            if (CALL.get() == call) {
                CALL.set(before);
            }
        };
    }

    static String get(String name) {
        String value = all().get(name);
        return value == null || value.isEmpty() ? null : value;
    }

    static Map<String, String> all() {
        Call call = CALL.get();
        return call != null ? call.vars() : vars;
    }

    /** The folder the user runs the command in (where an implicit ./.env is looked for, and relative paths start). */
    static Path workingFolder() {
        Path folder = chosenFolder();
        return folder != null ? folder : Path.of("").toAbsolutePath();
    }

    /** Whether this thread runs inside a call's {@link Scope}. */
    static boolean inCall() {
        return CALL.get() != null;
    }

    static Terminals terminals() {
        Call call = CALL.get();
        return call != null ? call.terminals() : Terminals.ofProcess();
    }

    /**
     * Whether IN, a command's stdin, is the caller's terminal. In a call the command's streams are the
     * caller's; outside one, only System.in can be (an in-process test passes its own stream).
     */
    static boolean stdinIsTerminal(InputStream in) {
        return inCall() ? terminals().stdin() : in == System.in && terminals().stdin();
    }

    /** Whether ERR, a command's stderr, is the caller's terminal (as {@link #stdinIsTerminal}). */
    static boolean stderrIsTerminal(PrintStream err) {
        return inCall() ? terminals().stderr() : err == System.err && terminals().stderr();
    }

    /**
     * A local path the user gave, as the program must open it: a relative one starts in the caller's
     * working folder. Messages keep showing PATH as written. Without a call or a test's folder it is
     * left as it is (the process's own folder is where the OS starts it).
     */
    static Path resolve(String path) {
        return resolve(Path.of(path));
    }

    static Path resolve(Path path) {
        Path folder = chosenFolder();
        return folder == null || path.isAbsolute() ? path : folder.resolve(path);
    }

    private static Path chosenFolder() {
        Call call = CALL.get();
        return call != null ? call.workingFolder() : workingFolder;
    }

    /** For tests: run with exactly these variables, in the process's own working folder. */
    static void use(Map<String, String> replacement) {
        vars = Map.copyOf(replacement);
        workingFolder = null;
    }

    /** For tests: run as if started in FOLDER (the JVM's own working folder cannot change). */
    static void useWorkingFolder(Path folder) {
        workingFolder = folder.toAbsolutePath();
    }
}
