import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Where a transfer of an mcp-server call reports, through a {@link TransferProgress.Feed} (as a
 * connection holder's client once did): its progress frames become notifications/progress, at
 * most one a heartbeat, when the client asked for them; once the call is cancelled ({@link #cancel})
 * the transfer stops at its next packet. Any other line goes to the log.
 */
final class McpTransferFeed extends OutputStream {
    final TransferProgress.Feed feed = new TransferProgress.Feed(this);
    private final PrintStream log;
    private final McpProgress progress;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private long total = -1;
    private long done;
    private long lastSent;

    /** PROGRESS: null when the client did not ask for it. */
    McpTransferFeed(PrintStream log, McpProgress progress) {
        this.log = log;
        this.progress = progress;
    }

    void cancel() {
        feed.cancelled = true;
    }

    /**
     * Runs TRANSFER (an Uploader's or Downloader's, reporting to the feed it is given) for the call on this thread:
     * its progress reaches the client when asked for, and a cancelled call stops it at its next packet.
     */
    static java.util.List<TransferResult> run(PrintStream log, java.util.function.Function<PrintStream, java.util.List<TransferResult>> transfer) {
        McpTransferFeed sink = new McpTransferFeed(log, McpCalls.progress());
        try (Interrupts.Registration stop = Interrupts.stopping(sink::cancel)) {
            return transfer.apply(sink.feed);
        }
    }

    @Override
    public void write(int b) {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            if (b[i] == '\n') {
                lineEnded(line.toString(StandardCharsets.UTF_8));
                line.reset();
            } else {
                line.write(b[i]);
            }
        }
    }

    private void lineEnded(String text) {
        if (!TransferProgress.fromFeed(text, t -> total = t, b -> done += b)) {
            log.println(text);
            return;
        }
        long now = System.nanoTime();
        if (progress != null && done > 0 && now - lastSent >= McpProgress.every().toNanos()) {
            lastSent = now;
            progress.transferred(done, total, TransferProgress.mib(done) + (total >= 0 ? " of " + TransferProgress.mib(total) : "") + " sent");
        }
    }
}
