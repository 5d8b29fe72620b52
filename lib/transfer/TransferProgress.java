import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress of a transfer: a progress bar (me.tongfei:progressbar) when a person watches a
 * terminal; otherwise a line on stderr every few seconds (bytes, rate, ETA), so that an agent's
 * inactivity timer never fires during a long transfer. A transfer that the connection holder runs
 * for a client writes to a {@link Feed} instead: the total and the bytes as they go, for the
 * client to show as it would its own.
 */
final class TransferProgress implements AutoCloseable {
    static final long LINE_EVERY_MS = 5_000;
    private static final long FEED_EVERY_NANOS = 100_000_000L;

    /** The holder's end of a client's stderr: FRAME lines carry progress, any other line is text to print. */
    static final class Feed extends PrintStream {
        static final char FRAME = '\u0001';
        volatile boolean cancelled;

        Feed(java.io.OutputStream clientStderr) {
            super(clientStderr, true, java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    private final PrintStream err;
    private final Feed feed;
    private long fed;
    private long lastFed = System.nanoTime();
    private final long total;
    private final long start = System.nanoTime();
    private final AtomicLong done = new AtomicLong();
    private final ProgressBar bar;
    private final Thread ticker;

    /** @param total bytes expected, or -1 when unknown (stdin) */
    TransferProgress(String task, long total, PrintStream err, boolean quiet) {
        this.err = err;
        this.total = total;
        feed = err instanceof Feed f ? f : null;
        if (feed != null) {
            feed.println(Feed.FRAME + "total " + total);
        }
        boolean terminal = feed == null && !quiet && Environment.stderrIsTerminal(err);
        bar = terminal ? new ProgressBarBuilder().setTaskName(task).setInitialMax(Math.max(total, 0))
                .setStyle(ProgressBarStyle.ASCII).setUnit("MiB", 1 << 20).showSpeed().setConsumer(
                        new me.tongfei.progressbar.ConsoleProgressBarConsumer(err)).build() : null;
        ticker = terminal || quiet || feed != null ? null : Daemons.start("vps-progress", this::tick);
    }

    void add(long bytes) {
        done.addAndGet(bytes);
        if (bar != null) {
            bar.stepBy(bytes);
        }
        if (feed != null) {
            if (feed.cancelled) {
                throw new java.util.concurrent.CancellationException("the client went away");
            }
            sendFeed(false);
        }
    }

    /** At most ten lines a second: a line per 32 KiB packet would cost more than the bytes it reports. */
    private synchronized void sendFeed(boolean last) {
        long now = done.get();
        if (now > fed && (last || System.nanoTime() - lastFed >= FEED_EVERY_NANOS)) {
            feed.println(Feed.FRAME + "+" + (now - fed));
            fed = now;
            lastFed = System.nanoTime();
        }
    }

    /** What a client makes of a line from its holder's feed: true when it was a progress frame. */
    static boolean fromFeed(String line, java.util.function.LongConsumer total, java.util.function.LongConsumer bytes) {
        if (line.isEmpty() || line.charAt(0) != Feed.FRAME) {
            return false;
        }
        try {
            if (line.startsWith("total ", 1)) {
                total.accept(Long.parseLong(line.substring(7)));
            } else if (line.startsWith("+", 1)) {
                bytes.accept(Long.parseLong(line.substring(2)));
            }
        } catch (NumberFormatException ignored) {
            // a frame this version does not know: progress is only for show
        }
        return true;
    }

    long done() {
        return done.get();
    }

    private void tick() {
        try {
            while (true) {
                Thread.sleep(LINE_EVERY_MS);
                err.println(line());
            }
        } catch (InterruptedException stop) {
            // transfer finished
        }
    }

    String line() {
        double seconds = Math.max(0.001, (System.nanoTime() - start) / 1e9);
        long now = done.get();
        double rate = now / seconds;
        StringBuilder s = new StringBuilder("progress: ").append(mib(now));
        if (total >= 0) {
            s.append(" of ").append(mib(total)).append(String.format(Locale.ROOT, " (%d%%)", total == 0 ? 100 : now * 100 / total));
        }
        s.append(", ").append(mib((long) rate)).append("/s");
        if (total > 0 && rate > 0) {
            s.append(", ETA ").append(Math.round((total - now) / rate)).append('s');
        }
        return s.toString();
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

    @Override
    public void close() {
        if (feed != null && !feed.cancelled) {
            sendFeed(true);
        }
        if (ticker != null) {
            ticker.interrupt();
        }
        if (bar != null) {
            bar.close();
        }
    }
}
