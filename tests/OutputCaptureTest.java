import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class OutputCaptureTest {
    @BeforeEach
    void env() {
        TestSupport.freshEnvironment();
    }

    private static byte[] numbers(int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(i).append('\n');
        }
        return sb.toString().getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void keepsEverythingUnderTheLimit() throws Exception {
        OutputCapture c = new OutputCapture("stdout", null, 1000);
        c.write("hello\n".getBytes());
        c.finish();
        assertEquals("hello\n", c.text());
        assertFalse(c.truncated());
    }

    @Test
    void cutsToHeadAndTailAndSpillsEverything() throws Exception {
        byte[] data = numbers(10_000);
        OutputCapture c = new OutputCapture("stdout", null, 100);
        for (int i = 0; i < data.length; i += 7) {
            c.write(data, i, Math.min(7, data.length - i));
        }
        c.finish();
        assertTrue(c.truncated());
        String text = c.text();
        assertTrue(text.startsWith(new String(data, 0, 50, StandardCharsets.US_ASCII)), text);
        assertTrue(text.endsWith(new String(data, data.length - 50, 50, StandardCharsets.US_ASCII)), text);
        assertTrue(text.contains("bytes cut"), text);
        assertArrayEquals(data, Files.readAllBytes(c.spillFile()));
        assertEquals(data.length, c.totalBytes());
    }

    @Test
    void oneHugeWriteStillSplitsCorrectly() throws Exception {
        byte[] data = numbers(5_000);
        OutputCapture c = new OutputCapture("stdout", null, 64);
        c.write(data, 0, data.length);
        c.finish();
        assertTrue(c.text().startsWith(new String(data, 0, 32, StandardCharsets.US_ASCII)));
        assertTrue(c.text().endsWith(new String(data, data.length - 32, 32, StandardCharsets.US_ASCII)));
        assertArrayEquals(data, Files.readAllBytes(c.spillFile()));
    }

    @Test
    void liveStreamingWithALimitPrintsHeadThenMarkerAndTail() throws Exception {
        byte[] data = numbers(1_000);
        ByteArrayOutputStream live = new ByteArrayOutputStream();
        OutputCapture c = new OutputCapture("stdout", live, 100);
        for (int i = 0; i < data.length; i += 3) {
            c.write(data, i, Math.min(3, data.length - i));
        }
        c.finish();
        String shown = live.toString(StandardCharsets.US_ASCII);
        assertTrue(shown.startsWith(new String(data, 0, 50, StandardCharsets.US_ASCII)));
        assertTrue(shown.endsWith(new String(data, data.length - 50, 50, StandardCharsets.US_ASCII)));
        assertTrue(shown.contains("bytes cut"));
    }

    @Test
    void liveStreamingUnderTheLimitShowsEveryByte() throws Exception {
        byte[] data = numbers(20);
        ByteArrayOutputStream live = new ByteArrayOutputStream();
        OutputCapture c = new OutputCapture("stdout", live, 1000);
        c.write(data, 0, data.length);
        c.finish();
        assertArrayEquals(data, live.toByteArray());
    }

    @Test
    void invalidUtf8BecomesReplacementCharacters() throws Exception {
        OutputCapture c = new OutputCapture("stdout", null, 100);
        c.write(new byte[] {'a', (byte) 0xff, (byte) 0xfe, 'b'});
        assertEquals("a\uFFFD\uFFFDb", c.text());
    }

    /** A command printing for ever must not fill the disk: the spill file stops at 256 MiB, the tail is still the real end. */
    @Test
    void aSpillFileStopsAtItsCapAndTheResultSaysSo() throws Exception {
        long cap = 256L << 20;
        byte[] chunk = new byte[1 << 20];
        java.util.Arrays.fill(chunk, (byte) 'x');
        OutputCapture c = new OutputCapture("stdout", null, 1000);
        try {
            for (int i = 0; i < 257; i++) {
                c.write(chunk, 0, chunk.length);
            }
            c.write("the end\n".getBytes(StandardCharsets.US_ASCII));
            c.finish();
            long total = 257L * chunk.length + 8;
            assertEquals(cap, Files.size(c.spillFile()), "the file stops at its cap");
            String text = c.text();
            assertTrue(text.contains("bytes cut; the first " + cap + " of all " + total + " bytes (a spill file's cap) in " + c.spillFile()), text);
            assertTrue(text.endsWith("xxxthe end\n"), "the tail is the output's real end");
            java.util.Map<String, Object> result = new java.util.LinkedHashMap<>();
            OutputCapture.putAll(result, java.util.List.of(c));
            assertEquals(true, result.get("outputFilesCut"));
            assertEquals(java.util.List.of(c.spillFile().toString()), result.get("outputFiles"));
        } finally {
            Files.deleteIfExists(c.spillFile());
        }
    }

    @Test
    void aSpillFileUnderItsCapIsNotMarkedCut() throws Exception {
        OutputCapture c = new OutputCapture("stdout", null, 100);
        c.write(numbers(1000));
        c.finish();
        java.util.Map<String, Object> result = new java.util.LinkedHashMap<>();
        OutputCapture.putAll(result, java.util.List.of(c));
        assertFalse(result.containsKey("outputFilesCut"), result.toString());
        assertTrue(c.text().contains("; all " + numbers(1000).length + " bytes in "), c.text());
    }

    /**
     * When a new spill file starts, the folder is cleaned: spill files older than 24 h go, then the
     * oldest beyond 1 GiB in all (sparse files here: their size counts, their disk does not). Files
     * that are not spill files, and one this process still writes, stay.
     */
    @Test
    void oldAndExcessSpillFilesGoWhenANewOneStarts() throws Exception {
        java.nio.file.Path dir = LocalFolders.outputs();
        java.time.Instant now = java.time.Instant.now();
        java.nio.file.Path old = spill(dir, "exec-old.stdout.log", 10, now.minus(java.time.Duration.ofHours(25)));
        java.nio.file.Path recent = spill(dir, "exec-recent.stderr.log", 10, now.minus(java.time.Duration.ofHours(1)));
        java.nio.file.Path big = spill(dir, "exec-big.stdout.log", 700L << 20, now.minus(java.time.Duration.ofHours(2)));
        java.nio.file.Path bigger = spill(dir, "exec-bigger.stdout.log", 700L << 20, now.minus(java.time.Duration.ofHours(3)));
        java.nio.file.Path notOurs = spill(dir, "notes.txt", 10, now.minus(java.time.Duration.ofHours(48)));

        OutputCapture writing = new OutputCapture("stdout", null, 10);
        writing.write(numbers(100));   // spills: its file is this process's, still being written
        Files.setLastModifiedTime(writing.spillFile(), java.nio.file.attribute.FileTime.from(now.minus(java.time.Duration.ofHours(30))));

        OutputCapture c = new OutputCapture("stdout", null, 10);
        c.write(numbers(100));
        c.finish();
        writing.finish();

        assertFalse(Files.exists(old), "older than 24 h");
        assertFalse(Files.exists(bigger), "the oldest beyond 1 GiB in all");
        assertTrue(Files.exists(recent));
        assertTrue(Files.exists(big), "the newest up to 1 GiB stay");
        assertTrue(Files.exists(notOurs), "only spill files are touched");
        assertTrue(Files.exists(writing.spillFile()), "a file still being written stays");
        assertTrue(Files.exists(c.spillFile()));
    }

    private static java.nio.file.Path spill(java.nio.file.Path dir, String name, long size, java.time.Instant modified) throws Exception {
        java.nio.file.Path p = dir.resolve(name);
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(size);
        }
        Files.setLastModifiedTime(p, java.nio.file.attribute.FileTime.from(modified));
        return p;
    }
}
