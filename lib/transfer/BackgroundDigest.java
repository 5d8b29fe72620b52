import java.security.MessageDigest;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * SHA-256 computed on its own thread while the transfer thread moves the bytes, so hashing
 * costs no wall time on a multi-core machine. Chunks are copied (the caller reuses its buffer)
 * into a few batch buffers that go round between the two threads: a fresh array per batch made
 * the transfer allocate as many bytes again as it moved, and the GC work and fresh pages that
 * cost were a tenth of a cold 256 MiB download's time.
 */
final class BackgroundDigest implements AutoCloseable {
    private final MessageDigest digest = Sha256.digest();
    private final ExecutorService thread = Executors.newSingleThreadExecutor(Daemons.named("vps-sha256"));
    /** Chunks are gathered to 1 MiB before they are handed over: a task per 32 KiB packet costs more than it saves. */
    private static final int BATCH = 1 << 20;
    /** Batches that may wait for the hashing thread: the transfer waits when it is this far ahead. */
    private static final int BATCHES = 4;
    private final BlockingQueue<byte[]> free = new ArrayBlockingQueue<>(BATCHES);
    private byte[] pending = new byte[BATCH];
    private int pendingLength;
    /** Batch buffers made so far (the first one included). */
    private int allocated = 1;
    private Future<?> last;

    void update(byte[] buf, int off, int len) {
        while (len > 0) {
            int n = Math.min(len, BATCH - pendingLength);
            System.arraycopy(buf, off, pending, pendingLength, n);
            pendingLength += n;
            off += n;
            len -= n;
            if (pendingLength == BATCH) {
                handOver();
            }
        }
    }

    private void handOver() {
        submit();
        pending = freeBatch();
    }

    /** Queues the pending batch for the hashing thread, which puts the buffer back in FREE when done. */
    private void submit() {
        byte[] full = pending;
        int length = pendingLength;
        last = thread.submit(() -> {
            try {
                digest.update(full, 0, length);
            } finally {
                free.add(full);
            }
        });
        pendingLength = 0;
    }

    /** A buffer the hashing thread is done with; a new one while fewer than BATCHES exist; else the next to come free. */
    private byte[] freeBatch() {
        byte[] next = free.poll();
        if (next == null && allocated < BATCHES) {
            allocated++;
            next = new byte[BATCH];
        }
        try {
            return next != null ? next : free.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while hashing", e);
        }
    }

    /** Waits for every queued chunk and returns the hex digest (the last call: no buffer is made ready for more). */
    String hex() {
        try {
            if (pendingLength > 0) {
                submit();
            }
            if (last != null) {
                last.get();
            }
            return Sha256.hex(digest);
        } catch (Exception e) {
            throw new IllegalStateException("hashing failed", e);
        }
    }

    @Override
    public void close() {
        thread.shutdownNow();
        try {
            thread.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
