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

/**
 * Sends part of a local file into a remote file over several SFTP channels at once. One channel
 * carries at most the 2 MiB window sshd grants it per round trip, so over a link with latency
 * four channels move about four times as much. Chunks are read (and hashed) in order and handed
 * to whichever channel is free, never more than LOOKAHEAD past the first unacknowledged one: after
 * an interruption every byte below (remote size - LOOKAHEAD) is written, which is where a rerun
 * starts checking block by block (see Uploader.resumableOffset).
 * <p>
 * Each lane opens the file by its name, so before anything is written the first lane creates it
 * (or reopens the partial the caller checked) and marks it with a random access time, and every
 * other lane checks that the file it opened carries that mark: another user of the server cannot
 * set that time on a file of ours, nor pass a file of theirs for ours. Once every other lane has written
 * its chunks and closed, the first lane sets the file's final attributes on its handle (see
 * SftpWriter.finish) and closes it last.
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

    private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

    private final VpsConnection connection;
    private final String remotePath;
    /** The partial as the caller checked it (null: create it), then as the first lane marked it (null: no other lane). */
    private SftpWriter.Attrs expected;
    /** Counted down by each lane but the first once its file was opened and checked (or could not be): no lane writes before. */
    private java.util.concurrent.CountDownLatch checked;
    private final TransferProgress progress;
    /** Counts each chunk's bytes once all of them were acknowledged. */
    private final SftpWriter.Done chunkDone;
    private final int depth;
    private final BlockingQueue<Chunk> queue = new ArrayBlockingQueue<>(LANES);
    /** Chunk buffers a lane has sent, for the reader to fill again (a fresh 1 MiB array per chunk is garbage the GC must chase). */
    private final BlockingQueue<byte[]> spare = new ArrayBlockingQueue<>(2 * LANES + 2);
    /** Chunks read but not yet acknowledged: offset -> length. */
    private final TreeMap<Long, Integer> unfinished = new TreeMap<>();
    private final List<SftpWriter> writers = new ArrayList<>();
    private volatile Exception failure;

    private StripedUpload(VpsConnection connection, String remotePath, SftpWriter.Attrs expected, int depth, TransferProgress progress) {
        this.connection = connection;
        this.remotePath = remotePath;
        this.expected = expected;
        this.depth = depth;
        this.progress = progress;
        this.chunkDone = offset -> progress.add(acknowledged(offset));
    }

    /**
     * Writes bytes [from, size) of LOCAL (positioned at FROM) to the partial REMOTE, feeding every byte read to
     * DIGEST, with DEPTH write requests in flight on each channel. REMOTE is created (exclusively, mode 0600)
     * when EXPECTED is null, else reopened only while it still is the file EXPECTED describes (else
     * SftpWriter.NotOurs, and nothing was written). Once every byte is written, REMOTE gets LAST through the handle
     * that created or reopened it.
     */
    static void send(VpsConnection connection, String remote, SftpWriter.Attrs expected, InputStream local, long from, long size,
            int depth, BackgroundDigest digest, TransferProgress progress, SftpWriter.Final last) throws IOException, SftpException {
        new StripedUpload(connection, remote, expected, depth, progress).run(local, from, size, digest, last);
    }

    /**
     * Opens the first lane: creates or reopens the partial, then marks it for the other lanes to recognise. A
     * server that does not tell a file's owner and times gives nothing to recognise it by: then the first lane
     * is the only one (expected stays null).
     */
    private SftpWriter openFirst() throws IOException, SftpException {
        SftpWriter first;
        try {
            first = SftpWriter.connect(connection, depth);
        } catch (IOException e) {
            throw new NoLanes(e);
        }
        try {
            SftpWriter.Attrs opened = first.openPartial(remotePath, expected);
            expected = null;
            if (opened.complete()) {
                long mark = 1 + RANDOM.nextInt(Integer.MAX_VALUE - 1);
                first.setTimes(mark, opened.mtime());
                expected = opened.withAtime(mark);
            }
            return first;
        } catch (IOException | SftpException | RuntimeException e) {
            first.close();
            throw e;
        }
    }

    private void run(InputStream local, long from, long size, BackgroundDigest digest, SftpWriter.Final last) throws IOException, SftpException {
        SftpWriter first = openFirst();
        int lanes = expected == null ? 1 : (int) Math.max(1, Math.min(LANES, (size - from + CHUNK - 1) / CHUNK));
        writers.add(first);
        checked = new java.util.concurrent.CountDownLatch(lanes - 1);
        ExecutorService pool = Executors.newFixedThreadPool(lanes, Daemons.named("vps-sftp-lane"));
        List<Future<?>> lanesDone = new ArrayList<>();
        try {
            for (int i = 0; i < lanes; i++) {
                SftpWriter own = i == 0 ? first : null;
                lanesDone.add(pool.submit(() -> {
                    lane(own);
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
            if (failure == null) {
                finishFirst(first, last);
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

    /**
     * Every other lane has closed: the first lane's own writes (maybe still in flight), its final attributes (after
     * the last write, which would move the modification time) and its close go out together.
     */
    private void finishFirst(SftpWriter first, SftpWriter.Final last) {
        try {
            first.finish(chunkDone, last);
        } catch (IOException | SftpException | RuntimeException e) {
            fail(e);
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

    /** One lane: FIRST's writer, or (null) a new channel on which the marked partial is opened and checked. */
    private void lane(SftpWriter first) throws Exception {
        SftpWriter writer = first;
        if (writer == null) {
            try {
                writer = openChecked();
            } finally {
                checked.countDown();
            }
            if (writer == null) {
                return;
            }
        }
        while (failure == null && !checked.await(100, TimeUnit.MILLISECONDS)) {
            // nothing is written until every lane knows it has the right file
        }
        try {
            while (failure == null) {
                Chunk c = queue.poll();
                if (c == null && writer.waiting()) {
                    writer.awaitAck(chunkDone);   // nothing new to send: let the acknowledgements free the reader
                    continue;
                }
                if (c == null) {
                    c = queue.poll(100, TimeUnit.MILLISECONDS);
                }
                if (c == END) {
                    if (first == null) {
                        writer.finish(chunkDone);
                    }
                    return;   // the first lane is finished once the others are (finishFirst)
                }
                if (c != null) {
                    writer.write(c.offset(), c.offset(), c.data(), 0, c.length(), chunkDone);
                    spare.offer(c.data());   // written means copied into the channel's buffers
                }
            }
        } catch (Exception e) {
            fail(e);
            throw e;
        }
    }

    /** Another lane's writer on the checked partial; null when the server refuses one more channel (the others carry the file). */
    private SftpWriter openChecked() throws Exception {
        SftpWriter writer;
        try {
            writer = SftpWriter.connect(connection, depth);
        } catch (IOException e) {
            return null;   // a server at its MaxSessions refuses extra channels
        }
        synchronized (writers) {
            writers.add(writer);
        }
        try {
            writer.openPartial(remotePath, expected);
            return writer;
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
