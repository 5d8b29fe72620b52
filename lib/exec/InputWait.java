import java.util.regex.Pattern;

/**
 * Never a wait for nobody: whether the end of a command's output looks like a prompt, a line that
 * waits for an answer. A command whose output ends in one, and which then prints nothing for
 * --input-wait, is stopped (by {@link Interaction}) when no person can answer it.
 */
final class InputWait {
    /** Words that ask for an answer wherever they stand in the line. */
    private static final Pattern ASKS = Pattern.compile(
            "(?i).*(password|passphrase|passcode|\\bpin\\b|\\by/n\\b|\\byes/no\\b|\\(y\\)|\\[y\\]|\\[n\\]).*");
    /** A sign a prompt ends with, followed by the space where the answer goes: `Name: `, `Sure? `, `mysql> `, `$ `, `# `. */
    private static final Pattern ENDS_LIKE_A_PROMPT = Pattern.compile(".*[:?>$#] +");
    /** A question or a label without the space: `Continue?`, `Username:`. */
    private static final Pattern ENDS_WITH_QUESTION = Pattern.compile(".*[?:]\\s*");
    /** A choice in brackets at the end: `[y/N]`, `[Y/n/q] `, `(yes/no/[fingerprint])`. A bare `[=====>   ]` progress bar is none. */
    private static final Pattern ENDS_WITH_CHOICE = Pattern.compile(".*[\\[(][^\\])]*/[^\\])]*[\\])]\\s*");
    /** Colours and cursor moves a terminal program writes around its prompt. */
    private static final Pattern ESCAPES = Pattern.compile("\u001B\\[[0-9;?]*[A-Za-z]|\u001B\\][^\u0007]*\u0007");

    private InputWait() {}

    /**
     * The prompt OUTPUT ends with, shortened for a message; null when it ends with a newline or its
     * last line does not look like one.
     */
    static String prompt(String output) {
        if (output.isEmpty() || output.endsWith("\n")) {
            return null;
        }
        String line = output.substring(output.lastIndexOf('\n') + 1);
        line = ESCAPES.matcher(line).replaceAll("");
        line = line.substring(line.lastIndexOf('\r') + 1);   // a line redrawn in place: what shows is after the last CR
        if (line.isBlank()) {
            return null;
        }
        boolean prompt = ENDS_LIKE_A_PROMPT.matcher(line).matches() || ENDS_WITH_QUESTION.matcher(line).matches()
                || ENDS_WITH_CHOICE.matcher(line).matches() || ASKS.matcher(line).matches();
        if (!prompt) {
            return null;
        }
        String shown = line.strip();
        return shown.length() > 200 ? "..." + shown.substring(shown.length() - 197) : shown;
    }
}
