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

        /** The audit log's name of this subcommand: job_start, session_read, ... */
        String auditAction() {
            return command().replace(' ', '_');
        }

        /** What this subcommand adds to its audit line (the command it starts, what it sends, its secrets) once run filled R. */
        void audit(Audit audit, Map<String, Object> r) {
        }

        /** --audit-remote: also a line in the server's syslog (job start has the option). */
        boolean auditRemote() {
            return false;
        }

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
            Audit audit = Audit.start(auditAction());
            try {
                Target t = target.resolve(parent.err);
                host = t.host();
                login = t.user();
                PolicyAction action = policyAction();
                if (action != null) {
                    policyOptions().check(t, target.inventoryNames, action, System.in, parent.err);
                }
                Map<String, Object> r = result(host, command());
                int code;
                if (repeatable()) {
                    code = Reconnect.repeatable(() -> target.connect(t, parent.err), c -> runAudited(c, r, audit));
                } else {
                    try (VpsConnection c = target.connect(t, parent.err)) {
                        code = runAudited(c, r, audit);
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
                if (host != null) {   // the target resolved: an attempt on a server (nothing when its line was written already)
                    audit(audit, new java.util.HashMap<>());
                    audit.write("failed", null, null, parent.err);
                }
                if (Interrupts.happened()) {
                    return Interrupts.EXIT;
                }
                if (json()) {
                    parent.out.println(Json.write(Json.failure(host, command(), e, (System.nanoTime() - start) / 1_000_000)));
                }
                return Cli.fail(e, parent.err);
            }
        }

        /** Runs on C and writes the audit line while C is still open (for --audit-remote). */
        private int runAudited(VpsConnection c, Map<String, Object> r, Audit audit) {
            audit.connection(c);
            int code;
            try {
                code = run(on(c), r);
            } catch (VpsException e) {
                if (!repeatable()) {
                    audit(audit, r);
                    audit.write("failed", null, null, parent.err);
                }
                throw e;   // a repeatable one may run again; runOnce writes the failure that stands
            }
            audit(audit, r);
            Object id = r.get("job") != null ? r.get("job") : r.get("session");
            audit.put("id", id);
            if (r.get("command") instanceof String command && !command.equals(command())) {   // the job's or session's own command
                audit.putIfAbsent("command", command);
            }
            Object bytes = r.get("sent") != null ? r.get("sent") : r.get("bytes");
            audit.write(code == 0 ? "ok" : "exit " + code, code, bytes instanceof Number n ? n.longValue() : null, parent.err);
            if (auditRemote()) {
                audit.writeRemote(c, parent.err);
            }
            return code;
        }
    }
}
