import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * sftp-get against OpenSSH when the local destination is not what it seems: links left by an
 * earlier run or planted by someone else, and files planted where partial files go.
 */
class DownloadTrustTest extends VpsTestBase {
    private static Map<?, ?> entry(Runs.Result r, String remoteSuffix) {
        return ((List<?>) r.json().get("files")).stream().map(o -> (Map<?, ?>) o)
                .filter(f -> ((String) f.get("remote")).endsWith(remoteSuffix)).findFirst().orElseThrow(() -> new AssertionError(r.toString()));
    }

    private static List<String> names(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** The case: run 1 meets a link leading out, the server then turns it into a folder; run 2 must not write through it. */
    @Test
    void aTreeThatChangesBetweenTwoRunsNeverLeadsAWriteOutside(@TempDir Path dir) throws Exception {
        vps.exec("rm -rf /tmp/trust-site && mkdir -p /tmp/trust-site && cd /tmp/trust-site && printf page > index.html"
                + " && ln -s ../../outside x");
        Path dl = Files.createDirectories(dir.resolve("dl"));
        Path outside = Files.createDirectories(dir.resolve("outside"));

        Runs.Result first = TransferTest.get("--json", "/tmp/trust-site", dl.toString());
        assertEquals(0, first.exit(), first.toString());
        assertEquals("skipped-symlink", entry(first, "/x").get("status"), first.toString());
        assertFalse(Files.exists(dl.resolve("trust-site/x"), LinkOption.NOFOLLOW_LINKS), "a link leading out is not recreated");

        // An earlier version of the toolkit, or another local user, left a link leading out as well.
        Files.createSymbolicLink(dl.resolve("trust-site/y"), Path.of("../../outside"));
        vps.exec("cd /tmp/trust-site && rm x && mkdir x y && printf evil > x/authorized_keys && printf evil > y/authorized_keys");

        Runs.Result second = TransferTest.get("--json", "/tmp/trust-site", dl.toString());
        assertEquals(List.of(), names(outside), "nothing was written outside the destination: " + second);
        assertEquals(0, second.exit(), second.toString());
        for (String folder : List.of("x", "y")) {
            Path real = dl.resolve("trust-site").resolve(folder);
            assertTrue(Files.isDirectory(real, LinkOption.NOFOLLOW_LINKS), folder + " is a real folder now");
            assertEquals("evil", Files.readString(real.resolve("authorized_keys")));
        }
    }

    /** Links and foreign files at the partial's names, each holding a prefix that a resume would accept: none is used. */
    @Test
    void nothingPlantedAtAPartialsNameIsWrittenThroughOrResumed(@TempDir Path dir) throws Exception {
        byte[] remote = TransferTest.random(3_000_000, 42);
        Runs.Result up = TransferTest.put(Files.write(dir.resolve("src.bin"), remote).toString(), "/tmp/trust-big.bin");
        assertEquals(0, up.exit(), up.toString());
        byte[] prefix = Arrays.copyOf(remote, 1 << 20);
        Path dl = Files.createDirectories(dir.resolve("dl"));
        Path victims = Files.createDirectories(dir.resolve("victims"));
        String partial = ".trust-big.bin.vps-partial";
        FileTime old = FileTime.fromMillis(1_000_000_000_000L);
        for (String v : List.of("old-name", "link", "hard")) {
            Files.write(victims.resolve(v), prefix);
            Files.setLastModifiedTime(victims.resolve(v), old);
        }
        Files.createSymbolicLink(dl.resolve(partial), victims.resolve("old-name"));                 // the name earlier versions used
        Files.createSymbolicLink(dl.resolve(partial + ".00000000000000aa"), victims.resolve("link"));
        Files.createLink(dl.resolve(partial + ".00000000000000bb"), victims.resolve("hard"));       // two links
        Files.setPosixFilePermissions(Files.write(dl.resolve(partial + ".00000000000000cc"), prefix), PosixFilePermissions.fromString("rw-r--r--"));
        if (new com.sun.security.auth.module.UnixSystem().getUid() == 0) {                          // only root can give a file away
            Path foreign = Files.write(dl.resolve(partial + ".00000000000000dd"), prefix);
            Files.setPosixFilePermissions(foreign, PosixFilePermissions.fromString("rw-------"));
            Files.setAttribute(foreign, "unix:uid", 4242);                                          // another user's
        }
        List<String> planted = names(dl);

        Runs.Result r = TransferTest.get("--json", "/tmp/trust-big.bin", dl.resolve("trust-big.bin").toString());
        assertEquals(0, r.exit(), r.toString());
        for (String v : List.of("old-name", "link", "hard")) {
            assertArrayEquals(prefix, Files.readAllBytes(victims.resolve(v)), v + " was not written through");
            assertEquals(old, Files.getLastModifiedTime(victims.resolve(v)), v + " was not opened for writing");
        }
        assertEquals(0L, entry(r, "trust-big.bin").get("resumedFrom"), "nothing planted was resumed: " + r);
        assertArrayEquals(remote, Files.readAllBytes(dl.resolve("trust-big.bin")));
        List<String> after = new java.util.ArrayList<>(planted);
        after.add("trust-big.bin");
        after.sort(null);
        assertEquals(after, names(dl), "what was planted is left alone, and no partial of ours is left");
        assertEquals(victims.resolve("link"), Files.readSymbolicLink(dl.resolve(partial + ".00000000000000aa")));

        // The control: a partial that is ours (0600, one link, our uid) is resumed.
        Path ours = Files.write(dl.resolve(partial + ".00000000000000ee"), prefix);
        Files.setPosixFilePermissions(ours, PosixFilePermissions.fromString("rw-------"));
        Runs.Result resumed = TransferTest.get("--json", "/tmp/trust-big.bin", dl.resolve("trust-big.bin").toString());
        assertEquals(0, resumed.exit(), resumed.toString());
        assertEquals((long) prefix.length, entry(resumed, "trust-big.bin").get("resumedFrom"), resumed.toString());
        assertFalse(Files.exists(ours), "the resumed partial became the target");
        assertArrayEquals(remote, Files.readAllBytes(dl.resolve("trust-big.bin")));
    }

    /** --links follow on a tree with links back up ends, and says which links it left out. */
    @Test
    void followingLinksThatLoopEnds(@TempDir Path dir) throws Exception {
        vps.exec("rm -rf /tmp/trust-loop && mkdir -p /tmp/trust-loop/sub && cd /tmp/trust-loop && printf a > a.txt"
                + " && ln -s . self && ln -s .. sub/back && ln -s ../a.txt sub/a-link");
        Runs.Result r = TransferTest.get("--json", "--links", "follow", "/tmp/trust-loop", dir.toString());
        assertEquals(0, r.exit(), r.toString());
        assertEquals("skipped-symlink", entry(r, "/self").get("status"), r.toString());
        assertEquals("skipped-symlink", entry(r, "/sub/back").get("status"), r.toString());
        assertEquals("a", Files.readString(dir.resolve("trust-loop/sub/a-link")), "a link to a file is copied as the file");
        assertFalse(Files.isSymbolicLink(dir.resolve("trust-loop/sub/a-link")));
    }

    /** The local partial's name (dot, name, suffixes) would pass 255 bytes for a 250-byte name: it is cut, the download goes through. */
    @Test
    void aLongLocalNameStillGetsAPartialName(@TempDir Path dir) throws Exception {
        vps.exec("printf 'long name' > /tmp/trust-short.txt");
        Path target = dir.resolve("\u00e9".repeat(100) + "x".repeat(50));
        Runs.Result r = TransferTest.get("/tmp/trust-short.txt", target.toString());
        assertEquals(0, r.exit(), r.toString());
        assertEquals("long name", Files.readString(target));
    }
}
