///usr/bin/env jbang "$0" "$@" ; exit $?
//MAIN ExecCommand
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto
//DESCRIPTION Run commands on a VPS over SSH: streamed output, exact exit codes, --json, never a prompt.
//SOURCES ../lib/Deps.java ../lib/Cli.java ../lib/Environment.java ../lib/VpsException.java ../lib/Durations.java
//SOURCES ../lib/ByteSizes.java ../lib/Json.java ../lib/Target.java ../lib/TargetOptions.java ../lib/LocalFolders.java
//SOURCES ../lib/Fingerprints.java ../lib/HostKeyVerifier.java ../lib/VpsConnection.java ../lib/ShellQuote.java
//SOURCES ../lib/RemoteCommand.java ../lib/ExecRunner.java ../lib/ExecOutcome.java ../lib/Signals.java
//SOURCES ../lib/OutputCapture.java ../lib/Sandbox.java ../lib/SandboxServer.java ../lib/TargetResolver.java
//SOURCES ../lib/SshConfig.java ../lib/Identities.java ../lib/JumpProxy.java

import java.io.ByteArrayOutputStream;
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
                "  exec-command -H vps --json 'df -h /'"})
class ExecCommand implements Callable<Integer> {
    static final long JSON_DEFAULT_MAX_OUTPUT = 64 * 1024;
    static final long MAX_SCRIPT_BYTES = 100 * 1024;

    @Mixin
    TargetOptions target;

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

    @Option(names = "--env", paramLabel = "NAME=VALUE", description = "Set a variable for the command; repeatable. Works whatever the server's AcceptEnv.")
    List<String> env = new ArrayList<>();

    @Option(names = "--cwd", paramLabel = "DIR", description = "Run in this remote directory.")
    String cwd;

    @Option(names = "--sudo", description = "Run as root with sudo -n; fails at once if sudo wants a password.")
    boolean sudo;

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

    ExecCommand() {
        this(System.out, System.err, System.in);
    }

    ExecCommand(PrintStream out, PrintStream err, InputStream in) {
        this.out = out;
        this.err = err;
        this.in = in;
    }

    public static void main(String... args) {
        Cli.main(new ExecCommand(), args);
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
        List<Step> steps = new ArrayList<>();
        String host = null;
        try {
            Map<String, String> extraEnv = RemoteCommand.parseEnv(env);
            String interpreter = script == null ? null : RemoteCommand.interpreterOf(toRun.get(0));
            Target t = target.resolve(err);
            host = t.host();
            try (VpsConnection connection = target.connect(t, err)) {
                boolean viaSudo = sudo && !"root".equals(t.user());
                if (viaSudo) {
                    requirePasswordlessSudo(connection);
                }
                for (String text : toRun) {
                    RemoteCommand cmd = new RemoteCommand(text, interpreter, extraEnv, cwd, viaSudo, forwardStdin, timeout);
                    Step step = new Step(text, new OutputCapture("stdout", json ? null : out, limit),
                            new OutputCapture("stderr", json ? null : err, limit));
                    steps.add(step);
                    step.outcome = ExecRunner.run(connection, cmd, step.stdout, step.stderr, in);
                    step.finish();
                    if (step.outcome.processExitCode() != 0 && !keepGoing) {
                        break;
                    }
                }
            }
        } catch (VpsException e) {
            steps.forEach(Step::finish);
            if (json) {
                Map<String, Object> r = Json.failure(host, label(toRun), e, elapsedMs(start));
                fillOutput(r, steps);
                r.put("durationMs", r.remove("durationMs"));
                r.put("job", r.remove("job"));
                r.put("error", r.remove("error"));
                r.put("outputFiles", r.remove("outputFiles"));
                out.println(Json.write(r));
            }
            return Cli.fail(e, err);
        }
        return report(host, toRun, steps, elapsedMs(start));
    }

    private int report(String host, List<String> toRun, List<Step> steps, long durationMs) {
        int exit = 0;
        Step deciding = steps.get(steps.size() - 1);
        for (Step s : steps) {
            if (s.outcome.processExitCode() != 0) {
                exit = s.outcome.processExitCode();
                deciding = s;
            }
        }
        VpsException problem = explain(deciding.outcome);
        if (json) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("host", host);
            r.put("command", label(toRun));
            r.put("status", deciding.outcome.status());
            r.put("exitCode", deciding.outcome.exitCode());
            r.put("signal", deciding.outcome.signal());
            fillOutput(r, steps);
            r.put("durationMs", durationMs);
            r.put("job", null);
            r.put("error", problem == null ? null : Json.error(problem));
            r.put("outputFiles", r.remove("outputFiles"));
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

    /** A timeout or a death by signal gets the toolkit's two explaining lines; a plain exit code does not. */
    private VpsException explain(ExecOutcome o) {
        if (o.timedOut()) {
            return new VpsException(VpsException.Kind.TIMEOUT,
                    "the command still ran after " + Durations.format(timeout) + " and was killed on the server (its whole process group)",
                    "raise --timeout, or run long work as a detached job", false, null);
        }
        if (o.signal() != null) {
            return new VpsException(VpsException.Kind.REMOTE, "the command was killed by signal " + o.signal(),
                    "something on the server killed it (the OOM killer, kill, a crash): check dmesg or journalctl there");
        }
        return null;
    }

    private void fillOutput(Map<String, Object> r, List<Step> steps) {
        StringBuilder stdout = new StringBuilder();
        StringBuilder stderr = new StringBuilder();
        boolean truncated = false;
        List<String> files = new ArrayList<>();
        for (Step s : steps) {
            stdout.append(s.stdout.text());
            stderr.append(s.stderr.text());
            truncated |= s.stdout.truncated() || s.stderr.truncated();
            if (s.stdout.spillFile() != null) {
                files.add(s.stdout.spillFile().toString());
            }
            if (s.stderr.spillFile() != null) {
                files.add(s.stderr.spillFile().toString());
            }
        }
        r.put("stdout", stdout.toString());
        r.put("stderr", stderr.toString());
        r.put("truncated", truncated);
        r.put("outputFiles", files.isEmpty() ? null : files);
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
            if (script.equals("-") && in == System.in && System.console() != null) {
                throw new CommandLine.ParameterException(new CommandLine(this), "--script - reads stdin, which is your terminal here: pipe the script in");
            }
            byte[] bytes = script.equals("-") ? in.readNBytes((int) MAX_SCRIPT_BYTES + 1) : Files.readAllBytes(Path.of(script));
            if (bytes.length > MAX_SCRIPT_BYTES) {
                throw new CommandLine.ParameterException(new CommandLine(this), "script " + script + " is larger than "
                        + MAX_SCRIPT_BYTES / 1024 + " KiB; upload it (sftp-put) and run it as a file");
            }
            return new String(bytes, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new CommandLine.ParameterException(new CommandLine(this), "cannot read script " + script + ": " + e);
        }
    }

    private void requirePasswordlessSudo(VpsConnection connection) {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        ExecOutcome check = ExecRunner.run(connection, RemoteCommand.of("sudo -n true"), sink, sink, null);
        if (check.processExitCode() != 0) {
            String said = sink.toString(StandardCharsets.UTF_8).trim();
            String user = connection.target.user();
            throw new VpsException(VpsException.Kind.AUTH,
                    "sudo on " + connection.target.host() + " needs a password for " + user + " (sudo -n said: " + said + ")",
                    "allow it without a password (as root: echo '" + user + " ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/" + user
                            + "), or log in as root; the toolkit never types a sudo password");
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
