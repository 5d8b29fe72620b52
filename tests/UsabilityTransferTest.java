import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a new user hits with sftp-get (issue 16, item 6), through the real command against OpenSSH. */
class UsabilityTransferTest extends VpsTestBase {
    private static Runs.Result get(String... args) {
        return TransferTest.get(args);
    }

    @Test
    void jsonWithStdoutKeepsTheFileBytesAloneOnStdout() {
        vps.exec("printf 'the bytes\\n' > /tmp/usability-stdout.txt");
        Runs.Result r = get("--json", "/tmp/usability-stdout.txt", "-");
        assertEquals(0, r.exit(), r.toString());
        assertEquals("the bytes\n", r.stdout(), "stdout holds the file and nothing else");
        String jsonLine = r.stderr().lines().filter(l -> l.startsWith("{")).findFirst().orElseThrow(() -> new AssertionError(r.toString()));
        Map<?, ?> j = Json.read(jsonLine, Map.class);
        assertEquals("exited", j.get("status"));
        assertEquals(10L, j.get("bytes"));
    }

    @Test
    void globIntoAFolderNamedWithASlashCreatesIt(@TempDir Path dir) {
        vps.exec("mkdir -p /tmp/usability-glob && printf a > /tmp/usability-glob/a.log && printf bb > /tmp/usability-glob/b.log");
        Path logs = dir.resolve("logs");
        Runs.Result r = get("/tmp/usability-glob/*.log", logs + "/");
        assertEquals(0, r.exit(), r.toString());
        assertTrue(Files.isDirectory(logs), r.toString());
        assertEquals(List.of("a.log", "b.log"), names(logs));
    }

    @Test
    void noClobberNamesTheLocalFileThatExists(@TempDir Path dir) throws Exception {
        vps.exec("printf new > /tmp/usability-clobber.txt");
        Path local = Files.writeString(dir.resolve("mine.txt"), "old");
        Runs.Result r = get("--no-clobber", "/tmp/usability-clobber.txt", local.toString());
        assertEquals(1, r.exit(), r.toString());
        assertTrue(r.stderr().contains("(--no-clobber): " + local), r.toString());
        assertEquals("old", Files.readString(local));
    }

    private static List<String> names(Path dir) {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
