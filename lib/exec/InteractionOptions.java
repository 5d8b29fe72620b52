import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import picocli.CommandLine.Option;

/** --pty, --expect/--send/--send-env, --expect-timeout and --input-wait: a command that wants a terminal or answers. */
final class InteractionOptions {
    @Option(names = "--pty", description = "Run the command with a terminal (size from yours, or 120x40; TERM as yours, or xterm-256color);"
            + " stdout and stderr arrive merged, as the terminal's output.")
    boolean pty;

    private final List<PromptRules.Given> given = new ArrayList<>();

    @Option(names = "--expect", paramLabel = "REGEX", description = "Wait for output matching REGEX (since the previous match, both streams),"
            + " then type the --send TEXT or --send-env value that follows it; repeatable pairs, in order.")
    void expect(List<String> all) {
        remember("--expect", all);
    }

    @Option(names = "--send", paramLabel = "TEXT", description = "What to type when the --expect before it matches (\\n \\r \\t \\\\ escapes; add \\n to press Enter).")
    void send(List<String> all) {
        remember("--send", all);
    }

    @Option(names = "--send-env", paramLabel = "NAME", description = "Instead of --send: type the value of variable NAME (environment or .env) and Enter;"
            + " it appears nowhere (*** in the output).")
    void sendEnv(List<String> all) {
        remember("--send-env", all);
    }

    /** Picocli hands a repeated option's values so far to its method on each occurrence: the last one is the new one. */
    private void remember(String option, List<String> all) {
        if (!all.isEmpty()) {
            given.add(new PromptRules.Given(option, all.get(all.size() - 1)));
        }
    }

    @Option(names = "--expect-timeout", paramLabel = "DUR", converter = Durations.class, defaultValue = "30s",
            description = "Stop with TIMEOUT (124) when an --expect does not match within DUR of the previous step (default 30s).")
    Duration expectTimeout;

    @Option(names = "--input-wait", paramLabel = "DUR", converter = Durations.class, defaultValue = "15s",
            description = "When no person can answer: stop with TIMEOUT (124) a command that printed a prompt and then nothing for DUR (default 15s; 0: off).")
    Duration inputWait;

    /** The --expect, --send and --send-env options as given, in order (a dry run lists them; --send-env by name). */
    List<PromptRules.Given> given() {
        return List.copyOf(given);
    }

    /** Whether the command's stdin stays open for answers (it must not be given /dev/null). */
    boolean answers() {
        return !given.isEmpty();
    }

    boolean any() {
        return pty || answers();
    }

    /** Refuses combinations that cannot work, before anything connects. */
    void check(boolean forwardStdin, boolean detach, int commands) {
        if (answers() && forwardStdin) {
            throw VpsException.config("--expect types the command's input itself, so --stdin cannot feed it too",
                    "drop --stdin and answer with --expect/--send, or drop --expect and pipe every answer into --stdin");
        }
        if (any() && detach) {
            throw VpsException.config((pty ? "--pty" : "--expect") + " cannot run with --detach-after: a job has no terminal and nobody to answer it",
                    "drop --detach-after (use --timeout), or open a session (session open) for a long interactive program");
        }
        if (answers() && commands > 1) {
            throw VpsException.config("--expect answers one command's prompts", "join the commands with && or use --script");
        }
        if (expectTimeout.isNegative() || expectTimeout.isZero()) {
            throw VpsException.config("--expect-timeout must be more than 0", "give a duration such as 30s");
        }
    }

    /**
     * The interaction for one run, or null when none is needed. VALUE_OF looks --send-env names up;
     * NOBODY_ANSWERS is true when no person can type into the command (see {@link #nobodyAnswers}).
     */
    Interaction interaction(boolean forwardStdin, boolean nobodyAnswers, Function<String, String> valueOf) {
        List<PromptRules.Rule> rules = PromptRules.parse(given, valueOf);
        boolean readsInput = pty || forwardStdin || !rules.isEmpty();
        Duration wait = readsInput && nobodyAnswers ? inputWait : null;
        if (rules.isEmpty() && !pty && wait == null) {
            return null;
        }
        return new Interaction(rules, expectTimeout, wait, pty);
    }

    /**
     * No person can answer a prompt: the caller is no person at a terminal (an agent, a pipe; in the
     * engine, unless the client said its stdin is a terminal), or its keys do not reach the command
     * (no --stdin: --pty alone gives the command a terminal that nobody types into).
     */
    static boolean nobodyAnswers(boolean callerAtTerminal, boolean forwardStdin) {
        return !(callerAtTerminal && forwardStdin);
    }
}
