import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The parent command of a script made of subcommands (job, session, connection): the target options
 * and --json, declared once here and inherited by every subcommand (accepted before and after its
 * name), the streams they print to, and the usage when no subcommand is named. Sub is the
 * skeleton of a subcommand that works on the server (job's and session's).
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

    /**
     * A subcommand that works on the server through S (Jobs, Sessions) on one connection: it resolves
     * the target, fills the result object (printed with --json), reports a failure, and on a Ctrl-C
     * says what goes on and how to continue when it has something to add.
     */
    @Command(mixinStandardHelpOptions = true, versionProvider = Cli.Version.class)
    abstract static class Sub<S> implements Callable<Integer> {
        @CommandLine.ParentCommand
        ParentCommand parent;

        /** The server's name once resolved, for the interrupt's report (printed on the shutdown hook's thread). */
        private volatile String host;

        /** The login user once resolved (whom sudo or su starts from). */
        String login;

        /** What it works through, on CONNECTION. */
        abstract S on(VpsConnection connection);

        /** The result object before run fills it. */
        abstract Map<String, Object> result(String host, String command);

        abstract int run(S remote, Map<String, Object> result);

        /** What the owner's policy judges before this subcommand connects; null for one that only reads the toolkit's own state. */
        PolicyAction policyAction() {
            return null;
        }

        /** --yes, on the subcommands that have a policyAction. */
        PolicyOptions policyOptions() {
            return new PolicyOptions();
        }

        /** Whether the whole subcommand may run again after a dropped link (it reads, or is idempotent). */
        abstract boolean repeatable();

        /** On a Ctrl-C: {what goes on, how to continue[, the job's id]}; null when the subcommand has nothing to add. */
        String[] whenInterrupted() {
            return null;
        }

        boolean json() {
            return parent.json;
        }

        /** "job start", "session read": the parent's name and this one's. */
        String command() {
            return parent.spec.name() + " " + getClass().getAnnotation(Command.class).name();
        }

        @Override
        public Integer call() {
            if (whenInterrupted() == null) {
                return runOnce();
            }
            try (Interrupts.Registration onInterrupt = Interrupts.reporting(this::reportInterrupted)) {
                return runOnce();
            }
        }

        private void reportInterrupted() {
            String[] said = whenInterrupted();
            if (json()) {
                Map<String, Object> r = Json.envelope(host, command(), "failed", null, 0, null);
                if (said.length > 2) {
                    r.put("job", said[2]);
                }
                r.put("error", Interrupts.error(said[0], said[1]));
                parent.out.println(Json.write(r));
                parent.out.flush();
            }
            parent.err.println(Interrupts.line(said[0], said[1]));
            parent.err.flush();
        }

        private int runOnce() {
            TargetOptions target = parent.target;
            long start = System.nanoTime();
            try {
                Target t = target.resolve(parent.err);
                host = t.host();
                login = t.user();
                PolicyAction action = policyAction();
                if (action != null) {
                    policyOptions().check(t, action, System.in, parent.err);
                }
                Map<String, Object> r = result(host, command());
                int code;
                if (repeatable()) {
                    code = Reconnect.repeatable(() -> target.connect(t, parent.err), c -> run(on(c), r));
                } else {
                    try (VpsConnection c = target.connect(t, parent.err)) {
                        code = run(on(c), r);
                    }
                }
                r.put("durationMs", (System.nanoTime() - start) / 1_000_000);
                if (Interrupts.happened()) {
                    return Interrupts.EXIT;
                }
                if (json()) {
                    parent.out.println(Json.write(r));
                }
                return code;
            } catch (VpsException e) {
                if (Interrupts.happened()) {
                    return Interrupts.EXIT;
                }
                if (json()) {
                    parent.out.println(Json.write(Json.failure(host, command(), e, (System.nanoTime() - start) / 1_000_000)));
                }
                return Cli.fail(e, parent.err);
            }
        }
    }
}
