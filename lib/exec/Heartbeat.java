import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * Keeps an agent's inactivity timer from firing: while a command prints nothing for EVERY, a
 * progress line goes to stderr: elapsed time, bytes so far and the last line of output.
 */
final class Heartbeat implements AutoCloseable {
    /** How every progress line starts. */
    static final String PREFIX = "progress: ";
    private static final int RECENT = 512;

    private final PrintStream err;
    private final long everyNanos;
    private final String what;
    private final Supplier<String> details;
    private final long start = System.nanoTime();
    private final byte[] recent = new byte[RECENT];
    private long bytes;
    private volatile long lastSign = start;
    private final Thread ticker;

    /**
     * @param every   silence that earns a line; null or zero: never (and no thread)
     * @param details what to say about the output; null: bytes and last line of what {@link #watch} saw
     */
    Heartbeat(PrintStream err, Duration every, String what, Supplier<String> details) {
        this.err = err;
        this.everyNanos = every == null ? 0 : every.toNanos();
        this.what = what;
        this.details = details;
        if (everyNanos > 0) {
            ticker = Daemons.start("vps-heartbeat", this::tick);
        } else {
            ticker = null;
        }
    }

    /** TARGET, with every byte written counted as a sign of life. */
    OutputStream watch(OutputStream target) {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                saw(b, off, len);
                target.write(b, off, len);
            }

            @Override
            public void flush() throws IOException {
                target.flush();
            }
        };
    }

    private synchronized void saw(byte[] b, int off, int len) {
        lastSign = System.nanoTime();
        for (int i = Math.max(off, off + len - RECENT); i < off + len; i++) {
            recent[(int) (bytes + i - off) % RECENT] = b[i];
        }
        bytes += len;
    }

    private void tick() {
        long lastBeat = start;
        long pollMs = Math.max(10, Math.min(1000, everyNanos / 4_000_000));
        try {
            while (!Thread.currentThread().isInterrupted()) {
                Thread.sleep(pollMs);
                long now = System.nanoTime();
                long since = Math.max(lastSign, lastBeat);
                if (now - since >= everyNanos) {
                    String line = PREFIX + what + " still running after " + Durations.human(Duration.ofNanos(now - start))
                            + "; " + (details != null ? details.get() : describe(bytes(), lastLine(recentText())));
                    synchronized (err) {
                        err.println(line);
                        err.flush();
                    }
                    lastBeat = now;
                }
            }
        } catch (InterruptedException done) {
            // closed
        } catch (RuntimeException e) {
            // a details supplier that failed (e.g. the link dropped): the caller reports that itself
        }
    }

    static String describe(long bytes, String lastLine) {
        String size = bytes < 1024 ? bytes + " bytes" : String.format(java.util.Locale.ROOT, "%.1f KiB", bytes / 1024.0);
        return size + " of output so far" + (lastLine.isEmpty() ? "" : "; last line: " + lastLine);
    }

    /** The last non-empty line of TEXT, shortened for one progress line. */
    static String lastLine(String text) {
        String[] lines = text.split("\r?\n|\r");
        for (int i = lines.length - 1; i >= 0; i--) {
            String l = lines[i].strip();
            if (!l.isEmpty()) {
                return l.length() > 120 ? l.substring(0, 117) + "..." : l;
            }
        }
        return "";
    }

    private synchronized long bytes() {
        return bytes;
    }

    private synchronized String recentText() {
        int n = (int) Math.min(bytes, RECENT);
        byte[] out = new byte[n];
        for (int i = 0; i < n; i++) {
            out[i] = recent[(int) ((bytes - n + i) % RECENT)];
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        if (ticker != null) {
            ticker.interrupt();
        }
    }
}
