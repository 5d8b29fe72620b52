import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * One output stream of a remote command, bounded in memory: keeps everything up to {@code limit}
 * bytes, then only a head and a tail, and spills the bytes to a local file (the toolkit's output
 * folder) so that nothing an agent may look for is lost. The disk is bounded too: a spill file stops
 * at {@link #SPILL_FILE_LIMIT} (the marker and "outputFilesCut" say so), and files older than
 * {@link #SPILL_MAX_AGE}, or beyond {@link #SPILL_TOTAL_LIMIT} in all (oldest first), are removed
 * whenever a new one starts. When {@code live} is set, bytes are also streamed there as they arrive
 * (the head only, if a limit applies; the tail follows at {@link #finish}).
 */
final class OutputCapture extends OutputStream {
    static final long SPILL_FILE_MB = 256;
    static final long SPILL_FILE_LIMIT = SPILL_FILE_MB << 20;
    static final long SPILL_TOTAL_LIMIT = 1L << 30;
    /** Long enough for an agent to read a file a result named, short enough that they do not pile up. */
    static final Duration SPILL_MAX_AGE = Duration.ofHours(24);
    private static final String SPILL_PREFIX = "exec-";
    private static final String SPILL_SUFFIX = ".log";
    /** Spill files this process is still writing: never removed by the clean-up. */
    private static final Set<Path> WRITING = ConcurrentHashMap.newKeySet();

    private final OutputStream live;
    private final long limit;
    private final String name;
    private final int headCap;
    private final int tailCap;
    private byte[] tail = new byte[0];
    private boolean finished;

    private byte[] head = new byte[1024];
    private int headLen;
    private int printed;
    private int tailPos;
    private boolean tailWrapped;
    private long total;
    private Path spillFile;
    private OutputStream spill;
    private final long spillCap;
    private long spilled;
    /** The output folder, checked private before the command starts: a refusal must not come mid-stream. */
    private final Path spillFolder;

    /** @param limit bytes kept in memory and shown; 0 means no limit (live streaming only, nothing kept). */
    OutputCapture(String name, OutputStream live, long limit) {
        this(name, live, limit, SPILL_FILE_LIMIT);
    }

    /** @param spillCap the most bytes the spill file takes; the rest is counted, kept in the tail, and not written. */
    OutputCapture(String name, OutputStream live, long limit, long spillCap) {
        this.name = name;
        this.live = live;
        this.limit = limit;
        this.spillCap = spillCap;
        this.headCap = (int) (limit / 2);
        this.tailCap = (int) (limit - headCap);
        this.spillFolder = limit == 0 ? null : LocalFolders.outputs();
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) throws IOException {
        if (limit == 0) {
            total += len;
            if (live != null) {
                live.write(b, off, len);
                live.flush();
            }
            return;
        }
        if (spill == null && total + len <= limit) {
            appendHead(b, off, len);
        } else if (spill == null) {
            startSpill(b, off, len);
        } else {
            toSpill(b, off, len);
            appendTail(b, off, len);
        }
        total += len;
        printLive(Math.min(headLen, headCap));
    }

    /** Crossing the limit: the head keeps its first half; what lies beyond feeds the tail. */
    private void startSpill(byte[] b, int off, int len) throws IOException {
        tail = new byte[tailCap];   // only now: a large --max-output costs nothing for short output
        Path dir = spillFolder;
        removeOldSpills(dir, Instant.now(), SPILL_MAX_AGE, SPILL_TOTAL_LIMIT);
        spillFile = Files.createTempFile(dir, SPILL_PREFIX, "." + name + SPILL_SUFFIX);
        WRITING.add(spillFile);
        spill = Files.newOutputStream(spillFile, StandardOpenOption.WRITE);
        toSpill(head, 0, headLen);
        toSpill(b, off, len);
        int intoHead = Math.max(0, Math.min(len, headCap - headLen));
        appendHead(b, off, intoHead);
        if (headLen > headCap) {
            appendTail(head, headCap, headLen - headCap);
            headLen = headCap;
        }
        appendTail(b, off + intoHead, len - intoHead);
    }

    /** Writes to the spill file what still fits under its cap. */
    private void toSpill(byte[] b, int off, int len) throws IOException {
        int fits = (int) Math.min(len, spillCap - spilled);
        if (fits > 0) {
            spill.write(b, off, fits);
            spilled += fits;
        }
    }

    /** Whether the spill file stopped at its cap and so lacks the end of the output. */
    boolean spillCut() {
        return spilled < total && spill != null;
    }

    /**
     * Removes from DIR the spill files older than MAX_AGE, then, newest kept first, those beyond
     * TOTAL bytes in all; files this process still writes stay. Best effort: a file another process
     * removed first, or cannot be removed (Windows, while open), is skipped.
     */
    static void removeOldSpills(Path dir, Instant now, Duration maxAge, long total) {
        record Spill(Path path, Instant modified, long size) {}
        List<Spill> spills = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String n = p.getFileName().toString();
                if (n.startsWith(SPILL_PREFIX) && n.endsWith(SPILL_SUFFIX) && !WRITING.contains(p)) {
                    try {
                        spills.add(new Spill(p, Files.getLastModifiedTime(p).toInstant(), Files.size(p)));
                    } catch (IOException gone) {
                        // removed meanwhile
                    }
                }
            }
        } catch (IOException | UncheckedIOException e) {
            return;
        }
        spills.sort(Comparator.comparing(Spill::modified).reversed());
        long kept = 0;
        for (Spill s : spills) {
            kept += s.size();
            if (kept > total || s.modified().isBefore(now.minus(maxAge))) {
                try {
                    Files.deleteIfExists(s.path());
                } catch (IOException ignored) {
                    // in use or already gone
                }
            }
        }
    }

    /** The clean-up of the toolkit's output folder, for a long-lived process to run at its start. */
    static void removeOldSpills() {
        removeOldSpills(LocalFolders.outputs(), Instant.now(), SPILL_MAX_AGE, SPILL_TOTAL_LIMIT);
    }

    private void printLive(int upTo) throws IOException {
        if (live != null && upTo > printed) {
            live.write(head, printed, upTo - printed);
            live.flush();
            printed = upTo;
        }
    }

    private void appendHead(byte[] b, int off, int len) {
        if (headLen + len > head.length) {
            byte[] bigger = new byte[(int) Math.min(Math.max(head.length * 2L, headLen + len), limit)];
            System.arraycopy(head, 0, bigger, 0, headLen);
            head = bigger;
        }
        System.arraycopy(b, off, head, headLen, len);
        headLen += len;
    }

    private void appendTail(byte[] b, int off, int len) {
        if (tail.length == 0) {
            return;
        }
        if (len >= tail.length) {
            System.arraycopy(b, off + len - tail.length, tail, 0, tail.length);
            tailPos = 0;
            tailWrapped = true;
            return;
        }
        int first = Math.min(len, tail.length - tailPos);
        System.arraycopy(b, off, tail, tailPos, first);
        System.arraycopy(b, off + first, tail, 0, len - first);
        if (tailPos + len >= tail.length) {
            tailWrapped = true;
        }
        tailPos = (tailPos + len) % tail.length;
    }

    private byte[] tailBytes() {
        if (!tailWrapped) {
            return java.util.Arrays.copyOf(tail, tailPos);
        }
        byte[] out = new byte[tail.length];
        System.arraycopy(tail, tailPos, out, 0, tail.length - tailPos);
        System.arraycopy(tail, 0, out, tail.length - tailPos, tailPos);
        return out;
    }

    boolean truncated() {
        return spill != null;
    }

    long totalBytes() {
        return total;
    }

    Path spillFile() {
        return spillFile;
    }

    private String cutMarker() {
        long cut = total - headLen - tailBytes().length;
        String where = spillCut() ? "the first " + spilled + " of all " + total + " bytes (a spill file's cap) in " + spillFile
                : "all " + total + " bytes in " + spillFile;
        return "\n[vps: " + cut + " bytes cut; " + where + "]\n";
    }

    /** Ends the stream: closes the spill file and, when streaming live with a cut, prints the marker and the tail. */
    synchronized void finish() throws IOException {
        if (finished) {
            return;
        }
        finished = true;
        if (spill == null) {
            printLive(headLen);
            return;
        }
        spill.close();
        WRITING.remove(spillFile);
        if (live != null) {
            live.write(cutMarker().getBytes(StandardCharsets.UTF_8));
            live.write(tailBytes());
            live.flush();
        }
    }

    /** The kept text, decoded as UTF-8 with invalid bytes replaced. */
    synchronized String text() {
        if (spill == null) {
            return new String(head, 0, headLen, StandardCharsets.UTF_8);
        }
        return new String(head, 0, headLen, StandardCharsets.UTF_8) + cutMarker()
                + new String(tailBytes(), StandardCharsets.UTF_8);
    }

    /**
     * Puts the captured output into a DESIGN §5 result: "stdout" and "stderr" (each the captures of
     * that name, in order), "truncated", and "outputFiles" (the spill files, or null) at the end,
     * followed by "outputFilesCut": true when a spill file stopped at its cap.
     */
    static void putAll(Map<String, Object> result, List<OutputCapture> captures) {
        StringBuilder stdout = new StringBuilder();
        StringBuilder stderr = new StringBuilder();
        boolean truncated = false;
        boolean filesCut = false;
        List<String> files = new ArrayList<>();
        for (OutputCapture c : captures) {
            (c.name.equals("stdout") ? stdout : stderr).append(c.text());
            truncated |= c.truncated();
            filesCut |= c.spillCut();
            if (c.spillFile() != null) {
                files.add(c.spillFile().toString());
            }
        }
        result.put("stdout", stdout.toString());
        result.put("stderr", stderr.toString());
        result.put("truncated", truncated);
        result.remove("outputFiles");
        result.put("outputFiles", files.isEmpty() ? null : files);
        result.remove("outputFilesCut");
        if (filesCut) {
            result.put("outputFilesCut", true);
        }
    }
}
