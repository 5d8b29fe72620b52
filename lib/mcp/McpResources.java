import io.modelcontextprotocol.server.McpServerFeatures.SyncResourceTemplateSpecification;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.server.McpSyncServerExchange;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.ByteArrayOutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A job's log and a session's buffer as MCP resources, vps://TARGET/jobs/ID/log and
 * vps://TARGET/sessions/ID/buffer: a read returns the newest output (at most the last MiB). A
 * client that subscribes gets notifications/resources/updated when new output arrived or the job
 * or session ended: this server polls each subscribed one (its size and status) at the heartbeat,
 * at most every {@link #MAX_POLL}, so that the client follows without polling itself.
 */
final class McpResources {
    static final int TAIL = 1 << 20;
    static final Duration MAX_POLL = Duration.ofSeconds(2);
    private static final Pattern URI = Pattern.compile("vps://([^/]+)/(?:jobs/([^/]+)/log|sessions/([^/]+)/buffer)");
    /** Subscribed URIs and what was last seen of each ("STATUS BYTES"; "" before the first poll). */
    private static final Map<String, String> SUBSCRIBED = new ConcurrentHashMap<>();
    /** What the client saw of each URI it read: a subscription after a read is told of anything newer than that. */
    private static final Map<String, String> READ = new ConcurrentHashMap<>();

    private final TargetNames names;
    private final SessionPool connections;

    McpResources(TargetNames names, SessionPool connections) {
        this.names = names;
        this.connections = connections;
    }

    /** What a resource URI names: the target, and a job or a session. */
    private record Where(String uri, String target, String job, String session) {
        static Where of(String uri) {
            Matcher m = uri == null ? null : URI.matcher(uri);
            if (m == null || !m.matches()) {
                throw McpError.RESOURCE_NOT_FOUND.apply(uri);
            }
            return new Where(uri, URLDecoder.decode(m.group(1), StandardCharsets.UTF_8), m.group(2), m.group(3));
        }
    }

    List<SyncResourceTemplateSpecification> templates() {
        return List.of(
                new SyncResourceTemplateSpecification(McpSchema.ResourceTemplate.builder().uriTemplate("vps://{target}/jobs/{id}/log")
                        .name("job-log").title("A job's output").mimeType("text/plain")
                        .description("The stdout of job ID (job_start, or an exec that detached) on TARGET (a name as 'target' takes): its newest "
                                + TAIL / 1024 + " KiB. Subscribe to be told when new output arrives or the job ends; job_logs reads from an offset.")
                        .build(), this::read),
                new SyncResourceTemplateSpecification(McpSchema.ResourceTemplate.builder().uriTemplate("vps://{target}/sessions/{id}/buffer")
                        .name("session-buffer").title("A session's output").mimeType("text/plain")
                        .description("The output of session ID (session_open) on TARGET: its newest " + TAIL / 1024 + " KiB, stdout and stderr "
                                + "merged. Subscribe to be told when new output arrives or the session ends; session_read reads from an offset.")
                        .build(), this::read));
    }

    /** resources/subscribe came in (the SDK keeps who is subscribed; this server needs what to poll). */
    static void subscribed(String uri) {
        if (uri != null && URI.matcher(uri).matches()) {
            SUBSCRIBED.putIfAbsent(uri, READ.getOrDefault(uri, ""));
        }
    }

    static void unsubscribed(String uri) {
        if (uri != null) {
            SUBSCRIBED.remove(uri);
        }
    }

    /** Polls the subscribed resources for SERVER's clients until the process ends. */
    void follow(McpSyncServer server) {
        long pollMs = Math.max(100, Math.min(McpProgress.every().toMillis() > 0 ? McpProgress.every().toMillis() : Long.MAX_VALUE, MAX_POLL.toMillis()));
        Daemons.start("vps-mcp-resources", () -> {
            try (Interrupts.Registration own = Interrupts.enter(Interrupts.newScope())) {
                while (true) {
                    Thread.sleep(pollMs);
                    SUBSCRIBED.forEach((uri, seen) -> {
                        String now = state(Where.of(uri));
                        if (now != null && !now.equals(seen) && SUBSCRIBED.replace(uri, seen, now) && !seen.isEmpty()) {
                            server.notifyResourcesUpdated(new McpSchema.ResourcesUpdatedNotification(uri));
                        }
                    });
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    /** The status and size of what W names; null when it cannot be seen now (the next poll tries again). */
    private String state(Where w) {
        try {
            return connections.useRepeatable(names.resolveFor(w.target(), connections), 1, c -> {
                if (w.job() != null) {
                    Jobs.Status s = new Jobs(c).status(w.job());
                    return s.status() + " " + s.stdoutBytes();
                }
                Sessions.Status s = new Sessions(c).status(w.session());
                return s.status() + " " + s.outputBytes();
            });
        } catch (VpsException | McpError e) {
            return null;
        }
    }

    /** resources/read, audited as a tool call is ("read_resource"). */
    private McpSchema.ReadResourceResult read(McpSyncServerExchange exchange, McpSchema.ReadResourceRequest request) {
        long start = System.nanoTime();
        Where w = Where.of(request.uri());
        Audit.newCall();
        Audit audit = Audit.ofTool("read_resource", Map.of("target", w.target(), "path", w.uri()));   // the audit line names the URI as its path
        Map<String, Object> envelope = Json.envelope(null, "read_resource " + w.uri(), "exited", 0, 0, null);
        try {
            Tail tail = connections.useRepeatable(names.resolveFor(w.target(), connections), 1, c -> {
                envelope.put("host", c.target.host());
                return w.job() != null ? jobTail(c, w.job()) : sessionTail(c, w.session());
            });
            if (READ.size() > 10_000) {
                READ.clear();   // bounded: a lost entry only means a first poll without a notification
            }
            READ.put(w.uri(), tail.state());
            return new McpSchema.ReadResourceResult(List.of(new McpSchema.TextResourceContents(w.uri(), "text/plain", tail.text())));
        } catch (VpsException e) {
            envelope.putAll(Json.failure((String) envelope.get("host"), "read_resource " + w.uri(), e, 0));
            throw McpError.builder(McpSchema.ErrorCodes.INTERNAL_ERROR).message("vps: " + e.kind + ": " + e.getMessage()
                    + (e.hint == null ? "" : "\nhint: " + e.hint)).data(Json.error(e)).build();
        } finally {
            envelope.put("durationMs", (System.nanoTime() - start) / 1_000_000);
            audit.endTool(envelope, System.err);
        }
    }

    /** The newest output of a job or session, and its state when read ("STATUS BYTES", as the poll compares). */
    private record Tail(String text, String state) {}

    private static Tail jobTail(VpsConnection c, String id) {
        Jobs jobs = new Jobs(c);
        Jobs.Status s = jobs.status(id);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        jobs.logs(id, false, Math.max(0, s.stdoutBytes() - TAIL), TAIL, out);
        return new Tail(out.toString(StandardCharsets.UTF_8), s.status() + " " + s.stdoutBytes());
    }

    private static Tail sessionTail(VpsConnection c, String id) {
        Sessions sessions = new Sessions(c);
        Sessions.Status s = sessions.status(id);
        String text = sessions.read(id, Math.max(0, s.outputBytes() - TAIL), null, Duration.ZERO, TAIL).text();
        return new Tail(text, s.status() + " " + s.outputBytes());
    }
}
