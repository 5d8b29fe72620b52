import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** mcp-server's exec tool: one command on a warm connection, output bounded like exec-command --json. */
final class McpExecTool {
    static final long DEFAULT_MAX_OUTPUT = 64 * 1024;
    static final long MAX_OUTPUT_LIMIT = 1L << 30;
    /** Under the roughly 60 s after which agents' hosts give up on a tool call. */
    static final Duration DEFAULT_DETACH_AFTER = Duration.ofSeconds(45);

    private final TargetNames names;
    private final WarmConnections connections;

    McpExecTool(TargetNames names, WarmConnections connections) {
        this.names = names;
        this.connections = connections;
    }

    McpTool tool() {
        return new McpTool("exec",
                "Run a shell command on the server (its login shell, like `ssh host CMD`) and get one JSON result: status "
                        + "(exited, timed_out), exitCode, stdout, stderr. A non-zero exitCode is the command's own answer, not a tool error. "
                        + "Never prompts: stdin is empty, pagers and apt/debconf dialogs are off. Output beyond max_output is cut to a head "
                        + "and a tail (truncated: true; outputFiles names local files with every byte). Pass values through env, not by "
                        + "pasting them into the command. If the connection drops while the command runs, the call fails with NETWORK and "
                        + "the command is NOT run again: check what it changed before repeating it. For anything longer than a minute "
                        + "(apt upgrade, builds) use job_start.",
                new McpTool.Schema()
                        .requiredText("command", "The shell command line, e.g. 'systemctl status nginx --no-pager' or 'cd /srv && ls -la'.")
                        .text("timeout", "Kill the command (its whole process group, on the server) after this long: e.g. '30s', '5m'. Default: none.")
                        .text("detach_after", "If the command still runs after this long (default '45s'), return with status 'detached' and its job id: "
                                + "it goes on as a job (job_wait, job_logs from 'next'). '0' never detaches.")
                        .integer("max_output", "Keep at most this many bytes of each stream (head and tail). Default 65536.")
                        .strings("env", "Environment variables for the command, e.g. {\"RAILS_ENV\": \"production\"}; works whatever the server's AcceptEnv.")
                        .text("cwd", "Run in this remote directory.")
                        .flag("sudo", "Run as root through sudo -n; fails at once, with the fix, if sudo would ask for a password.")
                        .build(),
                false, this::exec);
    }

    private Map<String, Object> exec(McpArgs args) {
        long start = System.nanoTime();
        String name = names.nameOrDefault(args.target());
        String command = args.requiredText("command");
        Duration timeout = args.duration("timeout", null);
        Duration detachAfter = args.duration("detach_after", DEFAULT_DETACH_AFTER);
        long limit = args.size("max_output", DEFAULT_MAX_OUTPUT, MAX_OUTPUT_LIMIT);
        Map<String, String> env = RemoteCommand.parseEnv(args.strings("env").entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList());
        if (limit == 0) {
            throw VpsException.config("max_output 0 would mean unlimited, which one JSON result cannot hold", "give a size such as 1048576");
        }
        String cwd = args.text("cwd");
        boolean sudo = args.flag("sudo");
        OutputCapture stdout = new OutputCapture("stdout", null, limit);
        OutputCapture stderr = new OutputCapture("stderr", null, limit);
        String[] host = {name};
        boolean[] started = {false};
        ExecOutcome outcome;
        try {
            outcome = connections.use(name, 2, c -> {
                host[0] = c.target.host();
                boolean viaSudo = sudo && !"root".equals(c.target.user());
                if (viaSudo) {
                    ExecRunner.requirePasswordlessSudo(c);
                }
                started[0] = true;
                return ExecRunner.run(c, new RemoteCommand(command, null, env, cwd, viaSudo, false, timeout), stdout, stderr, null);
            });
        } catch (VpsException e) {
            if (!started[0] || e.kind != VpsException.Kind.NETWORK) {
                throw e;
            }
            Map<String, Object> r = envelope(host[0], command, "failed", null, null, stdout, stderr, start);
            r.put("error", Json.error(new VpsException(VpsException.Kind.NETWORK, e.getMessage()
                    + "; the command was NOT run again: it may have run in part or in full, or may still be running",
                    "check on the server what it changed (the next call reconnects by itself) before running it again; "
                            + "use job_start for commands that must survive a dropped connection", true, e)));
            return r;
        }
        Map<String, Object> r = envelope(host[0], command, outcome.status(), outcome.exitCode(), outcome.signal(), stdout, stderr, start);
        VpsException problem = outcome.problem(timeout);
        r.put("error", problem == null ? null : Json.error(problem));
        return r;
    }

    private static Map<String, Object> envelope(String host, String command, String status, Integer exitCode, String signal,
                                                OutputCapture stdout, OutputCapture stderr, long start) {
        try {
            stdout.finish();
            stderr.finish();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<String> files = new ArrayList<>();
        for (OutputCapture c : List.of(stdout, stderr)) {
            if (c.spillFile() != null) {
                files.add(c.spillFile().toString());
            }
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("host", host);
        r.put("command", command);
        r.put("status", status);
        r.put("exitCode", exitCode);
        r.put("signal", signal);
        r.put("stdout", stdout.text());
        r.put("stderr", stderr.text());
        r.put("truncated", stdout.truncated() || stderr.truncated());
        r.put("durationMs", (System.nanoTime() - start) / 1_000_000);
        r.put("job", null);
        r.put("error", null);
        r.put("outputFiles", files.isEmpty() ? null : files);
        return r;
    }
}
