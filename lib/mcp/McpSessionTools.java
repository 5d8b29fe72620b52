import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** mcp-server's session tools: the `session` command's open, send, read and close on a warm connection, through {@link Sessions}. */
final class McpSessionTools {
    static final long DEFAULT_READ_BYTES = 64 * 1024;

    private final TargetNames names;
    private final SessionPool connections;

    McpSessionTools(TargetNames names, SessionPool connections) {
        this.names = names;
        this.connections = connections;
    }

    List<McpTool> tools() {
        return List.of(
                new McpTool("session_open",
                        "Start an interactive program (sh -i, bash -i, psql, python3 -i, a device's CLI) on the server and return its "
                                + "session id at once. It lives on the server across calls (and dropped connections) until session_close, "
                                + "its exit, or 'idle' without input. Use it for a conversation with a program; for one command use exec, "
                                + "for a known prompt exec-command --expect/--send. Then: session_send, session_read.",
                        new McpTool.Schema()
                                .requiredText("command", "The program to run, e.g. 'sh -i' or 'psql -U app app'.")
                                .flag("pty", "Give it a terminal (120x40, TERM=dumb), for programs that insist on one; the terminal echoes input.")
                                .text("idle", "Close the session after this long without input, e.g. '10m' (default 30m).")
                                .build(),
                        McpOutput.session(), McpTool.Hints.changes("Open an interactive session", true, false), this::open),
                new McpTool("session_send",
                        "Type text into a session's program: exactly these characters, so end with a newline to press Enter "
                                + "(\\u0003 is Ctrl-C with pty). Or send_env: the value of a variable of this server's environment and a "
                                + "newline, for a password prompt; the value is never in any argument, log or result. Then session_read.",
                        new McpTool.Schema()
                                .requiredText("id", "The session id from session_open.")
                                .text("text", "What to type, e.g. 'ls -la\\n'.")
                                .text("send_env", "Instead of text: the name of an environment variable of mcp-server whose value to send.")
                                .build(),
                        McpOutput.session(), McpTool.Hints.changes("Type into a session", true, false), this::send),
                new McpTool("session_read",
                        "Read a session's output (stdout and stderr merged) from byte offset 'from' (default 0); the result's 'next' "
                                + "is the next call's 'from'. With wait_for (a regex, e.g. '\\$ $' for a shell prompt) it waits, at most "
                                + "'max' (default 10s, at most 50s), until the output since 'from' matches: 'matched' says whether it did. "
                                + "status: running, exited (exitCode), closed, lost. 'skipped' > 0: older output was dropped (the last 8 MiB are kept).",
                        new McpTool.Schema()
                                .requiredText("id", "The session id.")
                                .integer("from", "Byte offset to start at: the 'next' of the previous read (default 0).")
                                .text("wait_for", "Wait until the output since 'from' matches this Java regex (MULTILINE).")
                                .text("max", "With wait_for: wait at most this long, e.g. '20s' (default 10s, at most 50s).")
                                .integer("max_bytes", "Return at most this many bytes (default 65536, at most 1048576).")
                                .build(),
                        McpOutput.session(), McpTool.Hints.reads("Read a session's output"), this::read),
                new McpTool("session_close",
                        "Stop a session's program (every process of it) and remove the session with its output. Read what you need first.",
                        new McpTool.Schema().requiredText("id", "The session id.").build(),
                        McpOutput.session(), McpTool.Hints.changes("Close a session", true, true), this::close));
    }

    private Map<String, Object> open(McpArgs args) {
        String command = args.requiredText("command");
        Duration idle = args.duration("idle", Duration.ofMinutes(30));
        if (idle.toMillis() < 1000) {
            throw VpsException.config("idle " + Durations.format(idle) + " is shorter than a second", "give idle '1s' or more (default 30m)");
        }
        String id = Sessions.newId();
        return once(args.withPolicy(PolicyAction.of(PolicyAction.Kind.SESSION_OPEN, List.of(command), false, command)), "session_open", (sessions, r) -> {
            sessions.open(id, command, args.flag("pty"), (idle.toMillis() + 999) / 1000).putInto(r);
            r.put("command", command);
        });
    }

    private Map<String, Object> send(McpArgs args) {
        String id = Sessions.checkId(args.requiredText("id"));
        String text = args.text("text");
        String sendEnv = args.text("send_env");
        byte[] bytes = text != null && sendEnv == null ? text.getBytes(StandardCharsets.UTF_8) : Sessions.input(text, sendEnv);
        String shown = sendEnv != null ? "(the value of " + sendEnv + ")" : "session " + id + ": " + (text == null ? "" : text.strip());
        McpArgs guarded = args.withPolicy(PolicyAction.of(PolicyAction.Kind.SESSION_SEND, text == null ? List.of() : List.of(text), false, shown));
        return once(guarded, "session_send", (sessions, r) -> {
            sessions.send(id, bytes, sendEnv != null);
            r.put("session", id);
            r.put("sent", bytes.length);
        });
    }

    private Map<String, Object> read(McpArgs args) {
        String id = args.requiredText("id");
        long from = args.size("from", 0, Long.MAX_VALUE);
        long maxBytes = args.size("max_bytes", DEFAULT_READ_BYTES, Sessions.MAX_READ);
        String waitFor = args.text("wait_for");
        Duration max = args.duration("max", Duration.ofSeconds(10));
        long start = System.nanoTime();
        return connections.useRepeatable(names.resolveFor(names.nameOrDefault(args.target()), connections), 1, c -> {
            Map<String, Object> r = Sessions.result(c.target.host(), args.label("session_read"));
            Sessions.Reading reading;
            try (Heartbeat beat = McpProgress.heartbeat(waitFor == null ? null : McpCalls.progress(), "session " + id,
                    () -> "waiting for its output to match wait_for, at most " + Durations.format(max))) {
                reading = new Sessions(c).read(id, from, waitFor, max, maxBytes);
            }
            reading.putInto(r);
            VpsException missed = reading.missed(waitFor, max);
            r.put("error", missed == null ? null : Json.error(missed));
            r.put("durationMs", (System.nanoTime() - start) / 1_000_000);
            return r;
        });
    }

    private Map<String, Object> close(McpArgs args) {
        String id = Sessions.checkId(args.requiredText("id"));
        return once(args, "session_close", (sessions, r) -> sessions.close(id).putInto(r));
    }

    private interface SessionWork {
        void run(Sessions sessions, Map<String, Object> result);
    }

    /** Open, send and close run at most once: after a dropped link the agent checks (session_read) before it repeats them. */
    private Map<String, Object> once(McpArgs args, String tool, SessionWork work) {
        long start = System.nanoTime();
        return connections.use(McpConfirm.checked(args, names, names.nameOrDefault(args.target()), connections), 1, c -> {
            Map<String, Object> r = Sessions.result(c.target.host(), args.label(tool));
            work.run(new Sessions(c), r);
            r.put("durationMs", (System.nanoTime() - start) / 1_000_000);
            return r;
        });
    }
}
