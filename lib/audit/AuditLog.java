import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The hash-chained audit log: DIR/audit.jsonl, one JSON object a line whose "prev" is the SHA-256
 * (hex) of the previous line's bytes (64 zeros for the first line of all) and whose "seq" counts
 * from 1. Appends hold an exclusive lock on DIR/audit.head, so the engine and cold calls can write
 * at once; the head file also keeps the last line's seq and hash, so that an edit or removal of the
 * last line is found too. At LIMIT bytes the file rotates to audit.jsonl.1 .. .KEEP and the chain
 * continues in the new file.
 */
final class AuditLog {
    static final long DEFAULT_LIMIT = 8L * 1024 * 1024;
    static final int KEEP = 5;
    static final String FILE = "audit.jsonl";
    static final String ZEROS = "0".repeat(64);

    private final Path dir;
    private final long limit;

    AuditLog(Path dir) {
        this(dir, DEFAULT_LIMIT);
    }

    /** A log that rotates at LIMIT bytes (tests use a small one). */
    AuditLog(Path dir, long limit) {
        this.dir = dir;
        this.limit = limit;
    }

    /** The log of this call's toolkit home: VPS_TOOLKIT_HOME or ~/.vps-toolkit, folder audit/ (0700). */
    static AuditLog standard() {
        return new AuditLog(LocalFolders.privateDir(LocalFolders.root().resolve("audit")));
    }

    Path dir() {
        return dir;
    }

    /**
     * Appends FIELDS as one line, with seq and prev first; returns the line written. The file lock keeps
     * other processes out; a JVM's own threads (the hosts of a set, the engine's calls) take turns here
     * first, as a second lock from the same JVM fails (OverlappingFileLockException) instead of waiting.
     */
    String append(Map<String, Object> fields) throws IOException {
        synchronized (IN_THIS_JVM) {
            return appendLocked(fields);
        }
    }

    private static final Object IN_THIS_JVM = new Object();

    private String appendLocked(Map<String, Object> fields) throws IOException {
        Files.createDirectories(dir);
        try (FileChannel head = FileChannel.open(dir.resolve("audit.head"), StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
             FileLock ignored = head.lock()) {
            privateMode(dir.resolve("audit.head"));
            String last = lastLine();
            long seq = last == null ? 1 : seqOf(last) + 1;
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("seq", seq);
            line.put("prev", last == null ? ZEROS : sha256(last));
            line.putAll(fields);
            String text = Json.write(line);
            byte[] bytes = (text + "\n").getBytes(StandardCharsets.UTF_8);
            Path current = dir.resolve(FILE);
            if (Files.exists(current) && Files.size(current) > 0 && Files.size(current) + bytes.length > limit) {
                rotate();
            }
            try (FileChannel out = FileChannel.open(current, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
                privateMode(current);
                write(out, ByteBuffer.wrap(bytes));
            }
            head.truncate(0);
            write(head, ByteBuffer.wrap((seq + " " + sha256(text) + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            return text;
        }
    }

    /** The kept files, oldest first. */
    List<Path> files() {
        List<Path> files = new ArrayList<>();
        for (int i = KEEP; i >= 1; i--) {
            Path p = dir.resolve(FILE + "." + i);
            if (Files.exists(p)) {
                files.add(p);
            }
        }
        if (Files.exists(dir.resolve(FILE))) {
            files.add(dir.resolve(FILE));
        }
        return files;
    }

    /** One line of the log and where it is. */
    record Line(Path file, int number, String text) {
        String where() {
            return file + ":" + number;
        }
    }

    /** Every kept line, oldest first. */
    List<Line> lines() throws IOException {
        List<Line> all = new ArrayList<>();
        for (Path f : files()) {
            List<String> texts = Files.readAllLines(f, StandardCharsets.UTF_8);
            for (int i = 0; i < texts.size(); i++) {
                all.add(new Line(f, i + 1, texts.get(i)));
            }
        }
        return all;
    }

    /** What verify found: null problem when the chain is intact; START says where the kept chain begins. */
    record Verdict(int lines, String start, String problem) {
        boolean intact() {
            return problem == null;
        }
    }

    /** Walks the kept chain, oldest line first, and names the first broken line: edited, inserted or removed. */
    Verdict verify() throws IOException {
        List<Line> all = lines();
        if (all.isEmpty()) {
            return new Verdict(0, null, headProblem(null, null));
        }
        Line first = all.get(0);
        boolean fromTheStart = ZEROS.equals(prevOf(first.text()));
        // Only the oldest file rotation keeps (.KEEP) may begin in the middle of the chain.
        if (!fromTheStart && !first.file().getFileName().toString().equals(FILE + "." + KEEP) && prevOf(first.text()) != null) {
            return new Verdict(all.size(), null, first.where() + ": removed (the line(s) before it are missing: it is not the first line of all)");
        }
        String start = fromTheStart ? "the first line of all (" + first.where() + ")" : first.where() + " (older lines were rotated away)";
        for (int i = 0; i < all.size(); i++) {
            Line line = all.get(i);
            if (seqOrNull(line.text()) == null || prevOf(line.text()) == null) {
                return new Verdict(all.size(), start, line.where() + ": edited (not a valid audit line)");
            }
            if (i == 0) {
                continue;
            }
            Line before = all.get(i - 1);
            boolean chained = sha256(before.text()).equals(prevOf(line.text()));
            long gap = seqOrNull(line.text()) - seqOrNull(before.text());
            if (chained && gap == 1) {
                continue;
            }
            if (chained) {
                return new Verdict(all.size(), start, line.where() + ": edited (its seq does not follow " + before.where() + ")");
            }
            if (line.text().equals(before.text())) {
                return new Verdict(all.size(), start, line.where() + ": inserted (a copy of " + before.where() + ")");
            }
            if (i >= 2 && sha256(all.get(i - 2).text()).equals(prevOf(line.text()))) {
                return new Verdict(all.size(), start, before.where() + ": inserted (" + line.where() + " chains to the line before it)");
            }
            if (gap > 1) {
                return new Verdict(all.size(), start, line.where() + ": removed (" + (gap - 1) + " line(s) missing before it)");
            }
            if (gap < 1) {
                return new Verdict(all.size(), start, line.where() + ": inserted (its seq does not follow " + before.where() + ")");
            }
            return new Verdict(all.size(), start, before.where() + ": edited (its SHA-256 is not what " + line.where() + " records)");
        }
        return new Verdict(all.size(), start, headProblem(all.get(all.size() - 1), all.size() >= 2 ? all.get(all.size() - 2) : null));
    }

    /** Checks the last line against the head file (written with every append). */
    private String headProblem(Line last, Line beforeLast) throws IOException {
        Path headFile = dir.resolve("audit.head");
        String head = Files.exists(headFile) ? Files.readString(headFile, StandardCharsets.US_ASCII).strip() : "";
        if (head.isEmpty()) {
            return last == null ? null : headFile + ": removed (the log has lines but its head is missing)";
        }
        String[] parts = head.split(" ");
        long seq = Long.parseLong(parts[0]);
        if (last == null) {
            return dir.resolve(FILE) + ": removed (the head records line " + seq + ", the log is empty)";
        }
        long lastSeq = seqOrNull(last.text());
        if (lastSeq < seq) {
            return last.where() + ": removed (" + (seq - lastSeq) + " line(s) missing after it)";
        }
        if (sha256(last.text()).equals(parts[1]) && lastSeq == seq) {
            return null;
        }
        if (lastSeq > seq || (beforeLast != null && sha256(beforeLast.text()).equals(parts[1]))) {
            return last.where() + ": inserted (after the last line the head records)";
        }
        return last.where() + ": edited (its SHA-256 is not what " + headFile + " records)";
    }

    static String sha256(String line) {
        return HexFormat.of().formatHex(Sha256.digest().digest(line.getBytes(StandardCharsets.UTF_8)));
    }

    private void rotate() throws IOException {
        Files.deleteIfExists(dir.resolve(FILE + "." + KEEP));
        for (int i = KEEP - 1; i >= 1; i--) {
            Path from = dir.resolve(FILE + "." + i);
            if (Files.exists(from)) {
                Files.move(from, dir.resolve(FILE + "." + (i + 1)), StandardCopyOption.ATOMIC_MOVE);
            }
        }
        Files.move(dir.resolve(FILE), dir.resolve(FILE + ".1"), StandardCopyOption.ATOMIC_MOVE);
    }

    /** The newest line of the chain: the current file's last, or after a rotation the previous file's. */
    private String lastLine() throws IOException {
        for (Path f : List.of(dir.resolve(FILE), dir.resolve(FILE + ".1"))) {
            String last = lastLineOf(f);
            if (last != null) {
                return last;
            }
        }
        return null;
    }

    /** Reads backwards from the end to the line's start: the file may be megabytes, a line is short. */
    private static String lastLineOf(Path file) throws IOException {
        if (!Files.exists(file)) {
            return null;
        }
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            long end = f.length();
            while (end > 0 && byteAt(f, end - 1) == '\n') {
                end--;
            }
            if (end == 0) {
                return null;
            }
            long start = end;
            byte[] chunk = new byte[8192];
            while (start > 0) {
                int n = (int) Math.min(chunk.length, start);
                f.seek(start - n);
                f.readFully(chunk, 0, n);
                int at = lastNewline(chunk, n);
                if (at >= 0) {
                    start = start - n + at + 1;
                    break;
                }
                start -= n;
            }
            byte[] line = new byte[(int) (end - start)];
            f.seek(start);
            f.readFully(line);
            return new String(line, StandardCharsets.UTF_8);
        }
    }

    private static int lastNewline(byte[] chunk, int n) {
        for (int i = n - 1; i >= 0; i--) {
            if (chunk[i] == '\n') {
                return i;
            }
        }
        return -1;
    }

    private static int byteAt(RandomAccessFile f, long at) throws IOException {
        f.seek(at);
        return f.read();
    }

    private static long seqOf(String line) {
        Long seq = seqOrNull(line);
        return seq == null ? 0 : seq;
    }

    private static Long seqOrNull(String line) {
        Object seq = parse(line).get("seq");
        return seq instanceof Number n ? n.longValue() : null;
    }

    private static String prevOf(String line) {
        Object prev = parse(line).get("prev");
        return prev instanceof String s && s.matches("[0-9a-f]{64}") ? s : null;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> parse(String line) {
        try {
            Map<String, Object> m = Json.read(line, Map.class);
            return m == null ? Map.of() : m;
        } catch (RuntimeException e) {
            return Map.of();
        }
    }

    private static void write(FileChannel channel, ByteBuffer data) throws IOException {
        while (data.hasRemaining()) {
            channel.write(data);
        }
    }

    private static void write(FileChannel channel, ByteBuffer data, long at) throws IOException {
        while (data.hasRemaining()) {
            at += channel.write(data, at);
        }
    }

    private static void privateMode(Path file) {
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException | IOException ignored) {
            // not a POSIX file system, or not ours to change: the folder is private anyway
        }
    }
}
