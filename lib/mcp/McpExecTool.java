import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** mcp-server's exec tool: one command on a warm connection, output bounded like exec-command --json. */
final class McpExecTool {
    static final long DEFAULT_MAX_OUTPUT = 64 * 1024;
    /**
     * Per stream, as for read_file and job_logs: the result is held in memory and written as one JSON
     * message (control characters take six bytes there), and an agent reads far less; the spill
     * files (outputFiles) keep the rest.
     */
    static final long MAX_OUTPUT_LIMIT = McpFileTools.MAX_CONTENT_BYTES;
    /** Under the roughly 60 s after which agents' hosts give up on a tool call. */
    static final Duration DEFAULT_DETACH_AFTER = Duration.ofSeconds(45);

    private final TargetNames names;
    private final SessionPool connections;
    private final java.io.PrintStream log;
    private final java.util.concurrent.ExecutorService cleaner = java.util.concurrent.Executors.newSingleThreadExecutor(Daemons.named("vps-job-cleaner"));

    McpExecTool(TargetNames names, SessionPool connections, java.io.PrintStream log) {
        this.names = names;
        this.connections = connections;
        this.log = log;
    }

    McpTool tool() {
        return new McpTool("exec",
                "Run a shell command on the server (its login shell, like `ssh host CMD`) and get one JSON result: status "
                        + "(exited, timed_out, detached), exitCode, stdout, stderr. A non-zero exitCode is the command's own answer, not a "
                        + "tool error. Never prompts: stdin is empty, pagers and apt/debconf dialogs are off. Output beyond max_output is cut "
                        + "to a head and a tail (truncated: true; outputFiles names local files with every byte, up to " + OutputCapture.SPILL_FILE_MB
                        + " MiB a stream, kept " + OutputCapture.SPILL_MAX_AGE.toHours() + " h; outputFilesCut: true when a file stopped at that cap). Pass values through env, "
                        + "not by pasting them into the command. The command runs as a job: if it still runs after detach_after (default "
                        + "45s) the call returns status 'detached' with its job id and 'next': continue with job_wait, then job_logs with "
                        + "from = next. Never run a detached command again. If the connection drops mid-command the call fails with "
                        + "NETWORK and the command is NOT run again: check what it did (job_wait on the job named) before repeating it.",
                privilegeArguments(new McpTool.Schema()
                        .requiredText("command", "The shell command line, e.g. 'systemctl status nginx --no-pager' or 'cd /srv && ls -la'.")
                        .text("timeout", "Kill the command (its whole process group, on the server) after this long: e.g. '30s', '5m'. Default: none.")
                        .text("detach_after", "If the command still runs after this long (default '45s'), return with status 'detached' and its job id: "
                                + "it goes on as a job (job_wait, job_logs from 'next'). '0' never detaches.")
                        .integer("max_output", "Keep at most this many bytes of each stream (head and tail). Default 65536, at most 8388608.")
                        .strings("env", "Environment variables for the command, e.g. {\"RAILS_ENV\": \"production\"}; works whatever the server's AcceptEnv.")
                        .text("cwd", "Run in this remote directory.")
                        .flag("dry_run", "Send nothing (no connection): return the plan, {dryRun: true, target, requests: [{exec, stdin}], policy}: "
                                + "the exact request this call would make, secrets and env values shown as ***.")
                        .fleet())
                        .build(),
                McpOutput.exec(), McpTool.Hints.changes("Run a command", true, false), new McpFleet(names).each("exec", this::exec));
    }

    /** sudo, sudo_user and su: the passwords come only from this server's environment or .env, never from an argument. */
    static McpTool.Schema privilegeArguments(McpTool.Schema schema) {
        return schema
                .flag("sudo", "Run as root through sudo. When sudo asks for a password, it is VPS_SUDO_PASSWORD from this server's environment "
                        + "or .env (never an argument); without one, fails at once with the fix.")
                .text("sudo_user", "Run as this user through sudo (implies sudo).")
                .flag("su", "Run as root through su, for servers without sudo: root's password is VPS_SU_PASSWORD from this server's environment or .env.");
    }

    /** What ARGS ask the command to run as, for the login user LOGIN. */
    static Privilege privilege(McpArgs args, TargetNames names, String login) {
        return PrivilegeOptions.choose(args.flag("sudo"), args.text("sudo_user"), args.flag("su"), login, names::secret);
    }

    private Map<String, Object> exec(McpArgs args) {
        long start = System.nanoTime();
        String name = names.nameOrDefault(args.target());
        String command = args.requiredText("command");
        Duration timeout = args.duration("timeout", null);
        Duration detachAfter = args.duration("detach_after", DEFAULT_DETACH_AFTER);
        long limit = args.size("max_output", DEFAULT_MAX_OUTPUT, Long.MAX_VALUE);
        if (limit > MAX_OUTPUT_LIMIT) {
            throw VpsException.config("max_output " + limit + " is more than one result holds (" + MAX_OUTPUT_LIMIT + " bytes a stream)",
                    "ask for at most " + MAX_OUTPUT_LIMIT + " (8m); beyond it the output is cut to a head and a tail and every byte "
                            + "stays in the local files named by outputFiles");
        }
        Map<String, String> env = RemoteCommand.parseEnv(args.strings("env").entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList());
        if (limit == 0) {
            throw VpsException.config("max_output 0 would mean unlimited, which one JSON result cannot hold", "give a size such as 1048576");
        }
        String cwd = args.text("cwd");
        OutputCapture stdout = new OutputCapture("stdout", null, limit);
        OutputCapture stderr = new OutputCapture("stderr", null, limit);
        if (args.flag("dry_run")) {
            return plan(args, name, command, env, cwd, timeout, jobId(detachAfter));
        }
        String[] host = {name};
        boolean[] started = {false};
        String jobId = jobId(detachAfter);
        DetachedExec.Result[] detached = {null};
        ExecOutcome outcome;
        try (Heartbeat beat = McpProgress.heartbeat(McpCalls.progress(), "the command", null)) {
            OutputStream out = beat.watch(stdout);
            OutputStream err = beat.watch(stderr);
            outcome = connections.use(McpConfirm.checked(args, names, name, connections,
                    PolicyAction.exec(List.of(command), args.flag("sudo") || args.text("sudo_user") != null || args.flag("su"), env.keySet())), 2, c -> {
                host[0] = c.target.host();
                Privilege asWho = privilege(args, names, c.target.user());
                if (jobId == null && asWho.password() == null) {
                    ExecRunner.requirePrivilege(c, asWho);   // sudo -n: say at once that it wants a password
                }
                RemoteCommand cmd = new RemoteCommand(command, null, env, cwd, asWho, false, timeout);
                started[0] = true;
                if (jobId == null) {
                    return ExecRunner.run(c, cmd, out, err, null);
                }
                // A cancelled call (or a client gone) stops its command: the job is killed, as job_kill does, and job_status says so.
                try (Interrupts.Registration kill = Interrupts.stopping(() -> killJob(c, jobId))) {
                    detached[0] = DetachedExec.run(c, cmd, jobId, detachAfter, out, err,
                            (what, hint) -> log.println("mcp-server: the call was cancelled: its job " + jobId + " is killed"));
                }
                return detached[0].outcome();
            });
        } catch (VpsException e) {
            if (!started[0] || e.kind != VpsException.Kind.NETWORK) {
                throw e;
            }
            Map<String, Object> r = envelope(host[0], command, "failed", null, null, stdout, stderr, start);
            r.put("job", jobId);
            r.put("error", Json.error(lostMidCommand(e, jobId)));
            return r;
        }
        if (detached[0] != null && detached[0].detached()) {
            Map<String, Object> r = envelope(host[0], command, "detached", null, null, stdout, stderr, start);
            r.put("job", jobId);
            r.put("next", detached[0].stdoutNext());
            r.put("nextStderr", detached[0].stderrNext());
            return r;
        }
        if (jobId != null && !Interrupts.happened()) {
            forget(name, jobId);
        }
        Map<String, Object> r = envelope(host[0], command, outcome.status(), outcome.exitCode(), outcome.signal(), stdout, stderr, start);
        if (jobId != null && Interrupts.happened()) {
            r.put("job", jobId);   // killed by the cancel: kept, so that job_status reports it
        }
        VpsException problem = outcome.problem(timeout);
        r.put("error", problem == null ? null : Json.error(problem));
        return r;
    }

    /** job_kill's TERM, from a stop: in a scope of its own, since the interrupted one starts no new command. */
    private static void killJob(VpsConnection c, String jobId) {
        try (Interrupts.Registration own = Interrupts.enter(Interrupts.newScope())) {
            new Jobs(c).kill(jobId, "TERM");
        }
    }

    private static String jobId(Duration detachAfter) {
        return detachAfter.isZero() ? null : Jobs.newId();
    }

    /** dry_run: the request exec would send, as exec-command --dry-run --json shows it; nothing connects. */
    private Map<String, Object> plan(McpArgs args, String name, String command, Map<String, String> env, String cwd, Duration timeout, String jobId) {
        Target t = names.resolve(name);
        RemoteCommand cmd = new RemoteCommand(command, null, env, cwd, privilege(args, names, t.user()), false, timeout);
        DryRun.Request request = jobId == null ? DryRun.request(cmd) : DryRun.jobRequest(cmd, jobId);
        return DryRun.toJson(t, List.of(request), DryRun.notes(cmd, List.of()),
                Guard.describe(Guard.decide(t, List.of(), PolicyAction.exec(List.of(command), args.flag("sudo") || args.text("sudo_user") != null
                        || args.flag("su"), env.keySet()))));
    }

    /**
     * A command that ended in time left nothing to fetch (its whole output is in the result, or in
     * local outputFiles): its job folder goes, off the caller's clock, so that job_list shows real jobs.
     */
    private void forget(String name, String jobId) {
        cleaner.execute(() -> {
            // The cleaner's thread inherited the scope of the call that created it: each removal runs in a scope of its own.
            try (Interrupts.Registration own = Interrupts.enter(Interrupts.newScope())) {
                connections.use(names.resolveFor(name, connections), 1, c -> {
                    new Jobs(c).remove(jobId);
                    return null;
                });
            } catch (VpsException e) {
                log.println("vps: could not remove the finished job " + jobId + ": " + e.getMessage());
            }
        });
    }

    /** The link dropped after the command may have started: it is never run again, and the error says where to look. */
    private static VpsException lostMidCommand(VpsException e, String jobId) {
        String where = jobId == null ? "it may have run in part or in full, or may still be running"
                : "if it started, it runs on as job " + jobId;
        String next = jobId == null ? "check on the server what it changed before running it again"
                : "call job_wait with id " + jobId + " (then job_logs) to see whether it started and how it ends";
        return new VpsException(VpsException.Kind.NETWORK, e.getMessage() + "; the command was NOT run again: " + where,
                next + "; the next call reconnects by itself", true, e);
    }

    private static Map<String, Object> envelope(String host, String command, String status, Integer exitCode, String signal,
                                                OutputCapture stdout, OutputCapture stderr, long start) {
        try {
            stdout.finish();
            stderr.finish();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, Object> r = Json.envelope(host, command, status, exitCode, (System.nanoTime() - start) / 1_000_000, null);
        r.put("signal", signal);
        OutputCapture.putAll(r, List.of(stdout, stderr));
        return r;
    }
}
