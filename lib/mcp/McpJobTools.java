import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** mcp-server's job tools: the `job` command's subcommands on a warm connection, through {@link Jobs}. */
final class McpJobTools {
    static final Duration DEFAULT_WAIT = Duration.ofSeconds(30);
    static final Duration MAX_WAIT = Duration.ofMinutes(10);
    static final long DEFAULT_LOG_BYTES = 64 * 1024;
    static final long MAX_LOG_BYTES = 8L << 20;

    private final TargetNames names;
    private final SessionPool connections;
    private final McpFleet fleet;

    McpJobTools(TargetNames names, SessionPool connections) {
        this.names = names;
        this.connections = connections;
        this.fleet = new McpFleet(names);
    }

    /** A job_start on several servers: one id for all of them (the one given, else one new id), so the other job tools take it for the set. */
    private static McpArgs oneId(McpArgs args) {
        return args.with("id", args.text("id") != null ? Jobs.checkId(args.text("id")) : Jobs.newId());
    }

    List<McpTool> tools() {
        return List.of(
                new McpTool("job_start",
                        "Start a long command (apt upgrade, docker build, a migration) detached on the server and return at once "
                                + "with its job id. It survives dropped connections and this session's end; its output is kept on the "
                                + "server. Give an id (your idempotency key) and repeating the call never runs the command twice. "
                                + "Then: job_wait (loop while status is running), job_logs with from = next. With targets, every server's job "
                                + "gets the same id, so job_wait, job_logs and the others take it with the same targets.",
                        McpExecTool.privilegeArguments(new McpTool.Schema()
                                .requiredText("command", "The shell command line to run.")
                                .text("id", "Job id: letters, digits, '.', '_', '-' (up to 64). Default: a new unique id."))
                                .fleet().build(),
                        McpOutput.job("created"), McpTool.Hints.changes("Start a job", true, false), fleet.each("job_start", McpJobTools::oneId, this::start)),
                new McpTool("job_status",
                        "Say whether a job is running, exited (with exitCode), killed, or lost (its server rebooted or its runner died).",
                        new McpTool.Schema().requiredText("id", "The job id.").fleet().build(),
                        McpOutput.job(), McpTool.Hints.reads("A job's status"), fleet.each("job_status", this::status)),
                new McpTool("job_logs",
                        "Read a job's output from byte offset 'from' (default 0), at most max_bytes (default 64 KiB). The result's "
                                + "'next' is the offset to pass as 'from' next time: no gap, no repeated byte. Read it while the job runs "
                                + "or after it ended.",
                        new McpTool.Schema()
                                .requiredText("id", "The job id.")
                                .integer("from", "Byte offset to start at: the 'next' of the previous call (default 0).")
                                .flag("stderr", "Read the job's stderr instead of its stdout.")
                                .integer("max_bytes", "Return at most this many bytes (default 65536, at most 8388608).")
                                .fleet().build(),
                        McpOutput.job("next"), McpTool.Hints.reads("Read a job's output"), fleet.each("job_logs", this::logs)),
                new McpTool("job_wait",
                        "Wait until a job ends, at most 'max' (default 30s, at most 10m), and return its status and exitCode. "
                                + "status 'running' means it still runs: call job_wait again.",
                        new McpTool.Schema()
                                .requiredText("id", "The job id.")
                                .text("max", "Wait at most this long, e.g. '30s', '2m' (default 30s).")
                                .fleet().build(),
                        McpOutput.job(), McpTool.Hints.reads("Wait for a job"), fleet.each("job_wait", this::await)),
                new McpTool("job_kill",
                        "Send a signal (default TERM) to a job's whole process group and return its status (killed, or exited if it "
                                + "had already ended).",
                        new McpTool.Schema()
                                .requiredText("id", "The job id.")
                                .text("signal", "TERM (default), KILL, INT, HUP, ...")
                                .fleet().build(),
                        McpOutput.job(), McpTool.Hints.changes("Kill a job", true, true), fleet.each("job_kill", this::kill)),
                new McpTool("job_list",
                        "List the jobs on the server: id, status, exitCode, start time (epoch seconds), output sizes and command.",
                        new McpTool.Schema().fleet().build(),
                        McpOutput.job("jobs"), McpTool.Hints.reads("List jobs"), fleet.each("job_list", this::list)));
    }

    private Map<String, Object> start(McpArgs args) {
        String command = args.requiredText("command");
        // Chosen before the first try, so that repeating the call after a dropped link finds the same job.
        String id = args.text("id") != null ? Jobs.checkId(args.text("id")) : Jobs.newId();
        McpArgs guarded = args.withPolicy(PolicyAction.of(PolicyAction.Kind.JOB_START, List.of(command),
                args.flag("sudo") || args.text("sudo_user") != null || args.flag("su"), command));
        return withJobs(guarded, "job_start", (jobs, r) -> {
            boolean created = jobs.start(id, command, null, McpExecTool.privilege(args, names, jobs.login()));
            jobs.status(id).putInto(r);
            r.put("command", command);
            r.put("created", created);
        });
    }

    private Map<String, Object> status(McpArgs args) {
        String id = args.requiredText("id");
        return withJobs(args, "job_status", (jobs, r) -> jobs.status(id).putInto(r));
    }

    private Map<String, Object> logs(McpArgs args) {
        String id = args.requiredText("id");
        long from = args.size("from", 0, Long.MAX_VALUE);
        long max = args.size("max_bytes", DEFAULT_LOG_BYTES, MAX_LOG_BYTES);
        boolean stderr = args.flag("stderr");
        return withJobs(args, "job_logs", (jobs, r) -> {
            Jobs.Status s = jobs.status(id);
            ByteArrayOutputStream buffer = new ByteArrayOutputStream();
            jobs.logs(id, stderr, from, max + 3, buffer);   // 3 more: enough to see where the last character ends
            byte[] bytes = buffer.toByteArray();
            int kept = bytes.length <= max ? bytes.length : utf8Boundary(bytes, (int) max);
            s.putInto(r);
            r.put("stdout", new String(bytes, 0, kept, StandardCharsets.UTF_8));
            r.put("truncated", kept < bytes.length);
            r.put("next", from + kept);
        });
    }

    private Map<String, Object> await(McpArgs args) {
        String id = args.requiredText("id");
        Duration max = args.duration("max", DEFAULT_WAIT);
        if (max.compareTo(MAX_WAIT) > 0) {
            throw VpsException.config("max " + Durations.format(max) + " is longer than " + Durations.format(MAX_WAIT),
                    "wait in several calls of at most 10m");
        }
        return withJobs(args, "job_wait", (jobs, r) -> {
            try (Heartbeat beat = McpProgress.heartbeat(McpCalls.progress(), "job " + id, () -> "waiting for it to end, at most " + Durations.format(max))) {
                jobs.awaitEnd(id, max, 500).putInto(r);
            }
        });
    }

    private Map<String, Object> kill(McpArgs args) {
        String id = args.requiredText("id");
        String signal = args.text("signal") == null ? "TERM" : args.text("signal").toUpperCase().replaceFirst("^SIG", "");
        return withJobs(args, "job_kill", (jobs, r) -> {
            jobs.kill(id, signal);
            jobs.awaitEnd(id, Duration.ofSeconds(5), 200).putInto(r);
        });
    }

    private Map<String, Object> list(McpArgs args) {
        return withJobs(args, "job_list", (jobs, r) -> r.put("jobs", jobs.list().stream().map(Jobs.Status::toJson).toList()));
    }

    private interface JobWork {
        void run(Jobs jobs, Map<String, Object> result);
    }

    /** Every job call is safe to repeat after a dropped link: ids make starts idempotent, the rest only read or signal. */
    private Map<String, Object> withJobs(McpArgs args, String tool, JobWork work) {
        long start = System.nanoTime();
        return connections.useRepeatable(McpConfirm.checked(args, names, names.nameOrDefault(args.target()), connections), 1, c -> {
            Map<String, Object> r = Json.envelope(c.target.host(), args.label(tool), "exited", 0, 0, null);
            work.run(new Jobs(c), r);
            r.put("durationMs", (System.nanoTime() - start) / 1_000_000);
            return r;
        });
    }

    /** The largest length up to MAX that does not split a UTF-8 sequence (the next call starts at a character). */
    static int utf8Boundary(byte[] bytes, int max) {
        int end = max;
        while (end > 0 && end > max - 4 && (bytes[end] & 0xC0) == 0x80) {
            end--;
        }
        return end > max - 4 ? end : max;
    }
}
