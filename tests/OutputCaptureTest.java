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
}
