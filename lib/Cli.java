//SOURCES Interrupts.java

import java.io.PrintStream;
import java.util.Arrays;
import picocli.CommandLine;

/** picocli wiring every script shares: version, usage errors in the toolkit's format, exit codes. */
final class Cli {
    static final String VERSION = "0.1.0";

    private Cli() {}

    static CommandLine commandLine(Object command, PrintStream out, PrintStream err) {
        CommandLine cl = new CommandLine(command);
        cl.setOut(new java.io.PrintWriter(out, true));
        cl.setErr(new java.io.PrintWriter(err, true));
        cl.setParameterExceptionHandler((ex, args) -> {
            // "job list --help", not "list --help": the hint must name a help that runs.
            String hint = "see " + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help";
            if (Arrays.asList(args).contains("--json")) {
                VpsException e = VpsException.config(ex.getMessage(), hint);
                out.println(Json.write(Json.failure(null, null, e, 0)));
            }
            err.println("vps: CONFIG: " + ex.getMessage());
            err.println("hint: " + hint);
            return CommandLine.ExitCode.USAGE;
        });
        return cl;
    }

    static void main(Object command, String[] args) {
        int status = commandLine(command, System.out, System.err).execute(args);
        Interrupts.exiting();
        System.exit(status);
    }

    /** Prints a failure the way DESIGN §4 says and returns its exit code. */
    static int fail(VpsException e, PrintStream err) {
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
