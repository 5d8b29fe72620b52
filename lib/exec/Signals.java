import java.util.Map;

/** Signal names as SSH reports them (without SIG) and their Linux numbers. */
final class Signals {
    private static final Map<String, Integer> NUMBERS = Map.ofEntries(
            Map.entry("HUP", 1), Map.entry("INT", 2), Map.entry("QUIT", 3), Map.entry("ILL", 4),
            Map.entry("TRAP", 5), Map.entry("ABRT", 6), Map.entry("BUS", 7), Map.entry("FPE", 8),
            Map.entry("KILL", 9), Map.entry("USR1", 10), Map.entry("SEGV", 11), Map.entry("USR2", 12),
            Map.entry("PIPE", 13), Map.entry("ALRM", 14), Map.entry("TERM", 15));

    private Signals() {}

    static int number(String name) {
        if (name == null) {
            return 127;
        }
        String n = name.startsWith("SIG") ? name.substring(3) : name;
        return NUMBERS.getOrDefault(n, 127);
    }

    /** The name of signal NUMBER (without SIG), or null when it is not one of these. */
    static String name(int number) {
        return NUMBERS.entrySet().stream().filter(e -> e.getValue() == number).map(Map.Entry::getKey).findFirst().orElse(null);
    }
}
