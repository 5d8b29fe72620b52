import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The --expect REGEX --send TEXT (or --send-env NAME) pairs, in the order given: each REGEX is looked
 * for in the output since the previous rule matched (both streams), and its answer is typed once.
 */
final class PromptRules {
    /** One step: the output to wait for and what to type then. SECRET is true when the answer must never be shown. */
    record Rule(int number, Pattern expect, byte[] answer, boolean secret) {
        String label() {
            return "rule " + number + " (--expect '" + expect.pattern() + "')";
        }
    }

    /** One option as given, in command-line order. */
    record Given(String option, String value) {}

    private PromptRules() {}

    /**
     * Pairs the options in order: each --expect followed by one --send or --send-env. VALUE_OF looks a
     * --send-env name up (environment, then .env) and returns null when it is not set.
     */
    static List<Rule> parse(List<Given> given, Function<String, String> valueOf) {
        List<Rule> rules = new ArrayList<>();
        for (int i = 0; i < given.size(); i += 2) {
            Given expect = given.get(i);
            if (!expect.option().equals("--expect")) {
                throw usage(expect.option() + " needs an --expect REGEX before it", "write the pairs in order: --expect REGEX --send TEXT ...");
            }
            if (i + 1 >= given.size() || given.get(i + 1).option().equals("--expect")) {
                throw usage("--expect '" + expect.value() + "' has no --send TEXT or --send-env NAME after it",
                        "follow every --expect with what to type when it matches");
            }
            Given answer = given.get(i + 1);
            int number = rules.size() + 1;
            boolean fromEnv = answer.option().equals("--send-env");
            byte[] bytes = fromEnv ? secretLine(answer.value(), valueOf) : unescape(answer.value()).getBytes(StandardCharsets.UTF_8);
            rules.add(new Rule(number, compile(expect.value()), bytes, fromEnv));
        }
        return rules;
    }

    private static Pattern compile(String regex) {
        try {
            return Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw usage("--expect '" + regex + "' is not a valid regular expression: " + e.getDescription(),
                    "it is a Java regex: escape ? [ ] ( ) . * + with a backslash to match them literally");
        }
    }

    /** The variable's value and a newline; the name must be a variable name, the value set and on one line. */
    private static byte[] secretLine(String name, Function<String, String> valueOf) {
        if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
            throw usage("--send-env '" + name + "' is not a variable name", "give the NAME of a variable that holds the value");
        }
        String value = valueOf.apply(name);
        if (value == null) {
            throw VpsException.config("--send-env " + name + ": there is no variable " + name + " in the environment or .env",
                    "export " + name + " (or put it in .env) first; its value is typed with a newline and shown as *** in the output");
        }
        return (value + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /** TEXT with \n \r \t \\ turned into the characters they name. */
    static String unescape(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c != '\\') {
                out.append(c);
                continue;
            }
            char next = i + 1 < text.length() ? text.charAt(i + 1) : 0;
            switch (next) {
                case 'n' -> out.append('\n');
                case 'r' -> out.append('\r');
                case 't' -> out.append('\t');
                case '\\' -> out.append('\\');
                default -> throw usage("--send '" + text + "': unknown escape \\" + (next == 0 ? "" : String.valueOf(next)),
                        "--send knows \\n \\r \\t and \\\\ (a backslash)");
            }
            i++;
        }
        return out.toString();
    }

    private static VpsException usage(String message, String hint) {
        return VpsException.config(message, hint);
    }
}
