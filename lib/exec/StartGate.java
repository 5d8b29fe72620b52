import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Holds a channel's output until the bootstrap's start marker arrives on stdout. Stdout before
 * it (what a login shell's rc files print, which the command's own shell prints again) is
 * dropped; stderr before it is released with it, or dropped too when the gate is {@link #quiet}
 * (what sudo or su print before the privileged shell starts: su's "Password: " prompt). Without
 * the marker, both become the error's words.
 */
final class StartGate {
    private static final int HOLD_AT_MOST = 64 * 1024;
    private final byte[] marker;
    private final OutputStream out;
    private final OutputStream err;
    private final ByteArrayOutputStream heldOut = new ByteArrayOutputStream();
    private final ByteArrayOutputStream heldErr = new ByteArrayOutputStream();
    private final boolean dropErrBefore;
    private String dropped = "";
    private boolean seen;

    StartGate(String marker, OutputStream out, OutputStream err) {
        this(marker, out, err, false);
    }

    private StartGate(String marker, OutputStream out, OutputStream err, boolean dropErrBefore) {
        this.marker = marker.getBytes(StandardCharsets.US_ASCII);
        this.out = out;
        this.err = err;
        this.dropErrBefore = dropErrBefore;
    }

    /** A gate that also drops what came on stderr before its marker. */
    static StartGate quiet(String marker, OutputStream out, OutputStream err) {
        return new StartGate(marker, out, err, true);
    }

    synchronized boolean seen() {
        return seen;
    }

    /** What the server printed instead of starting the bootstrap, cut to a line's length. */
    synchronized String said() {
        String text = (dropped + heldOut.toString(StandardCharsets.UTF_8) + " " + heldErr.toString(StandardCharsets.UTF_8))
                .replaceAll("\\s+", " ").strip();
        return text.length() > 300 ? text.substring(0, 297) + "..." : text;
    }

    OutputStream stdout() {
        return stream(this::stdoutBytes, out);
    }

    OutputStream stderr() {
        return stream(this::stderrBytes, err);
    }

    private interface Sink {
        void write(byte[] b, int off, int len) throws IOException;
    }

    private static OutputStream stream(Sink sink, OutputStream flushes) {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                sink.write(b, off, len);
            }

            @Override
            public void flush() throws IOException {
                flushes.flush();
            }
        };
    }

    private synchronized void stdoutBytes(byte[] b, int off, int len) throws IOException {
        if (seen) {
            out.write(b, off, len);
            return;
        }
        heldOut.write(b, off, len);
        byte[] held = heldOut.toByteArray();
        int at = indexOf(held, marker);
        if (at >= 0) {
            seen = true;
            heldOut.reset();
            if (dropErrBefore) {
                heldErr.reset();
            } else if (heldErr.size() > 0) {
                heldErr.writeTo(err);
                err.flush();
                heldErr.reset();
            }
            int rest = held.length - at - marker.length;
            if (rest > 0) {
                // Only real bytes: a watcher (heartbeat) counts every write as output.
                out.write(held, at + marker.length, rest);
            }
        } else if (held.length > HOLD_AT_MOST) {
            // Keep what may be the start of the marker; remember only the first words for an error.
            int keep = marker.length - 1;
            if (dropped.isEmpty()) {
                dropped = new String(held, 0, Math.min(held.length, 1024), StandardCharsets.UTF_8);
            }
            heldOut.reset();
            heldOut.write(held, held.length - keep, keep);
        }
    }

    private synchronized void stderrBytes(byte[] b, int off, int len) throws IOException {
        if (seen || heldErr.size() + len > HOLD_AT_MOST) {
            heldErr.writeTo(err);
            heldErr.reset();
            err.write(b, off, len);
            return;
        }
        heldErr.write(b, off, len);
    }

    private static int indexOf(byte[] data, byte[] part) {
        outer:
        for (int i = 0; i + part.length <= data.length; i++) {
            for (int j = 0; j < part.length; j++) {
                if (data[i + j] != part[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
