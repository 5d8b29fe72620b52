import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress of a transfer: a progress bar (me.tongfei:progressbar) when a person watches a
 * terminal; otherwise a line on stderr every few seconds (bytes, rate, ETA), so that an agent's
 * inactivity timer never fires during a long transfer.
 */
final class TransferProgress implements AutoCloseable {
    static final long LINE_EVERY_MS = 5_000;

    private final PrintStream err;
    private final long total;
    private final long start = System.nanoTime();
    private final AtomicLong done = new AtomicLong();
    private final ProgressBar bar;
    private final Thread ticker;

    /** @param total bytes expected, or -1 when unknown (stdin) */
    TransferProgress(String task, long total, PrintStream err, boolean quiet) {
        this.err = err;
        this.total = total;
        boolean terminal = !quiet && System.console() != null && err == System.err;
        bar = terminal ? new ProgressBarBuilder().setTaskName(task).setInitialMax(Math.max(total, 0))
                .setStyle(ProgressBarStyle.ASCII).setUnit("MiB", 1 << 20).showSpeed().setConsumer(
                        new me.tongfei.progressbar.ConsoleProgressBarConsumer(err)).build() : null;
        ticker = terminal || quiet ? null : new Thread(this::tick, "vps-progress");
        if (ticker != null) {
            ticker.setDaemon(true);
            ticker.start();
        }
    }

    void add(long bytes) {
        done.addAndGet(bytes);
        if (bar != null) {
            bar.stepBy(bytes);
        }
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
        if (ticker != null) {
            ticker.interrupt();
        }
        if (bar != null) {
            bar.close();
        }
    }
}
