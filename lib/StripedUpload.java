import com.jcraft.jsch.SftpException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Sends part of a local file into a remote file over several SFTP channels at once. One channel
 * carries at most the 2 MiB window sshd grants it per round trip, so over a link with latency
 * four channels move about four times as much. Chunks are read (and hashed) in order and handed
 * to whichever channel is free, never more than LOOKAHEAD past the first unacknowledged one: after
 * an interruption every byte below (remote size - LOOKAHEAD) is written, which is where a rerun
 * starts checking block by block (see Uploader.resumableOffset).
 */
final class StripedUpload {
    static final int LANES = 4;
    static final int CHUNK = 1 << 20;
    static final long LOOKAHEAD = 12L * CHUNK;
    /** Smaller fresh files go through one channel: opening three more costs more than it saves. */
    static final long MIN_BYTES = 16L << 20;

    /** Not one lane could open (the server allows no more channels): nothing was written. */
    static final class NoLanes extends RuntimeException {
        NoLanes(Exception why) {
            super("no SFTP channel could be opened beside the first: " + why.getMessage(), why);
        }
    }

    private record Chunk(long offset, byte[] data, int length) {}

    private static final Chunk END = new Chunk(-1, null, 0);

    private final VpsConnection connection;
    private final String remotePath;
    private final TransferProgress progress;
    private final int depth;
    private final BlockingQueue<Chunk> queue = new ArrayBlockingQueue<>(LANES);
    /** Chunk buffers a lane has sent, for the reader to fill again (a fresh 1 MiB array per chunk is garbage the GC must chase). */
    private final BlockingQueue<byte[]> spare = new ArrayBlockingQueue<>(2 * LANES + 2);
    /** Chunks read but not yet acknowledged: offset -> length. */
    private final TreeMap<Long, Integer> unfinished = new TreeMap<>();
    private final List<SftpWriter> writers = new ArrayList<>();
    private final AtomicInteger unopened = new AtomicInteger();
    private volatile Exception failure;

    private StripedUpload(VpsConnection connection, String remotePath, int depth, TransferProgress progress) {
        this.connection = connection;
        this.remotePath = remotePath;
        this.depth = depth;
        this.progress = progress;
    }

    /**
     * Writes bytes [from, size) of LOCAL (positioned at FROM) to REMOTE, feeding every byte read to DIGEST,
     * with DEPTH write requests in flight on each channel.
     */
    static void send(VpsConnection connection, String remote, InputStream local, long from, long size, int depth,
            BackgroundDigest digest, TransferProgress progress) throws IOException, SftpException {
        new StripedUpload(connection, remote, depth, progress).run(local, from, size, digest);
    }

    private void run(InputStream local, long from, long size, BackgroundDigest digest) throws IOException, SftpException {
        int lanes = (int) Math.max(1, Math.min(LANES, (size - from + CHUNK - 1) / CHUNK));
        ExecutorService pool = Executors.newFixedThreadPool(lanes, r -> {
            Thread t = new Thread(r, "vps-sftp-lane");
            t.setDaemon(true);
            return t;
        });
        List<Future<?>> lanesDone = new ArrayList<>();
        try {
            for (int i = 0; i < lanes; i++) {
                lanesDone.add(pool.submit(() -> {
                    lane(lanes);
                    return null;
                }));
            }
            try {
                produce(local, from, size, digest, lanes);
            } catch (IOException e) {
                fail(e);
            }
            for (Future<?> f : lanesDone) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    fail((Exception) e.getCause());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail(new IOException("interrupted"));
        } finally {
            abortWriters();
            pool.shutdownNow();
        }
        if (failure instanceof SftpException s) {
            throw s;
        }
        if (failure instanceof IOException e) {
            throw e;
        }
        if (failure instanceof RuntimeException e) {
            throw e;   // e.g. the holder's client went away: nothing to report, the partial stays for a rerun
        }
        if (failure != null) {
            throw new IOException(failure.getMessage(), failure);
        }
    }

    private void produce(InputStream local, long from, long size, BackgroundDigest digest, int lanes) throws IOException, InterruptedException {
        for (long offset = from; offset < size && failure == null; ) {
            byte[] data = spare.poll();
            if (data == null) {
                data = new byte[CHUNK];
            }
            int want = (int) Math.min(CHUNK, size - offset);
            int n = local.readNBytes(data, 0, want);
            if (n < want) {
                throw new IOException("the local file shrank while it was being sent");
            }
            digest.update(data, 0, n);
            awaitRoom(offset, n);
            put(new Chunk(offset, data, n));
            offset += n;
        }
        for (int i = 0; i < lanes; i++) {
            put(END);
        }
    }

    private void put(Chunk c) throws InterruptedException {
        while (failure == null && !queue.offer(c, 100, TimeUnit.MILLISECONDS)) {
            // a failed lane stops taking: check again
        }
    }

    /** Holds the reader back while OFFSET is LOOKAHEAD or more past the first unacknowledged chunk. */
    private synchronized void awaitRoom(long offset, int length) throws InterruptedException {
        while (failure == null && !unfinished.isEmpty() && offset - unfinished.firstKey() >= LOOKAHEAD) {
            wait(100);
        }
        unfinished.put(offset, length);
    }

    /** Every request of the chunk at OFFSET was acknowledged: returns its length. */
    private synchronized int acknowledged(long offset) {
        Integer length = unfinished.remove(offset);
        notifyAll();
        return length == null ? 0 : length;
    }

    private void lane(int lanes) throws Exception {
        SftpWriter writer;
        try {
            writer = SftpWriter.open(connection, remotePath, depth);
        } catch (Exception e) {
            // A server at its MaxSessions refuses extra channels: the lanes that did open carry the file.
            if (unopened.incrementAndGet() == lanes) {
                NoLanes none = new NoLanes(e);
                fail(none);
                throw none;
            }
            return;
        }
        synchronized (writers) {
            writers.add(writer);
        }
        try {
            SftpWriter.Done done = offset -> progress.add(acknowledged(offset));
            while (failure == null) {
                Chunk c = queue.poll();
                if (c == null && writer.waiting()) {
                    writer.awaitAck(done);   // nothing new to send: let the acknowledgements free the reader
                    continue;
                }
                if (c == null) {
                    c = queue.poll(100, TimeUnit.MILLISECONDS);
                }
                if (c == END) {
                    writer.finish(done);
                    return;
                }
                if (c != null) {
                    writer.write(c.offset(), c.offset(), c.data(), 0, c.length(), done);
                    spare.offer(c.data());   // written means copied into the channel's buffers
                }
            }
        } catch (Exception e) {
            fail(e);
            throw e;
        }
    }

    private void fail(Exception e) {
        synchronized (this) {
            if (failure == null) {
                failure = e;
            }
            notifyAll();
        }
        abortWriters();
    }

    /** Closing every channel unblocks the lanes still waiting on the server. */
    private void abortWriters() {
        synchronized (writers) {
            writers.forEach(SftpWriter::close);
        }
    }
}
