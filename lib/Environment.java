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

    static String get(String name) {
        String value = vars.get(name);
        return value == null || value.isEmpty() ? null : value;
    }

    static Map<String, String> all() {
        return vars;
    }

    /** The folder the user runs the command in (where an implicit ./.env is looked for). */
    static Path workingFolder() {
        Path folder = workingFolder;
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
