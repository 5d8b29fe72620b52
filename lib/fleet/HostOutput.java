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
    /** What a captured stream keeps per host (--group, --json); the rest is counted, not kept. */
    static final int MAX_CAPTURE = 1 << 20;

    private HostOutput() {}

    /** A stream that writes `NAME: line` to TARGET for each line written to it. */
    static OutputStream prefixed(String name, PrintStream target) {
        return new Prefixer(name, target);
    }

    /** A stream that keeps at most MAX_CAPTURE bytes; {@link Capture#text()} notes what it left out. */
    static Capture captured() {
        return new Capture();
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
        private long dropped;

        @Override
        public synchronized void write(int b) {
            if (kept.size() < MAX_CAPTURE) {
                kept.write(b);
            } else {
                dropped++;
            }
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            int keep = Math.max(0, Math.min(len, MAX_CAPTURE - kept.size()));
            kept.write(b, off, keep);
            dropped += len - keep;
        }

        synchronized String text() {
            String text = kept.toString(StandardCharsets.UTF_8);
            return dropped == 0 ? text : text + "\n[" + dropped + " more bytes not kept]\n";
        }
    }
}
