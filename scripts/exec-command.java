///usr/bin/env jbang "$0" "$@" ; exit $?
//MAIN ExecCommand
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto
//DESCRIPTION Run commands on a VPS over SSH: streamed output, exact exit codes, --json, never a prompt.
//SOURCES ../lib/Deps.java
//SOURCES ../lib/util/ByteSizes.java ../lib/util/ColdRun.java ../lib/util/Daemons.java ../lib/util/Durations.java
//SOURCES ../lib/util/Environment.java ../lib/util/Interrupts.java ../lib/util/Json.java ../lib/util/LocalFolders.java
//SOURCES ../lib/util/Processes.java ../lib/util/ServerIds.java ../lib/util/Sha256.java ../lib/util/ShellQuote.java
//SOURCES ../lib/util/VpsException.java ../lib/util/YamlDocument.java
//SOURCES ../lib/target/HostSpec.java ../lib/target/SshConfig.java ../lib/target/Target.java
//SOURCES ../lib/target/TargetOptions.java ../lib/target/TargetResolver.java
//SOURCES ../lib/ssh/Fingerprints.java ../lib/ssh/HostKeyVerifier.java ../lib/ssh/Identities.java
//SOURCES ../lib/ssh/JumpProxy.java ../lib/ssh/KeyFiles.java ../lib/ssh/Reconnect.java ../lib/ssh/ServerProbe.java
//SOURCES ../lib/ssh/SessionPool.java ../lib/ssh/VpsConnection.java
//SOURCES ../lib/exec/ExecOutcome.java ../lib/exec/ExecRunner.java ../lib/exec/Heartbeat.java ../lib/exec/InputWait.java
//SOURCES ../lib/exec/Interaction.java ../lib/exec/InteractionOptions.java ../lib/exec/LockOptions.java
//SOURCES ../lib/exec/OutputCapture.java ../lib/exec/Privilege.java ../lib/exec/PrivilegeOptions.java
//SOURCES ../lib/exec/PromptRules.java ../lib/exec/RemoteCommand.java ../lib/exec/RemoteLock.java
//SOURCES ../lib/exec/SecretRedactor.java ../lib/exec/Signals.java ../lib/exec/StartGate.java ../lib/exec/Terminal.java
//SOURCES ../lib/transfer/TransferReport.java ../lib/transfer/TransferResult.java
//SOURCES ../lib/jobs/DetachedExec.java ../lib/jobs/Jobs.java
//SOURCES ../lib/sandbox/Sandbox.java ../lib/sandbox/SandboxServer.java
//SOURCES ../lib/fleet/FleetAware.java ../lib/fleet/FleetHost.java ../lib/fleet/FleetOptions.java
//SOURCES ../lib/fleet/FleetPlan.java ../lib/fleet/FleetResult.java ../lib/fleet/FleetRun.java
//SOURCES ../lib/fleet/HostAddress.java ../lib/fleet/HostOutput.java ../lib/fleet/HostPattern.java
//SOURCES ../lib/fleet/HostResult.java ../lib/fleet/HostSet.java ../lib/fleet/IniInventory.java
//SOURCES ../lib/fleet/Inventory.java ../lib/fleet/InventoryModel.java ../lib/fleet/YamlInventory.java
//SOURCES ../lib/audit/Audit.java ../lib/audit/AuditLog.java
//SOURCES ../lib/policy/Decision.java ../lib/policy/DryRun.java ../lib/policy/Guard.java ../lib/policy/Policy.java
//SOURCES ../lib/policy/PolicyAction.java ../lib/policy/PolicyOptions.java ../lib/policy/ReadOnlyPrograms.java
//SOURCES ../lib/policy/ShellCommands.java
//SOURCES ../lib/cli/Cli.java ../lib/cli/FleetCli.java

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "exec-command", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class, sortOptions = false,
        description = {"Runs commands on a server over one SSH connection. Output streams as it arrives;",
                "the remote exit status passes through (255: could not connect or log in, 124: --timeout)."},
        footer = {"", "Examples:",
                "  exec-command --sandbox -- uname -a",
                "  exec-command -H vps -c 'apt-get update' -c 'apt-get -y upgrade' --sudo --timeout 10m",
                "  exec-command -H vps --json 'df -h /'",
                "  exec-command -H vps --pty --expect 'y/N' --send 'y\\n' -- 'read -p \"[y/N] \" a'",
                "",
                "Several hosts (-H web1,web2,... or --inventory FILE with --limit PATTERN; --list-hosts shows them):",
                "  exec-command -H web1,web2 -- uptime              each line comes as 'web1: ...'",
                "  exec-command --inventory hosts.ini --limit web --serial 2 --group -- 'nginx -v'",
                "  --forks N: at most N hosts at once (default 10). --serial N|P%%: batches of N hosts (P%% of them);",
                "  after a batch with a failed or unreachable host every later host is skipped (--max-fail P%%",
                "  tolerates that share of a batch). --group: each distinct (stdout, stderr, exit code) once, under",
                "  its hosts. --json: one object {\"hosts\": {NAME: envelope}, \"groups\": [{\"hosts\", \"exitCode\",",
                "  \"stdout\", \"stderr\"}], \"summary\": {\"ok\", \"failed\", \"unreachable\", \"skipped\"}}; a skipped host's",
                "  status is \"skipped\". Text ends with one line on stderr: fleet: N ok, N failed (...), ...",
                "  Exit: 0 every host ok, 1 some host's command failed, 255 some host unreachable (first), 2 usage,",
                "  130 interrupted (every host's command is stopped). --stdin: every host gets a copy (16 MiB at most);",
                "  --detach-after takes one host: use job start -H web1,web2 instead."})
class ExecCommand implements Callable<Integer>, FleetAware {
    static final long JSON_DEFAULT_MAX_OUTPUT = 64 * 1024;
    static final long MAX_SCRIPT_BYTES = 100 * 1024;
    static final int STILL_RUNNING = 75;

    @Mixin
    TargetOptions target;

    @Mixin
    FleetOptions fleet;

    @Option(names = {"-c", "--command"}, paramLabel = "CMD", description = "A command to run; repeat to run several in order over one connection.")
    List<String> commands = new ArrayList<>();

    @Option(names = "--script", paramLabel = "FILE", description = "Run a local script file on the server ('-' reads it from stdin). A #! line picks the interpreter.")
    String script;

    @Option(names = "--keep-going", description = "With several commands, run them all even when one fails.")
    boolean keepGoing;

    @Option(names = "--stdin", description = "Forward local stdin to the command (default: the command sees EOF at once).")
    boolean forwardStdin;

    @Option(names = "--timeout", paramLabel = "DUR", converter = Durations.class, description = "Kill the command (its whole process group) after DUR and exit 124.")
    Duration timeout;

    @Option(names = "--env", paramLabel = "NAME=VALUE", description = "Set a variable for the command; repeatable. Works whatever the server's AcceptEnv. --env NAME sends the local NAME's value (keeps a secret off the command line).")
    List<String> env = new ArrayList<>();

    @Option(names = "--cwd", paramLabel = "DIR", description = "Run in this remote directory.")
    String cwd;

    @Option(names = "--secret-env", paramLabel = "NAME", description = "Treat --env NAME's value as a secret: never written to the audit log (names that look secret, such as *TOKEN* or *PASSWORD*, always are); repeatable.")
    List<String> secretEnv = new ArrayList<>();

    @Option(names = "--audit-remote", description = "Also write a one-line record of each command to the server's syslog (logger -t vps-toolkit).")
    boolean auditRemote;

    @Mixin
    PrivilegeOptions privilege;

    @Mixin
    PolicyOptions policy;

    @Option(names = "--detach-after", paramLabel = "DUR", converter = Durations.class,
            description = "Run the command as a job; if it still runs after DUR, return (exit 75) with the job id and the offset to continue from. Env: VPS_DETACH_AFTER.")
    Duration detachAfter;

    @Option(names = "--heartbeat", paramLabel = "DUR", converter = Durations.class, defaultValue = "20s",
            description = "While the command prints nothing for DUR, print a progress line to stderr (default 20s; 0 turns it off).")
    Duration heartbeat;

    @Mixin
    LockOptions lock;

    @Mixin
    InteractionOptions interact;

    @Option(names = "--dry-run", description = "Send nothing (do not even connect): print the target and the exact requests the call would make"
            + " (the exec line and the script on its stdin; sudo password and --env values as ***), and the policy's word.")
    boolean dryRun;

    @Option(names = "--json", description = "Print one JSON object (host, status, exitCode, stdout, ...) instead of streaming.")
    boolean json;

    @Option(names = "--max-output", paramLabel = "BYTES", converter = ByteSizes.class,
            description = "Keep at most BYTES of each stream (head and tail); the rest goes to a local file. Default: 64k with --json, unlimited otherwise.")
    Long maxOutput;

    @Parameters(paramLabel = "CMD", description = "The command, as with ssh: words are joined with spaces. Use -- before it.")
    List<String> words = new ArrayList<>();

    private final PrintStream out;
    private final PrintStream err;
    private final InputStream in;
    /** This run is one host of a fleet: VPS_DETACH_AFTER does not apply. */
    private boolean oneOfAFleet;

    ExecCommand() {
        this(System.out, System.err, System.in);
    }

    ExecCommand(PrintStream out, PrintStream err, InputStream in) {
        this.out = out;
        this.err = err;
        this.in = in;
    }

    public static void main(String... args) {
        Cli.main(ExecCommand::new, args);
    }

    @Override
    public void beforeFleet(List<FleetHost> hosts) {
        if (detachAfter != null) {
            throw VpsException.config("--detach-after takes one host; " + hosts.size() + " hosts are given",
                    "start the command as a job on every host: job start -H " + String.join(",", hosts.stream().map(FleetHost::name).toList())
                            + " -- CMD, then job wait ID --max 50s with the same -H");
        }
    }

    @Override
    public boolean readsStdin() {
        return forwardStdin || "-".equals(script);
    }

    @Override
    public void forHost(FleetHost host, Object first) {
        oneOfAFleet = true;
    }

    @Override
    public Integer call() {
        long start = System.nanoTime();
        List<String> toRun = commandTexts();
        long limit = maxOutput != null ? maxOutput : json ? JSON_DEFAULT_MAX_OUTPUT : 0;
        if (limit < 0 || limit > (1L << 30) || (json && limit == 0)) {
            throw new CommandLine.ParameterException(new CommandLine(this), json && limit == 0
                    ? "--max-output 0 means unlimited, which --json cannot hold in memory: give a size such as 1m"
                    : "--max-output must be between 0 and 1g");
        }
        // VPS_DETACH_AFTER is a default for plain commands: one with a terminal or answers runs attached (a job has neither).
        Duration detach = detachAfter == null && interact.any() ? null : detachAfter();
        if (detach != null && (toRun.size() > 1 || forwardStdin)) {
            throw new CommandLine.ParameterException(new CommandLine(this), toRun.size() > 1
                    ? "--detach-after runs one command: join them with && or use --script"
                    : "--detach-after runs the command as a job, which cannot read your stdin: upload the input first (sftp-put)");
        }
        // Read by the interrupt report, which runs on the shutdown hook's thread while this one still runs.
        List<Step> steps = new java.util.concurrent.CopyOnWriteArrayList<>();
        String[] host = {null};
        Interrupts.Report report = (what, hint) -> reportInterrupted(host[0], toRun, steps, elapsedMs(start), what, hint);
        try (Interrupts.Registration onInterrupt = Interrupts.reporting(() -> report.report(
                steps.isEmpty() ? "no command was started" : "the remote command was stopped",
                "run it again; long work survives the client as a job (job start, or --detach-after)"))) {
            return runAll(toRun, limit, detach, steps, host, start, report);
        }
    }

    private int runAll(List<String> toRun, long limit, Duration detach, List<Step> steps, String[] hostOut, long start,
                       Interrupts.Report onInterrupt) {
        String host = null;
        try {
            RemoteLock remoteLock = lock.lock("exec-command `" + abbreviate(label(toRun)) + "`");
            Map<String, String> extraEnv = RemoteCommand.parseEnv(env);
            interact.check(forwardStdin, detach != null, toRun.size());
            Interaction answers = newInteraction();   // a missing --send-env variable or a bad regex fails before anything connects
            String interpreter = script == null ? null : RemoteCommand.interpreterOf(toRun.get(0));
            Target t = target.resolve(err);
            host = t.host();
            hostOut[0] = host;
            Privilege asWho = privilege.privilege(target, t.user());
            if (dryRun) {
                return showPlan(t, toRun, interpreter, extraEnv, asWho, remoteLock, detach);
            }
            try {
                policy.check(t, target.inventoryNames, policyAction(toRun, interpreter, extraEnv), in, err);
            } catch (VpsException refused) {   // an attempt the owner wants to see: its line says why it never ran
                Audit.start("exec").target(t).command(String.join("\n", toRun)).env(extraEnv, secretEnv).secret(asWho.password())
                        .write("refused", refused.exitCode(), null, err);
                throw refused;
            }
            VpsConnection opened;
            try {
                opened = target.connect(t, err);
            } catch (VpsException notIn) {   // an attempt on the server all the same: the owner sees it failed, and why
                Audit.start("exec").target(t).command(String.join("\n", toRun)).env(extraEnv, secretEnv).secret(asWho.password())
                        .put("error", notIn.kind.name()).write("failed", notIn.exitCode(), null, err);
                throw notIn;
            }
            try (VpsConnection connection = opened) {
                if (detach == null && asWho.password() == null) {
                    ExecRunner.requirePrivilege(connection, asWho);   // sudo -n: say at once that it wants a password
                }
                for (String text : toRun) {
                    RemoteCommand cmd = new RemoteCommand(text, interpreter, extraEnv, cwd, asWho, forwardStdin || interact.answers(), timeout)
                            .withLock(remoteLock).withPty(interact.pty);
                    Step step = new Step(text, new OutputCapture("stdout", json ? null : out, limit),
                            new OutputCapture("stderr", json ? null : err, limit));
                    steps.add(step);
                    Audit audit = Audit.start("exec").connection(connection).command(text).put("remoteCwd", cwd)
                            .env(extraEnv, secretEnv).secret(asWho.password()).secretBytes(answers == null ? null : answers.secrets());
                    try {
                        run(connection, cmd, step, detach, onInterrupt);
                    } finally {
                        audit.write(step.outcome == null ? "failed" : step.detached != null ? "detached" : step.outcome.status(),
                                step.outcome == null || step.detached != null ? null : step.outcome.exitCode(),
                                step.stdout.totalBytes() + step.stderr.totalBytes(), err);
                    }
                    if (auditRemote) {
                        audit.writeRemote(connection, err);
                    }
                    step.finish();
                    if (step.detached != null) {
                        break;
                    }
                    if (step.outcome.processExitCode() != 0 && !keepGoing) {
                        break;
                    }
                }
            }
        } catch (VpsException e) {
            if (Interrupts.happened()) {
                return Interrupts.EXIT;
            }
            steps.forEach(Step::finish);
            if (json) {
                Map<String, Object> r = Json.failure(host, label(toRun), e, elapsedMs(start));
                OutputCapture.putAll(r, captures(steps));
                markPty(r);
                out.println(Json.write(r));
            }
            return Cli.fail(e, err);
        }
        if (Interrupts.happened()) {
            return Interrupts.EXIT;   // the report is the interrupt's, printed by the shutdown hook
        }
        return report(host, toRun, steps, elapsedMs(start));
    }

    /** --dry-run: the plan of every request, sent nowhere. */
    private int showPlan(Target t, List<String> toRun, String interpreter, Map<String, String> extraEnv, Privilege asWho,
                         RemoteLock remoteLock, Duration detach) {
        List<DryRun.Request> requests = new ArrayList<>();
        List<String> notes = List.of();
        for (String text : toRun) {
            RemoteCommand cmd = new RemoteCommand(text, interpreter, extraEnv, cwd, asWho, forwardStdin || interact.answers(), timeout)
                    .withLock(remoteLock).withPty(interact.pty);
            // A job's id is chosen when it starts: this one is an example.
            requests.add(detach == null ? DryRun.request(cmd) : DryRun.jobRequest(cmd, Jobs.newId()));
            notes = DryRun.notes(cmd, interact.given());
        }
        String policy = Guard.describe(Guard.decide(t, target.inventoryNames, policyAction(toRun, interpreter, extraEnv)));
        out.print(json ? Json.write(DryRun.toJson(t, requests, notes, policy)) + "\n" : DryRun.toText(t, requests, notes, policy));
        out.flush();
        return 0;
    }

    private PolicyAction policyAction(List<String> toRun, String interpreter, Map<String, String> extraEnv) {
        return PolicyAction.exec(policyTexts(toRun, interpreter), privilege.requested(), extraEnv.keySet());
    }

    /** What the policy reads: a --script with a #! line runs as `INTERPRETER -c TEXT` (a shell's is parsed, any other's is not). */
    private static List<String> policyTexts(List<String> toRun, String interpreter) {
        return interpreter == null ? toRun : toRun.stream().map(text -> interpreter + " -c " + ShellQuote.quote(text)).toList();
    }

    /** A Ctrl-C: WHAT became of the command (stopped on the server, or a job that goes on); say so, as JSON too. */
    private void reportInterrupted(String host, List<String> toRun, List<Step> steps, long durationMs, String what, String hint) {
        if (json) {
            Map<String, Object> r = Json.envelope(host, label(toRun), "failed", null, durationMs, null);
            r.put("error", Interrupts.error(what, hint));
            OutputCapture.putAll(r, captures(steps));
            out.println(Json.write(r));
            out.flush();
        }
        err.println(Interrupts.line(what, hint));
        err.flush();
    }

    private void run(VpsConnection connection, RemoteCommand cmd, Step step, Duration detach, Interrupts.Report onInterrupt) {
        try (Heartbeat beat = new Heartbeat(err, heartbeat, "the command", null)) {
            java.io.OutputStream stdout = beat.watch(step.stdout);
            java.io.OutputStream stderr = beat.watch(step.stderr);
            if (detach != null) {
                DetachedExec.Result r = DetachedExec.run(connection, cmd, detach, stdout, stderr, onInterrupt);
                step.outcome = r.outcome();
                step.detached = r.detached() ? r : null;
                step.jobId = r.jobId();
                return;
            }
            step.outcome = ExecRunner.run(connection, cmd, stdout, stderr, in, newInteraction());
        }
    }

    /** What --pty, --expect and --input-wait ask of one run, or null. */
    private Interaction newInteraction() {
        boolean nobody = InteractionOptions.nobodyAnswers(Environment.stdinIsTerminal(in), forwardStdin);
        return interact.interaction(forwardStdin, nobody, name -> new TargetResolver(target, err).setting(name));
    }

    /** With --pty the output is the terminal's: stdout and stderr arrive merged in "stdout". */
    private void markPty(Map<String, Object> result) {
        if (interact.pty) {
            result.put("pty", true);
        }
    }

    private Duration detachAfter() {
        if (detachAfter != null || oneOfAFleet || Environment.get("VPS_DETACH_AFTER") == null) {
            return detachAfter;
        }
        try {
            return Durations.parse(Environment.get("VPS_DETACH_AFTER"));
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(new CommandLine(this), "VPS_DETACH_AFTER: " + e.getMessage());
        }
    }

    /** Exit 75 and where to continue: the command runs on as a job. */
    private int reportDetached(String host, List<String> toRun, Step step, long durationMs) {
        DetachedExec.Result d = step.detached;
        if (json) {
            Map<String, Object> r = Json.envelope(host, label(toRun), "detached", null, durationMs, null);
            r.put("job", d.jobId());
            r.put("next", d.stdoutNext());
            r.put("nextStderr", d.stderrNext());
            OutputCapture.putAll(r, captures(List.of(step)));
            out.println(Json.write(r));
        }
        out.flush();
        err.println("detached: still running after " + Durations.human(detachAfter()) + "; it continues on the server as job " + d.jobId());
        err.println("next: job wait " + d.jobId() + " --max 50s, then job logs " + d.jobId() + " --from " + d.stdoutNext()
                + " (stderr: job logs " + d.jobId() + " --stderr --from " + d.stderrNext() + ")");
        err.flush();
        return STILL_RUNNING;
    }

    private static String abbreviate(String s) {
        String one = s.replaceAll("\\s+", " ").strip();
        return one.length() > 80 ? one.substring(0, 77) + "..." : one;
    }

    private int report(String host, List<String> toRun, List<Step> steps, long durationMs) {
        Step last = steps.get(steps.size() - 1);
        if (last.detached != null) {
            return reportDetached(host, toRun, last, durationMs);
        }
        int exit = 0;
        Step deciding = steps.get(steps.size() - 1);
        for (Step s : steps) {
            if (s.outcome.processExitCode() != 0) {
                exit = s.outcome.processExitCode();
                deciding = s;
            }
        }
        VpsException problem = deciding.outcome.problem(timeout);
        if (json) {
            Map<String, Object> r = Json.envelope(host, label(toRun), deciding.outcome.status(), deciding.outcome.exitCode(), durationMs, problem);
            r.put("signal", deciding.outcome.signal());
            r.put("job", deciding.jobId);
            OutputCapture.putAll(r, captures(steps));
            markPty(r);
            if (steps.size() > 1 || toRun.size() > 1) {
                r.put("steps", steps.stream().map(Step::toJson).toList());
            }
            out.println(Json.write(r));
        }
        if (problem != null) {
            err.println(problem.describe());
        }
        out.flush();
        err.flush();
        return exit;
    }

    private static List<OutputCapture> captures(List<Step> steps) {
        return steps.stream().flatMap(s -> java.util.stream.Stream.of(s.stdout, s.stderr)).toList();
    }

    /** The command texts to run; a script is read here, so a bad path is a usage error. */
    private List<String> commandTexts() {
        int ways = (words.isEmpty() ? 0 : 1) + (commands.isEmpty() ? 0 : 1) + (script == null ? 0 : 1);
        if (ways != 1) {
            throw new CommandLine.ParameterException(new CommandLine(this), ways == 0
                    ? "no command given: use exec-command [options] -- CMD, -c CMD, or --script FILE"
                    : "give the command one way only: positional CMD, -c, or --script");
        }
        if (script != null) {
            return List.of(readScript());
        }
        return commands.isEmpty() ? List.of(String.join(" ", words)) : commands;
    }

    private String readScript() {
        try {
            if (script.equals("-") && Environment.stdinIsTerminal(in)) {
                throw new CommandLine.ParameterException(new CommandLine(this), "--script - reads stdin, which is your terminal here: pipe the script in");
            }
            byte[] bytes = script.equals("-") ? in.readNBytes((int) MAX_SCRIPT_BYTES + 1) : Files.readAllBytes(Environment.resolve(script));
            if (bytes.length > MAX_SCRIPT_BYTES) {
                throw new CommandLine.ParameterException(new CommandLine(this), "script " + script + " is larger than "
                        + MAX_SCRIPT_BYTES / 1024 + " KiB; upload it (sftp-put) and run it as a file");
            }
            return new String(bytes, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new CommandLine.ParameterException(new CommandLine(this), "cannot read script " + script + ": " + e);
        }
    }

    private String label(List<String> toRun) {
        if (script != null) {
            return "--script " + script;
        }
        return String.join("\n", toRun);
    }

    private static long elapsedMs(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }

    /** One command's captured streams and outcome. */
    private static final class Step {
        final String command;
        final OutputCapture stdout;
        final OutputCapture stderr;
        ExecOutcome outcome;
        /** Set when the command was detached while still running. */
        DetachedExec.Result detached;
        String jobId;

        Step(String command, OutputCapture stdout, OutputCapture stderr) {
            this.command = command;
            this.stdout = stdout;
            this.stderr = stderr;
        }

        void finish() {
            try {
                stdout.finish();
                stderr.finish();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("command", command);
            m.put("status", outcome == null ? "failed" : outcome.status());
            m.put("exitCode", outcome == null ? null : outcome.exitCode());
            m.put("signal", outcome == null ? null : outcome.signal());
            m.put("stdout", stdout.text());
            m.put("stderr", stderr.text());
            m.put("truncated", stdout.truncated() || stderr.truncated());
            m.put("durationMs", outcome == null ? null : outcome.durationMs());
            return m;
        }
    }
}
