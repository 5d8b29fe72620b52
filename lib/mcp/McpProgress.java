import io.modelcontextprotocol.server.McpSyncServerExchange;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.PrintStream;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * notifications/progress for a call whose request carries a progressToken. It stands where the CLI
 * writes its progress lines (a {@link Heartbeat}'s after each silent interval: elapsed time, bytes,
 * the last line; a transfer's every few seconds): each such line goes to the client as the message,
 * with the seconds elapsed as the progress, which only grows. Any other line goes to the log.
 */
final class McpProgress extends PrintStream {
    /** The heartbeat interval: mcp-server --heartbeat (default 20s, as exec-command's). */
    private static volatile Duration every = Duration.ofSeconds(20);

    private final McpSyncServerExchange exchange;
    private final Object token;
    private final long start = System.nanoTime();
    private double sent = -1;

    private McpProgress(McpSyncServerExchange exchange, Object token, PrintStream log) {
        super(log, true, java.nio.charset.StandardCharsets.UTF_8);
        this.exchange = exchange;
        this.token = token;
    }

    /** The progress of a call: null when the client did not ask for it (no progressToken). */
    static McpProgress of(McpSyncServerExchange exchange, McpSchema.CallToolRequest request, PrintStream log) {
        Object token = request.progressToken();
        return exchange == null || token == null ? null : new McpProgress(exchange, token, log);
    }

    static void every(Duration interval) {
        every = interval;
    }

    static Duration every() {
        return every;
    }

    /** A heartbeat for WHAT on PROGRESS (null: none, no thread); DETAILS as the Heartbeat takes them. */
    static Heartbeat heartbeat(McpProgress progress, String what, Supplier<String> details) {
        return new Heartbeat(progress, progress == null ? null : every, what, details);
    }

    @Override
    public void println(String line) {
        if (line != null && line.startsWith(Heartbeat.PREFIX)) {
            send(line.substring(Heartbeat.PREFIX.length()));
        } else {
            super.println(line);
        }
    }

    /** A transfer's progress: DONE bytes of TOTAL (-1: unknown), sent only when DONE grew. */
    synchronized void transferred(long done, long total, String message) {
        if (done <= sent) {
            return;
        }
        sent = done;
        deliver(new McpSchema.ProgressNotification(token, (double) done, total >= 0 ? (double) total : null, message));
    }

    private void deliver(McpSchema.ProgressNotification n) {
        try {
            exchange.progressNotification(n);
        } catch (RuntimeException clientGone) {
            // progress is only for show: the call's own result says how it went
        }
    }

    private void send(String message) {
        double elapsed;
        synchronized (this) {
            elapsed = Math.max((System.nanoTime() - start) / 1e9, sent + 0.001);
            sent = elapsed;
        }
        deliver(new McpSchema.ProgressNotification(token, elapsed, null, message));
    }
}
