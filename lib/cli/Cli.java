import java.io.InputStream;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;

/** picocli wiring every script shares: version, usage errors in the toolkit's format, exit codes. */
final class Cli {
    static final String VERSION = "0.1.0";

    /** The one exit-code table (DESIGN §4): every --help shows it; README and AGENTS.md repeat it. */
    static final Map<String, String> EXIT_CODES = exitCodes();

    private static Map<String, String> exitCodes() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("0", "success");
        m.put("1..254", "the remote command's own exit status; 1 also: a REMOTE failure, or (several hosts) some host's command failed");
        m.put("2", "bad usage or a local problem (CONFIG): fix what the hint names");
        m.put("75", "still running, detached into a job: job wait ID --max 50s");
        m.put("77", "refused by the owner's policy (POLICY): nothing ran; do not retry, ask the person");
        m.put("124", "--timeout expired (the command was killed), --lock stayed busy, or a prompt went unanswered (--expect, --input-wait)");
        m.put("130", "interrupted (Ctrl-C)");
        m.put("255", "could not reach, verify or log in (NETWORK, HOSTKEY, AUTH, PROTOCOL); several hosts: some host");
        return m;
    }

    private Cli() {}

    /** How a script makes its command object for a call's streams (its constructor); fleet mode makes one per host. */
    interface Factory {
        Object make(PrintStream out, PrintStream err, InputStream in);
    }

    /** A command with the factory that made it and the call's stdin: what {@link #commandLine} needs to fan out to a host set. */
    record Made(Object command, Factory factory, InputStream in) {}

    static Made made(Factory factory, PrintStream out, PrintStream err, InputStream in) {
        return new Made(factory.make(out, err, in), factory, in);
    }

    /**
     * The picocli command line for COMMAND (a command object, or a {@link Made} one, which can run
     * on a host set: see {@link FleetCli}).
     */
    static CommandLine commandLine(Object command, PrintStream out, PrintStream err) {
        return commandLine(command, out, err, null);
    }

    /** As above; a non-null BEFORE_RUN sees the parsed call before it runs instead of fleet mode (how one host of a fleet is pinned). */
    static CommandLine commandLine(Object command, PrintStream out, PrintStream err,
                                   java.util.function.Consumer<CommandLine.ParseResult> beforeRun) {
        Made made = command instanceof Made m ? m : null;
        CommandLine cl = new CommandLine(made != null ? made.command() : command);
        cl.setOut(new java.io.PrintWriter(out, true));
        cl.setErr(new java.io.PrintWriter(err, true));
        cl.setParameterExceptionHandler((ex, args) -> {
            VpsException e = VpsException.config(usageMessage(ex, args), usageHint(ex, args));
            if (Arrays.asList(args).contains("--json")) {
                out.println(Json.write(Json.failure(null, null, e, 0)));
            }
            err.println(e.describe());
            return CommandLine.ExitCode.USAGE;
        });
        cl.setExecutionExceptionHandler((ex, failed, parsed) -> {
            if (ex instanceof ColdRun) {
                return ColdRun.EXIT;   // the engine runs it cold (EngineCall); nothing reached the server
            }
            throw ex;
        });
        cl.setExecutionStrategy(parseResult -> {
            refuseHelpInsideTheCommand(parseResult);
            Integer help = CommandLine.executeHelpRequest(parseResult);
            if (help != null) {
                return help;
            }
            if (beforeRun != null) {
                beforeRun.accept(parseResult);
            } else {
                Integer fleet = FleetCli.runIfFleet(parseResult, made, out, err);
                if (fleet != null) {
                    return fleet;
                }
            }
            return new CommandLine.RunLast().execute(parseResult);
        });
        showExitCodes(cl);
        if (Environment.inCall()) {
            // picocli's AUTO asks this JVM's own console; a call's --help is colored when the caller's stdout is a terminal.
            cl.setColorScheme(CommandLine.Help.defaultColorScheme(
                    Environment.terminals().stdout() ? CommandLine.Help.Ansi.ON : CommandLine.Help.Ansi.OFF));
        }
        return cl;
    }

    private static void showExitCodes(CommandLine cl) {
        cl.getCommandSpec().usageMessage().exitCodeListHeading("%nExit codes:%n").exitCodeList(EXIT_CODES);
        cl.getSubcommands().values().forEach(Cli::showExitCodes);
    }

    private static String usageMessage(CommandLine.ParameterException ex, String[] args) {
        List<String> words = commandWords(ex.getCommandLine());
        if (ex instanceof CommandLine.UnmatchedArgumentException u && unknownOptionAfterTheCommand(u, args, words)) {
            return new OptionOfTheRemoteCommand(ex.getCommandLine(), String.join(", ", unknownOptions(u)), words.get(0)).getMessage();
        }
        return ex.getMessage();
    }

    /** `exec-command ls -la`: an unknown option written after the remote command's first word. */
    private static boolean unknownOptionAfterTheCommand(CommandLine.UnmatchedArgumentException u, String[] args, List<String> words) {
        if (!u.isUnknownOption() || words.isEmpty() || unknownOptions(u).isEmpty()) {
            return false;
        }
        List<String> all = Arrays.asList(args);
        return all.indexOf(unknownOptions(u).get(0)) > all.indexOf(words.get(0));
    }

    private static List<String> unknownOptions(CommandLine.UnmatchedArgumentException u) {
        return u.getUnmatched().stream().filter(a -> a.startsWith("-")).toList();
    }

    /** What to do about a usage error: put a command after --, or the option picocli thinks was meant. */
    private static String usageHint(CommandLine.ParameterException ex, String[] args) {
        String name = ex.getCommandLine().getCommandSpec().qualifiedName();
        List<String> suggestions = ex instanceof CommandLine.UnmatchedArgumentException u ? u.getSuggestions() : List.of();
        String didYouMean = suggestions.isEmpty() ? "" : "did you mean " + String.join(" or ", suggestions) + "? ";
        List<String> words = commandWords(ex.getCommandLine());
        boolean optionAfterWords = ex instanceof OptionOfTheRemoteCommand
                || ex instanceof CommandLine.UnmatchedArgumentException u && unknownOptionAfterTheCommand(u, args, words);
        if (optionAfterWords) {
            return didYouMean + (didYouMean.isEmpty() ? "p" : "Or p") + "ut the remote command after --: " + name + " [options] -- "
                    + quoted(args, words.get(0));
        }
        return didYouMean + "see " + name + " --help";
    }

    /** An option after the remote command's first word, meant for that command: `exec-command df -h`. */
    private static final class OptionOfTheRemoteCommand extends CommandLine.ParameterException {
        OptionOfTheRemoteCommand(CommandLine cl, String option, String firstWord) {
            super(cl, option + " after '" + firstWord + "' looks like an option of the remote command, not of "
                    + cl.getCommandSpec().qualifiedName());
        }
    }

    /**
     * `exec-command df -h` would print the help and exit 0 as if the command ran: -h (or -V) after
     * the command's first word belongs to the command, so it is a usage error that says where -- goes.
     */
    private static void refuseHelpInsideTheCommand(CommandLine.ParseResult parseResult) {
        CommandLine.ParseResult last = parseResult;
        while (last.hasSubcommand()) {
            last = last.subcommand();
        }
        List<String> words = commandWords(last.commandSpec().commandLine());
        boolean version = last.isVersionHelpRequested() || parseResult.isVersionHelpRequested();
        if (!words.isEmpty() && (version || last.isUsageHelpRequested() || parseResult.isUsageHelpRequested())) {
            throw new OptionOfTheRemoteCommand(last.commandSpec().commandLine(), version ? "-V/--version" : "-h/--help", words.get(0));
        }
    }

    /** The remote command's words a command has taken so far (its positional CMD), or none. */
    private static List<String> commandWords(CommandLine cl) {
        for (CommandLine.Model.PositionalParamSpec p : cl.getCommandSpec().positionalParameters()) {
            if ("CMD".equals(p.paramLabel()) && p.getValue() instanceof List<?> l && !l.isEmpty()) {
                return l.stream().map(String::valueOf).toList();
            }
        }
        return List.of();
    }

    /** The arguments from the command's first word on, as a shell would need them. */
    private static String quoted(String[] args, String firstWord) {
        int from = Arrays.asList(args).indexOf(firstWord);
        return String.join(" ", Arrays.stream(args, Math.max(0, from), args.length)
                .map(a -> a.matches("[A-Za-z0-9_./=:@%+,-]+") ? a : "'" + a.replace("'", "'\\''") + "'").toList());
    }

    /** A front door that can run on a host set: FACTORY makes its command (once, or once per host). */
    static void main(Factory factory, String[] args) {
        main(made(factory, System.out, System.err, System.in), args);
    }

    static void main(Object command, String[] args) {
        int status = commandLine(command, System.out, System.err).execute(args);
        Interrupts.exiting();
        System.exit(status);
    }

    /** Prints a failure the way DESIGN §4 says and returns its exit code. */
    static int fail(VpsException e, PrintStream err) {
        if (err instanceof FleetCli.HostErr host) {
            host.failure = e;   // one host of a fleet: its classification comes from this failure
        }
        err.println(e.describe());
        err.flush();
        return e.exitCode();
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"${COMMAND-NAME} (vps-toolkit " + VERSION + ")"};
        }
    }
}
