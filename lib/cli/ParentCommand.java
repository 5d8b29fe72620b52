import java.io.PrintStream;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The parent command of a script made of subcommands (job, session, connection): the target options
 * and --json, declared once here and inherited by every subcommand (accepted before and after its
 * name), the streams they print to, and the usage when no subcommand is named.
 */
abstract class ParentCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    TargetOptions target;

    @Option(names = "--json", scope = CommandLine.ScopeType.INHERIT, description = "Print one JSON object.")
    boolean json;

    final PrintStream out;
    final PrintStream err;

    ParentCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    @Override
    public Integer call() {
        spec.commandLine().usage(out);
        return 2;
    }
}
