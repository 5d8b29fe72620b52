import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * One host's output while many hosts run: {@link #prefixed} writes whole lines `NAME: line` to a
 * shared stream (a line is never cut by another host's; a last partial line comes out at close),
 * {@link #captured} keeps a bounded copy for --group and --json.
 */
final class HostOutput {
    /** A line longer than this is written in pieces (each prefixed) to keep memory bounded. */
    static final int MAX_LINE = 64 * 1024;
    /** What a captured stream keeps per host (--group, --json) at most; the rest is counted, not kept. */
    static final int MAX_CAPTURE = 1 << 20;
    /** What a captured stream keeps at least, however many hosts there are. */
    static final int MIN_CAPTURE = 64 * 1024;
    /** What all hosts' captured streams keep together at most (stdout and stderr of every host). */
    static final long ALL_CAPTURES = 128L << 20;

    private HostOutput() {}

    /** A stream that writes `NAME: line` to TARGET for each line written to it. */
    static OutputStream prefixed(String name, PrintStream target) {
        return new Prefixer(name, target);
    }

    /** A stream that keeps at most LIMIT bytes; {@link Capture#text()} notes what it left out. */
    static Capture captured(int limit) {
        return new Capture(limit);
    }

    /** What each of HOSTS hosts' two captured streams may keep, so that all of them stay within ALL_CAPTURES. */
    static int captureLimit(int hosts) {
        long share = ALL_CAPTURES / (2L * Math.max(1, hosts));
        return (int) Math.max(MIN_CAPTURE, Math.min(MAX_CAPTURE, share));
    }

    private static final class Prefixer extends OutputStream {
        private final byte[] prefix;
        private final PrintStream target;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        Prefixer(String name, PrintStream target) {
            this.prefix = (name + ": ").getBytes(StandardCharsets.UTF_8);
            this.target = target;
        }

        @Override
        public synchronized void write(int b) {
            line.write(b);
            if (b == '\n' || line.size() >= MAX_LINE) {
                emit();
            }
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            int from = off;
            for (int i = off; i < off + len; i++) {
                if (b[i] == '\n' || line.size() + (i - from + 1) >= MAX_LINE) {
                    line.write(b, from, i - from + 1);
                    emit();
                    from = i + 1;
                }
            }
            line.write(b, from, off + len - from);
        }

        private void emit() {
            byte[] bytes = line.toByteArray();
            line.reset();
            synchronized (target) {   // one host's line whole, never interleaved with another's
                target.write(prefix, 0, prefix.length);
                target.write(bytes, 0, bytes.length);
                if (bytes[bytes.length - 1] != '\n') {
                    target.write('\n');
                }
                target.flush();
            }
        }

        @Override
        public synchronized void close() {
            if (line.size() > 0) {
                emit();
            }
        }
    }

    static final class Capture extends OutputStream {
        private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
        private final int limit;
        private long dropped;

        private Capture(int limit) {
            this.limit = limit;
        }

        @Override
        public synchronized void write(int b) {
            if (kept.size() < limit) {
                kept.write(b);
            } else {
                dropped++;
            }
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            int keep = Math.max(0, Math.min(len, limit - kept.size()));
            kept.write(b, off, keep);
            dropped += len - keep;
        }

        synchronized String text() {
            String text = kept.toString(StandardCharsets.UTF_8);
            return dropped == 0 ? text : text + "\n[" + dropped + " more bytes not kept: run it on this host alone, or with --json and --max-output]\n";
        }
    }
}
