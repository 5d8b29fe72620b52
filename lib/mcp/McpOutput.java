import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON Schema of what a tool returns (its outputSchema, which its structuredContent matches):
 * DESIGN §5's envelope, the tool's own fields, and, for a tool that takes "targets", the set's
 * (hosts, groups, summary). Fields may be added later: the schemas do not forbid others.
 */
final class McpOutput {
    private final Map<String, Object> properties = new LinkedHashMap<>();
    private final List<String> required = new ArrayList<>();

    private McpOutput() {}

    private static final Map<String, Object> ERROR = Map.of(
            "description", "Set when the call failed: what happened and what to do (do what the hint says before retrying).",
            "anyOf", List.of(Map.of("type", "object",
                    "properties", Map.of("kind", Map.of("type", "string", "description", "CONFIG, AUTH, HOSTKEY, NETWORK, TIMEOUT, REMOTE, PROTOCOL, POLICY or INTERRUPTED."),
                            "message", Map.of("type", "string"), "hint", nullable("string"), "retriable", Map.of("type", "boolean")),
                    "required", List.of("kind", "message")), Map.of("type", "null")));

    /** DESIGN §5's envelope: host, command, status, exitCode, signal, stdout, stderr, truncated, durationMs, job, error. */
    static McpOutput envelope() {
        McpOutput o = new McpOutput()
                .field("host", "The server's host (null when none was resolved).", "string", "null")
                .field("command", "What ran: the command, or the tool and its path or id.", "string", "null")
                .field("status", "exited, failed, timed_out, detached, running, killed, lost, closed ...", "string")
                .field("exitCode", "The command's own exit status (null when it has none).", "integer", "null")
                .field("signal", "The signal that ended the command, without SIG (null when none).", "string", "null")
                .field("stdout", "The command's standard output (cut to a head and a tail when truncated).", "string")
                .field("stderr", "The command's standard error.", "string")
                .field("truncated", "Whether stdout or stderr was cut.", "boolean")
                .field("durationMs", "How long the call took.", "integer")
                .field("job", "The job that ran the command, if any: job_wait, job_logs and job_status take it.", "string", "null");
        o.properties.put("error", ERROR);
        return o;
    }

    /** The envelope alone: a tool with no fields of its own. */
    static Map<String, Object> plain() {
        return envelope().build();
    }

    /** exec: the envelope, the local spill files, the offsets to continue a detached command from; a dry_run plan; the set's. */
    static Map<String, Object> exec() {
        return envelope()
                .field("outputFiles", "Local files with every byte of the output (null when nothing was cut).", "array", "null")
                .field("outputFilesCut", "Whether a local output file stopped at its cap.", "boolean")
                .field("next", "After status detached: job_logs' 'from' for the rest of stdout.", "integer")
                .field("nextStderr", "After status detached: job_logs' 'from' (with stderr) for the rest of stderr.", "integer")
                .dryRun().fleet().build();
    }

    /** write_file, upload, download: every file's outcome and the totals. */
    static Map<String, Object> transfer(boolean dryRunAndFleet) {
        McpOutput o = envelope()
                .field("files", "Each file: local, remote, bytes, sent, resumedFrom, sha256, status (done, same, exists, refused ...), reason.", "array")
                .field("bytes", "The files' total size.", "integer")
                .field("sent", "Bytes actually sent (less when resumed or already the same).", "integer")
                .field("sha256", "The SHA-256 of the one file (null for several).", "string", "null")
                .field("rateBytesPerSec", "Bytes sent per second.", "integer", "null");
        if (dryRunAndFleet) {
            o.dryRun().field("folders", "With dry_run: the folders the transfer would create.", "array").fleet();
        } else {
            o.requires("status", "error");
        }
        return o.build();
    }

    static Map<String, Object> readFile() {
        return envelope()
                .field("content", "The file's content: UTF-8 text, or base64 (see encoding).", "string")
                .field("encoding", "utf8 or base64.", "string")
                .field("bytes", "The file's size.", "integer")
                .field("sha256", "The SHA-256 of the content returned.", "string")
                .requires("status", "error").build();
    }

    /** A job's state (job_start, job_status, job_wait, job_kill, job_logs), or the list of them (job_list). */
    static Map<String, Object> job(String... extra) {
        McpOutput o = envelope()
                .field("started", "When the job started (epoch seconds).", "integer", "null")
                .field("stdoutBytes", "How much stdout the job has written so far.", "integer", "null")
                .field("stderrBytes", "How much stderr the job has written so far.", "integer", "null")
                .field("pid", "The job's process (group) id on the server.", "integer", "null")
                .field("orphaned", "The job's runner died but its command runs on.", "boolean", "null");
        for (String field : extra) {
            switch (field) {
                case "created" -> o.field("created", "false: a job with this id already existed, and was not started again.", "boolean");
                case "next" -> o.field("next", "The 'from' of the next job_logs call.", "integer");
                case "jobs" -> o.field("jobs", "Each job: id, status, exitCode, started, output sizes, command.", "array");
                default -> throw new IllegalArgumentException(field);
            }
        }
        return o.requires("status", "error").fleet().build();
    }

    /** session_open, session_send, session_read, session_close. */
    static Map<String, Object> session() {
        return envelope()
                .field("session", "The session id.", "string")
                .field("sent", "How many bytes were typed.", "integer")
                .field("output", "The output read (stdout and stderr merged).", "string")
                .field("from", "Where this read started.", "integer")
                .field("next", "The 'from' of the next session_read.", "integer")
                .field("skipped", "Bytes of older output that were dropped before 'from'.", "integer")
                .field("matched", "With wait_for: whether the output matched.", "boolean", "null")
                .field("more", "Whether more output than max_bytes was waiting.", "boolean")
                .field("closeReason", "Why the session closed.", "string", "null")
                .field("started", "When the session started (epoch seconds).", "integer", "null")
                .field("outputBytes", "How much output the session has made.", "integer", "null")
                .field("pty", "Whether the program has a terminal.", "boolean", "null")
                .field("idleSeconds", "The idle limit.", "integer", "null")
                .requires("status", "error").build();
    }

    static Map<String, Object> listTargets() {
        return envelope()
                .field("targets", "Each target: name, default, source, connected, host, port, user, problem.", "array")
                .requires("status", "error").build();
    }

    static Map<String, Object> diagnoseAuth() {
        return envelope()
                .field("checks", "Each check: name, result (PASS, WARN, FAIL, SKIP) and detail.", "array")
                .field("verdict", "What fails and the exact fix: result, cause, evidence, fix.", "object")
                .field("fix", "With fix_script: script (a POSIX sh script to run as root on the server, or null when none applies) and note.", "object")
                .requires("status", "error").fleet().build();
    }

    /** tunnel_start, tunnel_status, tunnel_stop: a tunnel's state, the list of them, or the ones stopped. */
    static Map<String, Object> tunnel() {
        return envelope()
                .field("tunnel", "The tunnel id: tunnel_status and tunnel_stop take it.", "string")
                .field("since", "When the tunnel entered its status (ISO-8601).", "string", "null")
                .field("target", "The server the tunnel goes through.", "string", "null")
                .field("hostKey", "The server's host-key fingerprint its last login verified.", "string", "null")
                .field("forwards", "Each forward: kind (L, R, D), bind, port (the real one when 0 was asked), destination.", "array", "null")
                .field("bytesIn", "Bytes from the server to local clients.", "integer", "null")
                .field("bytesOut", "Bytes from local clients to the server.", "integer", "null")
                .field("connectionsOpen", "Client connections open now.", "integer", "null")
                .field("connectionsTotal", "Client connections since the start.", "integer", "null")
                .field("reconnects", "How often the tunnel logged in again after a drop.", "integer", "null")
                .field("lastError", "The last error of one connection (e.g. connect failed: HOST:PORT); the tunnel stays up.", "string", "null")
                .field("tunnels", "tunnel_status without id: every tunnel's state.", "array")
                .field("stopped", "tunnel_stop: the ids it stopped.", "array")
                .build();
    }

    /** A field of TYPE, or of TYPE or null ("null" as the second type): anyOf branches, which more clients map than a list of types. */
    private McpOutput field(String name, String description, String... types) {
        Map<String, Object> spec = new LinkedHashMap<>(types.length == 1 ? Map.of("type", types[0]) : nullable(types[0]));
        spec.put("description", description);
        properties.put(name, spec);
        return this;
    }

    private static Map<String, Object> nullable(String type) {
        return Map.of("anyOf", List.of(Map.of("type", type), Map.of("type", "null")));
    }

    private McpOutput requires(String... names) {
        required.addAll(List.of(names));
        return this;
    }

    /** With dry_run: the plan instead of a result. */
    private McpOutput dryRun() {
        return field("dryRun", "Set (true) when this is a dry_run's plan: nothing was sent.", "boolean")
                .field("target", "With dry_run: the resolved target.", "object")
                .field("requests", "With dry_run: each request the call would send.", "array")
                .field("notes", "With dry_run: what else the call would do.", "array")
                .field("policy", "With dry_run: what the owner's policy says of it.", "string", "null");
    }

    /** With targets: each server's own result by name, the groups of identical ones, the summary. */
    private McpOutput fleet() {
        return field("hosts", "With targets: each server's own result, by name.", "object")
                .field("groups", "With targets: servers with identical output and exit code.", "array")
                .field("summary", "With targets: how many servers are ok, failed, unreachable, skipped.", "object");
    }

    private Map<String, Object> build() {
        Map<String, Object> schema = new LinkedHashMap<>();
        schema.put("type", "object");
        schema.put("properties", properties);
        if (!required.isEmpty()) {
            schema.put("required", required);
        }
        return schema;
    }
}
