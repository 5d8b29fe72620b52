import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;

/**
 * A FIFO between JSch's session thread (the writer) and a pump thread (the reader) whose write
 * never blocks: JSch writes every channel's data on its one session thread, so a consumer that
 * does not read must not make that write wait, or every other channel of the connection stalls.
 * Up to {@link #MEMORY_LIMIT} bytes stay in memory; beyond it the data goes to a private file
 * (deleted when closed) until the reader catches up. Past {@link #SPILL_LIMIT} the write fails,
 * which makes JSch drop this one channel rather than fill the disk. A process killed outright
 * leaves its file behind: such leftovers older than {@link #LEFTOVER_AGE} go when a new one starts.
 */
final class SpillBuffer {
    static final int MEMORY_LIMIT = 1 << 20;
    static final long SPILL_LIMIT = 1L << 30;
    static final java.time.Duration LEFTOVER_AGE = java.time.Duration.ofHours(24);
    private static final String PREFIX = "spill";
    private static final String SUFFIX = ".tmp";

    private final Path spillDir;
    private final ArrayDeque<byte[]> memory = new ArrayDeque<>();
    private int headOffset;
    private long memoryBytes;
    private FileChannel file;
    private long fileWrite;
    private long fileRead;
    private boolean eof;
    private boolean abandoned;

    SpillBuffer(Path spillDir) {
        this.spillDir = spillDir;
    }

    /** The writer's end, for JSch's setOutputStream / setExtOutputStream; close() marks the end of data. */
    OutputStream writer() {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                put(b, off, len);
            }

            @Override
            public void close() {
                finish();
            }
        };
    }

    /** The reader's end: blocks until data arrives or the writer closed. */
    InputStream reader() {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return take(b, off, len);
            }

            @Override
            public void close() {
                abandon();
            }
        };
    }

    private synchronized void put(byte[] b, int off, int len) throws IOException {
        if (eof || abandoned || len == 0) {
            return;
        }
        if (file == null && memoryBytes + len <= MEMORY_LIMIT) {
            byte[] copy = new byte[len];
            System.arraycopy(b, off, copy, 0, len);
            memory.add(copy);
            memoryBytes += len;
        } else {
            if (fileWrite + len > SPILL_LIMIT) {
                throw new IOException("more than " + SPILL_LIMIT + " bytes of unread output");
            }
            if (file == null) {
                removeLeftovers(spillDir, java.time.Instant.now().minus(LEFTOVER_AGE));
                Path f = Files.createTempFile(spillDir, PREFIX, SUFFIX);
                file = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE, StandardOpenOption.DELETE_ON_CLOSE);
            }
            ByteBuffer buf = ByteBuffer.wrap(b, off, len);
            while (buf.hasRemaining()) {
                fileWrite += file.write(buf, fileWrite);
            }
        }
        notifyAll();
    }

    /**
     * Removes spill files last written before CUTOFF: a live buffer writes its file as data comes,
     * and on Linux even a removed file stays readable to the buffer that has it open.
     */
    static void removeLeftovers(Path dir, java.time.Instant cutoff) {
        try (java.util.stream.Stream<Path> files = Files.list(dir)) {
            files.filter(p -> p.getFileName().toString().startsWith(PREFIX) && p.getFileName().toString().endsWith(SUFFIX))
                    .filter(p -> {
                        try {
                            return Files.getLastModifiedTime(p).toInstant().isBefore(cutoff);
                        } catch (IOException gone) {
                            return false;
                        }
                    })
                    .forEach(p -> {
                        try {
                            Files.deleteIfExists(p);
                        } catch (IOException ignored) {
                            // in use (Windows) or already gone
                        }
                    });
        } catch (IOException | java.io.UncheckedIOException e) {
            // best effort
        }
    }

    private synchronized int take(byte[] b, int off, int len) throws IOException {
        while (memory.isEmpty() && fileRead == fileWrite && !eof && !abandoned) {
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException();
            }
        }
        if (abandoned) {
            return -1;
        }
        if (!memory.isEmpty()) {
            byte[] head = memory.peek();
            int n = Math.min(len, head.length - headOffset);
            System.arraycopy(head, headOffset, b, off, n);
            headOffset += n;
            memoryBytes -= n;
            if (headOffset == head.length) {
                memory.poll();
                headOffset = 0;
            }
            return n;
        }
        if (fileRead < fileWrite) {
            int n = file.read(ByteBuffer.wrap(b, off, (int) Math.min(len, fileWrite - fileRead)), fileRead);
            fileRead += n;
            if (fileRead == fileWrite) {
                closeFile();
            }
            return n;
        }
        return -1;
    }

    private synchronized void finish() {
        eof = true;
        notifyAll();
    }

    /** The reader gives up: drop everything, now and later. */
    synchronized void abandon() {
        abandoned = true;
        memory.clear();
        memoryBytes = 0;
        closeFile();
        notifyAll();
    }

    /** The reader caught up: later writes go to memory again. */
    private void closeFile() {
        if (file != null) {
            try {
                file.close();
            } catch (IOException ignored) {
                // deleted on close; nothing else to do
            }
            file = null;
            fileRead = fileWrite = 0;
        }
    }

    synchronized long buffered() {
        return memoryBytes + fileWrite - fileRead;
    }
}
