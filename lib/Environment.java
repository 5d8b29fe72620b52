import java.nio.file.Path;
import java.util.Map;

/**
 * The process environment and working folder, replaceable so that in-process tests can give each
 * run its own.
 */
final class Environment {
    private static volatile Map<String, String> vars = System.getenv();
    /** Null: the folder the process was started in. */
    private static volatile Path workingFolder;

    private Environment() {}

    // TEMP stub until the context part lands
    record Terminals(boolean stdin, boolean stdout, boolean stderr) {}
    interface Scope extends AutoCloseable { @Override void close(); }
    private static final InheritableThreadLocal<Object[]> CALL = new InheritableThreadLocal<>();
    static Scope enter(Map<String, String> v, Path wf, Terminals t) {
        Object[] prev = CALL.get();
        CALL.set(new Object[] {Map.copyOf(v), wf, t});
        return () -> CALL.set(prev);
    }

    static String get(String name) {
        Object[] c = CALL.get();
        String value = c != null ? ((Map<String, String>) c[0]).get(name) : vars.get(name);
        return value == null || value.isEmpty() ? null : value;
    }

    static Map<String, String> all() {
        Object[] c = CALL.get();
        if (c != null) return (Map<String, String>) c[0];
        return vars;
    }

    /** The folder the user runs the command in (where an implicit ./.env is looked for). */
    static Path workingFolder() {
        Object[] c = CALL.get();
        Path folder = c != null ? (Path) c[1] : workingFolder;
        return folder != null ? folder : Path.of("").toAbsolutePath();
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
