import java.security.MessageDigest;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * SHA-256 computed on its own thread while the transfer thread moves the bytes, so hashing
 * costs no wall time on a multi-core machine. Chunks are copied: the caller reuses its buffer.
 */
final class BackgroundDigest implements AutoCloseable {
    private final MessageDigest digest = Sha256.digest();
    private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "vps-sha256");
        t.setDaemon(true);
        return t;
    });
    private Future<?> last;

    void update(byte[] buf, int off, int len) {
        byte[] copy = Arrays.copyOfRange(buf, off, off + len);
        last = thread.submit(() -> digest.update(copy));
    }

    /** Waits for every queued chunk and returns the hex digest. */
    String hex() {
        try {
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
