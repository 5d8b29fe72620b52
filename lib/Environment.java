import java.util.Map;

/** The process environment, replaceable so that in-process tests can give each run its own. */
final class Environment {
    private static volatile Map<String, String> vars = System.getenv();

    private Environment() {}

    static String get(String name) {
        String value = vars.get(name);
        return value == null || value.isEmpty() ? null : value;
    }

    static Map<String, String> all() {
        return vars;
    }

    /** For tests: run with exactly these variables. */
    static void use(Map<String, String> replacement) {
        vars = Map.copyOf(replacement);
    }
}
