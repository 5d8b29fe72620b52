import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One output stream of a remote command, bounded in memory: keeps everything up to {@code limit}
 * bytes, then only a head and a tail, and spills the complete bytes to a local file so nothing is
 * lost. When {@code live} is set, bytes are also streamed there as they arrive (the head only, if
 * a limit applies; the tail follows at {@link #finish}).
 */
final class OutputCapture extends OutputStream {
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

    /** @param limit bytes kept in memory and shown; 0 means no limit (live streaming only, nothing kept). */
    OutputCapture(String name, OutputStream live, long limit) {
        this.name = name;
        this.live = live;
        this.limit = limit;
        this.headCap = (int) (limit / 2);
        this.tailCap = (int) (limit - headCap);
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
            spill.write(b, off, len);
            appendTail(b, off, len);
        }
        total += len;
        printLive(Math.min(headLen, headCap));
    }

    /** Crossing the limit: the head keeps its first half; what lies beyond feeds the tail. */
    private void startSpill(byte[] b, int off, int len) throws IOException {
        tail = new byte[tailCap];   // only now: a large --max-output costs nothing for short output
        Path dir = Files.createDirectories(LocalFolders.outputs());
        spillFile = Files.createTempFile(dir, "exec-", "." + name + ".log");
        spill = Files.newOutputStream(spillFile, StandardOpenOption.WRITE);
        spill.write(head, 0, headLen);
        spill.write(b, off, len);
        int intoHead = Math.max(0, Math.min(len, headCap - headLen));
        appendHead(b, off, intoHead);
        if (headLen > headCap) {
            appendTail(head, headCap, headLen - headCap);
            headLen = headCap;
        }
        appendTail(b, off + intoHead, len - intoHead);
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
        return "\n[vps: " + cut + " bytes cut; all " + total + " bytes in " + spillFile + "]\n";
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
     * that name, in order), "truncated", and "outputFiles" (the spill files, or null) at the end.
     */
    static void putAll(Map<String, Object> result, List<OutputCapture> captures) {
        StringBuilder stdout = new StringBuilder();
        StringBuilder stderr = new StringBuilder();
        boolean truncated = false;
        List<String> files = new ArrayList<>();
        for (OutputCapture c : captures) {
            (c.name.equals("stdout") ? stdout : stderr).append(c.text());
            truncated |= c.truncated();
            if (c.spillFile() != null) {
                files.add(c.spillFile().toString());
            }
        }
        result.put("stdout", stdout.toString());
        result.put("stderr", stderr.toString());
        result.put("truncated", truncated);
        result.remove("outputFiles");
        result.put("outputFiles", files.isEmpty() ? null : files);
    }
}
