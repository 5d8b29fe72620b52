import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;

/**
 * Tells when mcp-server's client went away: its stdin ended, a write to its stdout failed (EPIPE),
 * or the process that started this one ended. The last catches a client killed while its pipes
 * live on in other processes (a shell pipeline's other members): stdin then never ends, and a
 * stdout nobody reads blocks the writer for ever instead of failing.
 */
final class McpClientLifetime {
    private static final long PARENT_POLL_MS = 1_000;

    private final CountDownLatch gone = new CountDownLatch(1);
    private volatile String why;

    /** IN, whose end (or a read error) means the client is gone. */
    InputStream watch(InputStream in) {
        return new FilterInputStream(in) {
            @Override
            public int read() throws IOException {
                return ended(guarded(super::read));
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return ended(guarded(() -> super.read(b, off, len)));
            }

            private int ended(int n) {
                if (n < 0) {
                    gone("its end of stdin closed");
                }
                return n;
            }
        };
    }

    /** OUT, where a failed write (the client closed its end) means the client is gone. */
    OutputStream watch(OutputStream out) {
        return new FilterOutputStream(out) {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                try {
                    out.write(b, off, len);
                } catch (IOException e) {
                    gone("stdout broke (" + e.getMessage() + ")");
                    throw e;
                }
            }

            @Override
            public void flush() throws IOException {
                try {
                    out.flush();
                } catch (IOException e) {
                    gone("stdout broke (" + e.getMessage() + ")");
                    throw e;
                }
            }
        };
    }

    /** Watches the parent process (every second); nothing when it is already init (no client to outlive). */
    void watchParent() {
        Optional<ProcessHandle> parent = ProcessHandle.current().parent();
        if (parent.isEmpty() || parent.get().pid() == 1) {
            return;
        }
        ProcessHandle client = parent.get();
        Daemons.start("vps-mcp-parent", () -> {
            try {
                while (client.isAlive()) {
                    Thread.sleep(PARENT_POLL_MS);
                }
                gone("its parent process " + client.pid() + " ended");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    /** Waits until the client is gone; returns why. */
    String await() throws InterruptedException {
        gone.await();
        return why;
    }

    private synchronized void gone(String reason) {
        if (why == null) {
            why = reason;
        }
        gone.countDown();
    }

    private interface Read {
        int read() throws IOException;
    }

    private int guarded(Read read) throws IOException {
        try {
            return read.read();
        } catch (IOException e) {
            gone("stdin broke (" + e.getMessage() + ")");
            throw e;
        }
    }
}
