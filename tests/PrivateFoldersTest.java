import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Only the same local user reaches the toolkit's private folders (keys, sockets, output): every
 * level above them is checked as OpenSSH checks the path to authorized_keys, a planted link or a
 * folder of another user is refused, and another local user (OtherUser) cannot look inside.
 */
class PrivateFoldersTest {
    private Path base;

    @BeforeEach
    void base() throws Exception {
        base = Files.createTempDirectory("vps-folders");   // 0700 under /tmp: a root-owned sticky folder above
    }

    @Test
    void aFolderAboveThatOthersMayWriteIsRefused() throws Exception {
        Path open = Files.createDirectory(base.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path home = open.resolve("toolkit");
        Runs.Result r = sandboxRun(home);
        assertRefused(r, open, "mode 0777", "`chmod go-w " + open + "`");
        assertTrue(Files.notExists(home), "nothing is created in it");
    }

    @Test
    void aStickyFolderAboveIsFineOnlyWhenRootOwnsIt() throws Exception {
        Path shared = Files.createDirectory(base.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.setAttribute(shared, "unix:mode", 01777);
        Files.setAttribute(shared, "unix:uid", OtherUser.uid());
        Runs.Result r = sandboxRun(shared.resolve("toolkit"));
        assertRefused(r, shared, "owner " + OtherUser.NAME, "mode 1777", "another user owns it");
    }

    @Test
    void aToolkitHomeThatIsALinkIsRefusedNotFollowed() throws Exception {
        Path real = Files.createDirectory(base.resolve("real"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path link = Files.createSymbolicLink(base.resolve("link"), real);
        Runs.Result r = sandboxRun(link);
        assertRefused(r, link, "symbolic link", "`rm " + link + "`");
        assertEquals(List.of(), list(real), "nothing is created through the link");
    }

    @Test
    void aLinkPlantedAsTheEngineFolderIsRefusedNotFollowed() throws Exception {
        Path home = Files.createDirectory(base.resolve("toolkit"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path elsewhere = Files.createDirectory(base.resolve("elsewhere"));
        Files.setPosixFilePermissions(elsewhere, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.createSymbolicLink(home.resolve("engine"), elsewhere);
        TestSupport.freshEnvironment(Map.of("VPS_TOOLKIT_HOME", home.toString()));
        VpsException e = assertThrows(VpsException.class, () -> LocalFolders.privateDir(LocalFolders.root().resolve("engine")));
        assertEquals(VpsException.Kind.CONFIG, e.kind);
        assertTrue(e.getMessage().contains(home.resolve("engine") + " (owner ") && e.getMessage().contains("symbolic link"), e.getMessage());
        assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(elsewhere)), "the link's target is left alone");
    }

    @Test
    void aLinkPlantedAsTheOutputFolderIsRefusedBeforeACommandThatMaySpillRuns() throws Exception {
        Path home = Files.createDirectory(base.resolve("toolkit"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path elsewhere = Files.createDirectory(base.resolve("elsewhere"));
        Files.createSymbolicLink(home.resolve("output"), elsewhere);
        TestSupport.freshEnvironment(Map.of("VPS_TOOLKIT_HOME", home.toString()));
        VpsServer vps = VpsServer.shared();
        String marker = "/tmp/vps-folders-" + base.getFileName();
        Runs.Result r = Runs.exec(TestSupport.args(vps.target("root"), "--max-output", "200", "--", "touch " + marker + "; seq 1 100000"));
        assertRefused(r, home.resolve("output"), "symbolic link");
        assertEquals(List.of(), list(elsewhere), "no output is spilled through the link");
        assertEquals("absent\n", vps.exec("test -e " + marker + " && echo present || echo absent"), "refused before the command ran");
    }

    @Test
    void aToolkitHomeOfAnotherUserIsRefused() throws Exception {
        Path home = Files.createDirectory(base.resolve("toolkit"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.setAttribute(home, "unix:uid", OtherUser.uid());
        Runs.Result r = sandboxRun(home);
        assertRefused(r, home, "owner " + OtherUser.NAME, "another user's");
        assertEquals(List.of(), list(home));
    }

    @Test
    void aNewHomeIsCreatedPrivateAtEveryLevelAndCommandsRun() throws Exception {
        Path home = base.resolve("a/b/toolkit");
        Runs.Result r = sandboxRun(home);
        try {
            assertEquals(0, r.exit(), r.toString());
            for (Path level : List.of(base.resolve("a"), base.resolve("a/b"), home, home.resolve("sandbox"))) {
                assertEquals("rwx------", mode(level), level.toString());
            }
        } finally {
            new Sandbox(home.resolve("sandbox")).stop();
        }
    }

    @Test
    void aHomeOthersCouldOnlyReadIsTightenedAndOutputSpillsIntoIt() throws Exception {
        Path home = Files.createDirectory(base.resolve("toolkit"));   // 0755, as an earlier version left ~/.vps-toolkit
        Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwxr-xr-x"));
        TestSupport.freshEnvironment(Map.of("VPS_TOOLKIT_HOME", home.toString()));
        Runs.Result r = Runs.exec(TestSupport.args(VpsServer.shared().target("root"), "--json", "--max-output", "200", "--", "seq 1 100000"));
        assertEquals(0, r.exit(), r.toString());
        Path spill = Path.of((String) ((List<?>) r.json().get("outputFiles")).get(0));
        assertEquals(home.resolve("output"), spill.getParent());
        assertEquals("rwx------", mode(home));
        assertEquals("rwx------", mode(home.resolve("output")));
    }

    @Test
    void anotherLocalUserCannotLookIntoThePrivateFolder() throws Exception {
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));   // only the toolkit's folder may stop it
        Path home = base.resolve("toolkit");
        TestSupport.freshEnvironment(Map.of("VPS_TOOLKIT_HOME", home.toString()));
        Path output = LocalFolders.outputs();
        Files.writeString(output.resolve("exec-test.stdout.log"), "secret output\n");
        OtherUser.Result above = OtherUser.run("ls", base.toString());
        assertEquals(0, above.exit(), "the other user reaches the folder above: " + above);
        assertEquals("toolkit\n", above.output());
        for (Path inside : List.of(home, output)) {
            OtherUser.Result r = OtherUser.run("ls", inside.toString());
            assertNotEquals(0, r.exit(), r.toString());
            assertTrue(r.output().contains("Permission denied"), r.toString());
        }
        OtherUser.Result read = OtherUser.run("cat", output.resolve("exec-test.stdout.log").toString());
        assertNotEquals(0, read.exit(), read.toString());
        assertTrue(read.output().contains("Permission denied"), read.toString());
    }

    /** `exec-command --sandbox -- true` with the toolkit home HOME (the sandbox keeps its keys in HOME/sandbox). */
    private static Runs.Result sandboxRun(Path home) {
        TestSupport.freshEnvironment(Map.of("VPS_TOOLKIT_HOME", home.toString()));
        TestSupport.sandbox(home.resolve("sandbox"));   // stopped at the end of the run, should one start
        return Runs.exec(List.of("--sandbox", "--", "true"));
    }

    private static void assertRefused(Runs.Result r, Path folder, String... said) {
        assertEquals(2, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: CONFIG: the toolkit refuses the folder " + folder + " (owner "), r.toString());
        assertTrue(r.stderr().contains("\nhint: "), r.toString());
        for (String s : said) {
            assertTrue(r.stderr().contains(s), "says " + s + ": " + r);
        }
    }

    private static List<Path> list(Path folder) throws Exception {
        try (Stream<Path> s = Files.list(folder)) {
            return s.toList();
        }
    }

    private static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }
}
