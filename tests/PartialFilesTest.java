import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * sftp-put's partial files on the server are ours from their first byte: created new (nothing at their
 * name is written through) with mode 0600 in the OPEN itself, under a random name, and a rerun resumes
 * only a partial that is a regular file of the login user's, with one link and mode 0600. The other user
 * is mallory, who can write the shared folder /srv/drop (mode 1777, like /tmp) as alice can.
 */
class PartialFilesTest extends VpsTestBase {
    private static final String DROP = "/srv/drop";

    @BeforeAll
    static void otherUserAndSharedFolder() {
        vps.exec("id mallory >/dev/null 2>&1 || useradd -m -s /bin/bash mallory; mkdir -p " + DROP + " && chmod 1777 " + DROP);
    }

    /** Lines 1..N of seq(1), as the server's `seq 1 N` prints them: the same bytes on both sides without copying any. */
    private static byte[] seq(int n) {
        StringBuilder s = new StringBuilder();
        for (int i = 1; i <= n; i++) {
            s.append(i).append('\n');
        }
        return s.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static Runs.Result putAs(String user, String... args) {
        return TransferTest.put(vps.target(user), args);
    }

    private static String sha256(byte[] data) {
        return Sha256.hex(TransferTest.digestOf(data));
    }

    private static String remoteSha256(String path) {
        return vps.exec("sha256sum < " + path + " | cut -c1-64").trim();
    }

    private static Map<?, ?> onlyFile(Runs.Result r) {
        return (Map<?, ?>) ((List<?>) r.json().get("files")).get(0);
    }

    @Test
    void partialsAreCreatedNewWithMode0600InTheOpenItself(@TempDir Path dir) throws Exception {
        vps.exec("rm -rf " + DROP + "/created && mkdir " + DROP + "/created && chown alice " + DROP + "/created");
        Path small = Files.writeString(dir.resolve("small.txt"), "a secret\n");
        Path large = Files.write(dir.resolve("large.bin"), TransferTest.random(20 << 20, 5));   // striped: several lanes open it
        try (LoggingSshd sshd = new LoggingSshd("created")) {
            List<String> alice = sshd.login("alice", dir);
            Runs.Result up = TransferTest.put(alice, "--json", small.toString(), large.toString(), DROP + "/created/");
            assertEquals(0, up.exit(), up.toString());
            String log = sshd.log();
            for (String name : List.of("small.txt", "large.bin")) {
                Matcher open = Pattern.compile("open \"" + Pattern.quote(DROP + "/created/." + name + ".vps-partial.") + "[0-9a-f]{16}\" flags (\\S+) mode (\\S+)")
                        .matcher(log);
                assertTrue(open.find(), "the partial of " + name + " was opened by a random name: " + log);
                assertEquals("WRITE,CREATE,EXCL", open.group(1), "created new, never truncated nor written through: " + open.group());
                assertEquals("0600", open.group(2), "private in the OPEN itself: " + open.group());
            }
            assertTrue(!Pattern.compile("set \"[^\"]*vps-partial[^\"]*\" mode 0600").matcher(log).find(), "no chmod made it private afterwards: " + log);
            assertTrue(!log.contains("TRUNCATE"), log);
        }
        assertEquals("a secret", vps.exec("cat " + DROP + "/created/small.txt").trim());
        assertEquals(sha256(Files.readAllBytes(large)), remoteSha256(DROP + "/created/large.bin"));
        assertEquals("", vps.exec("ls -A " + DROP + "/created | grep vps-partial || true"), "no partial left behind");
    }

    @Test
    void aLinkPlantedAtThePartialsNameIsNeverWrittenThrough(@TempDir Path dir) throws Exception {
        vps.exec("cd " + DROP + " && rm -rf .note.txt* note.txt; printf precious > /home/alice/victim.txt; chown alice /home/alice/victim.txt;"
                + " chmod 644 /home/alice/victim.txt; su mallory -c 'ln -s /home/alice/victim.txt " + DROP + "/.note.txt.vps-partial;"
                + " ln -s /home/alice/victim.txt " + DROP + "/.note.txt.vps-partial.0000000000000000'");
        Path note = Files.writeString(dir.resolve("note.txt"), "for the shared folder\n");
        Runs.Result up = putAs("alice", "--json", note.toString(), DROP + "/note.txt");
        assertEquals("precious 644", vps.exec("cat /home/alice/victim.txt; echo \" $(stat -c %a /home/alice/victim.txt)\"").trim(),
                "the file the link points to is untouched");
        assertEquals(0, up.exit(), up.toString());
        assertEquals("regular file alice for the shared folder", vps.exec("stat -c '%F %U' " + DROP + "/note.txt | tr -d '\\n'; echo \" $(cat " + DROP + "/note.txt)\"").trim());
        assertEquals("symbolic link mallory\nsymbolic link mallory", vps.exec("stat -c '%F %U' " + DROP + "/.note.txt.vps-partial*").trim(),
                "what mallory planted is left alone");
    }

    @Test
    void aNameNearTheLimitStillGetsAPartialName(@TempDir Path dir) throws Exception {
        String name = "é".repeat(100) + "x".repeat(50);   // 250 bytes: the name, dot and suffixes would not fit in 255
        Path src = Files.writeString(dir.resolve("long.txt"), "long name\n");
        vps.exec("rm -rf " + DROP + "/long && mkdir " + DROP + "/long && chown alice " + DROP + "/long");
        Runs.Result up = putAs("alice", "--json", src.toString(), DROP + "/long/" + name);
        assertEquals(0, up.exit(), up.toString());
        assertEquals("long name", vps.exec("cat " + DROP + "/long/" + name).trim());
    }

    /**
     * The local file shrank below the partial an earlier run left (issue 24): that partial cannot be a
     * prefix of it. The upload sends the new content whole and verified, and leaves the earlier partial
     * as it was (never resumed from, cut or counted past the file's end).
     */
    @Test
    void aLocalFileNowShorterThanTheEarlierPartialIsSentWholeAndThePartialIsLeftIntact(@TempDir Path dir) throws Exception {
        byte[] data = TransferTest.random(48 << 20, 31);
        Path src = Files.write(dir.resolve("shrunk.bin"), data);
        String target = DROP + "/shrunk.bin";
        vps.exec("rm -f " + DROP + "/.shrunk.bin.vps-partial* " + target);
        try (TcpProxy proxy = new TcpProxy(vps.port)) {
            proxy.bytesPerSecond = 8 << 20;
            List<String> viaProxy = List.of("-H", "127.0.0.1", "-p", Integer.toString(proxy.port()), "-u", "alice", "-i", vps.key.toString(),
                    "--host-key", vps.hostKeyFingerprint, "--known-hosts", dir.resolve("kh").toString());
            Thread cutter = TransferTest.cutWhenPartialReaches(DROP + "/.shrunk.bin.vps-partial.", 20 << 20, () -> {
                try {
                    proxy.close();
                } catch (java.io.IOException ignored) {
                    // already closed
                }
            });
            Runs.Result cut = TransferTest.put(viaProxy, "--json", src.toString(), target);
            cutter.join(30_000);
            assertEquals(255, cut.exit(), cut.toString());
        }
        String partial = vps.exec("ls " + DROP + "/.shrunk.bin.vps-partial.*").trim();
        String before = vps.exec("stat -c '%s %Y' " + partial + "; sha256sum < " + partial).trim();
        byte[] shorter = java.util.Arrays.copyOf(data, 10 << 20);   // below the partial's 20 MiB and more
        Files.write(src, shorter);
        Runs.Result rerun = putAs("alice", "--json", src.toString(), target);
        assertEquals(0, rerun.exit(), rerun.toString());
        Map<?, ?> file = onlyFile(rerun);
        assertTrue(file.get("resumedFrom") == null || ((Number) file.get("resumedFrom")).longValue() == 0, "not resumed: " + file);
        assertEquals(sha256(shorter), remoteSha256(target));
        assertEquals(before, vps.exec("stat -c '%s %Y' " + partial + "; sha256sum < " + partial).trim(), "the earlier partial is as it was");
        vps.exec("rm -f " + partial);
    }

    /**
     * Each kind of file that is not our partial is planted, holding the first 2 MiB of the upload (so its hash
     * would match), both at the name a partial used to have and at a name a partial has now; the upload must
     * start afresh and leave it as it was.
     */
    @ParameterizedTest
    @ValueSource(strings = {"link", "foreign", "two-links", "readable"})
    void aResumeRefusesAnEarlierPartialThatIsNotOurs(String kind, @TempDir Path dir) throws Exception {
        byte[] data = seq(600_000);   // about 4 MiB: big enough to be resumed
        Path src = Files.write(dir.resolve("big.bin"), data);
        String name = "big-" + kind + ".bin";
        String legacy = DROP + "/." + name + ".vps-partial";
        String current = legacy + ".00000000000000aa";
        String bait = "/home/alice/bait-" + kind + ".bin";
        vps.exec("rm -f " + DROP + "/" + name + " " + legacy + "* " + bait + "; seq 1 600000 | head -c 2097152 > /tmp/prefix-" + kind);
        String plant = switch (kind) {
            // mallory's links to a file of alice's: following one writes alice's file
            case "link" -> "install -o alice -m 600 /tmp/prefix-KIND BAIT; su mallory -c 'ln -s BAIT LEGACY; ln -s BAIT CURRENT'";
            // mallory's own files, writable by all: writing one hands mallory the data
            case "foreign" -> "install -o mallory -m 666 /tmp/prefix-KIND LEGACY; install -o mallory -m 666 /tmp/prefix-KIND CURRENT";
            // alice's files, but with another name elsewhere: writing one changes that file too
            case "two-links" -> "install -o alice -m 600 /tmp/prefix-KIND BAIT; ln BAIT LEGACY; ln BAIT CURRENT";
            // alice's files that others could read while they grow
            default -> "install -o alice -m 644 /tmp/prefix-KIND LEGACY; install -o alice -m 644 /tmp/prefix-KIND CURRENT";
        };
        vps.exec(plant.replace("KIND", kind).replace("BAIT", bait).replace("LEGACY", legacy).replace("CURRENT", current));
        String before = planted(legacy, current, bait);
        Runs.Result up = putAs("alice", "--json", src.toString(), DROP + "/" + name);
        assertEquals(before, planted(legacy, current, bait), "what was planted is left as it was");
        assertEquals(0, up.exit(), up.toString());
        assertEquals(0L, ((Number) onlyFile(up).get("resumedFrom")).longValue(), "started afresh: " + up);
        assertEquals(sha256(data), remoteSha256(DROP + "/" + name));
        assertEquals("regular file alice 1", vps.exec("stat -c '%F %U %h' " + DROP + "/" + name).trim());
    }

    /** Type, owner, links, mode and content of what was planted. */
    private static String planted(String... paths) {
        StringBuilder s = new StringBuilder();
        for (String p : paths) {
            s.append(vps.exec("stat -c '%F %U %h %a' " + p + " 2>/dev/null; sha256sum < " + p + " 2>/dev/null"));
        }
        return s.toString();
    }

    @Test
    void aCutUploadLeavesAPrivatePartialOfOursThatTheRerunResumes(@TempDir Path dir) throws Exception {
        byte[] data = TransferTest.random(48 << 20, 29);
        Path src = Files.write(dir.resolve("cut.bin"), data);
        String target = DROP + "/cut.bin";
        vps.exec("rm -f " + DROP + "/.cut.bin.vps-partial* " + target);
        try (TcpProxy proxy = new TcpProxy(vps.port)) {
            proxy.bytesPerSecond = 8 << 20;   // about 6 s for the whole file
            List<String> viaProxy = List.of("-H", "127.0.0.1", "-p", Integer.toString(proxy.port()), "-u", "alice", "-i", vps.key.toString(),
                    "--host-key", vps.hostKeyFingerprint, "--known-hosts", dir.resolve("kh").toString());
            // Past size - LOOKAHEAD every byte was written: a rerun surely keeps some.
            Thread cutter = TransferTest.cutWhenPartialReaches(DROP + "/.cut.bin.vps-partial.", 20 << 20, () -> {
                try {
                    proxy.close();   // cut, and no way back in: the call gives up
                } catch (java.io.IOException ignored) {
                    // already closed
                }
            });
            Runs.Result cut = TransferTest.put(viaProxy, "--json", src.toString(), target);
            cutter.join(30_000);
            assertEquals(255, cut.exit(), cut.toString());
        }
        String left = vps.exec("stat -c '%F %U %h %a' " + DROP + "/.cut.bin.vps-partial.*").trim();
        assertEquals("regular file alice 1 600", left, "one partial, private and ours");
        assertEquals("", vps.exec("ls " + target + " 2>/dev/null"), "the target was not created");
        Runs.Result rerun = putAs("alice", "--json", src.toString(), target);
        assertEquals(0, rerun.exit(), rerun.toString());
        Map<?, ?> file = onlyFile(rerun);
        assertTrue(((Number) file.get("resumedFrom")).longValue() > 0, "resumed: " + file);
        assertTrue(((Number) file.get("sent")).longValue() < data.length, "sent less than the whole file: " + file);
        assertEquals(sha256(data), remoteSha256(target));
        assertEquals("", vps.exec("ls -A " + DROP + " | grep '^.cut.bin.vps-partial' || true"), "no partial left behind");
    }

    /**
     * A file's final mode, owner and times are set on the handle that wrote it, before its CLOSE, never by name
     * afterwards: a SETSTAT by name follows whatever link another user of a folder they can write has put at the
     * partial's name meanwhile. Replacing keeps the target's mode 0640 and, as root, its owner mallory (alice, who
     * may not give a file away, asks too and keeps the mode); a new file takes the local mode; --preserve sets the
     * local modification time. Through the whole-file path and the striped one (20 MiB).
     */
    @ParameterizedTest
    @ValueSource(strings = {"small", "striped"})
    void finalAttributesAreSetOnTheHandleBeforeItsCloseNeverByName(String kind, @TempDir Path dir) throws Exception {
        String folder = DROP + "/final-" + kind;
        vps.exec(("rm -rf F && mkdir F && chown alice F && install -o mallory -g mallory -m 640 /dev/null F/replaced"
                + " && install -o root -g root -m 640 /dev/null F/replaced-by-alice").replace("F", folder));
        byte[] data = kind.equals("striped") ? TransferTest.random(20 << 20, 11) : "final attributes\n".getBytes(StandardCharsets.US_ASCII);
        Path replaced = local(dir, "replaced", data, "rw-r--r--");
        Path fresh = local(dir, "fresh", data, "rwxr-x--x");
        Path byAlice = local(dir, "replaced-by-alice", data, "rw-r--r--");
        Path dated = local(dir, "dated", data, "rw----r--");
        java.time.Instant then = java.time.Instant.parse("2001-02-03T04:05:06Z");
        Files.setLastModifiedTime(dated, java.nio.file.attribute.FileTime.from(then));
        try (LoggingSshd sshd = new LoggingSshd("final-" + kind)) {
            List<String> root = sshd.login("root", dir);
            List<String> alice = sshd.login("alice", dir);
            for (Runs.Result up : List.of(TransferTest.put(root, "--json", replaced.toString(), fresh.toString(), folder + "/"),
                    TransferTest.put(alice, "--json", byAlice.toString(), folder + "/"),
                    TransferTest.put(alice, "--json", "--preserve", dated.toString(), folder + "/"))) {
                assertEquals(0, up.exit(), up.toString());
            }
            String log = sshd.log();
            String mallory = vps.exec("echo \"owner $(id -u mallory) group $(id -g mallory)\"").trim();
            String modtime = vps.exec("date -d @" + then.getEpochSecond() + " +%Y%m%d-%H:%M:%S").trim();
            Map<String, List<String>> expected = Map.of(
                    "replaced", List.of("fsetstat " + mallory, "fsetstat mode 0640"),
                    "replaced-by-alice", List.of("fsetstat owner 0 group 0", "fsetstat mode 0640"),
                    "fresh", List.of("fsetstat mode 0751"),
                    "dated", List.of("fsetstat mode 0604", "fsetstat modtime " + modtime));
            expected.forEach((name, settings) -> {
                List<String> set = settingsOf(log, folder + "/." + name + ".vps-partial.");
                assertTrue(set.containsAll(settings), name + ": wanted " + settings + " on the handle, the server was asked " + set);
            });
            assertFalse(Pattern.compile("setstat name \"[^\"]*vps-partial").matcher(log).find(), "nothing set by a partial's name: " + log);
        }
        assertEquals(String.join("\n", "replaced mallory mallory 640", "fresh root root 751", "replaced-by-alice alice alice 640", "dated alice alice 604 " + then.getEpochSecond()),
                vps.exec("cd " + folder + " && stat -c '%n %U %G %a' replaced fresh replaced-by-alice && echo \"$(stat -c '%n %U %G %a %Y' dated)\"").trim());
        assertEquals(sha256(data), remoteSha256(folder + "/replaced"));
        assertEquals("", vps.exec("ls -A " + folder + " | grep vps-partial || true"), "no partial left behind");
    }

    private static Path local(Path dir, String name, byte[] data, String mode) throws java.io.IOException {
        Path file = Files.write(dir.resolve(name), data);
        Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString(mode));
        return file;
    }

    /**
     * What the log says was set on the files whose path starts with PREFIX, each as the request that set it and what
     * sftp-server logged of it: "fsetstat mode 0640" (on a handle), "setstat owner 0 group 0" (by name).
     */
    private static List<String> settingsOf(String log, String prefix) {
        List<String> settings = new ArrayList<>();
        Pattern request = Pattern.compile("request \\d+: (\\w+)");
        Pattern set = Pattern.compile("set \"(.*)\" (.*)");
        String lastRequest = "?";
        for (String line : log.split("\n")) {
            Matcher r = request.matcher(line);
            if (r.find()) {
                lastRequest = r.group(1);
            }
            Matcher s = set.matcher(line);
            if (s.find() && s.group(1).startsWith(prefix)) {
                settings.add(lastRequest + " " + s.group(2));
            }
        }
        return settings;
    }

    /**
     * An sshd of its own in the container whose sftp-server logs every request (DEBUG: each request's kind, then
     * what it opens or sets) to a file; close() stops it.
     */
    private static final class LoggingSshd implements AutoCloseable {
        final int port;
        private final String base;

        LoggingSshd(String name) throws Exception {
            port = VpsServer.freePort();
            base = "/tmp/logging-sshd-" + name;
            vps.exec("set -e; : > " + base + ".sftp.log; chmod 666 " + base + ".sftp.log; sed 's|^Subsystem.*|Subsystem sftp /usr/lib/openssh/sftp-server -e -l DEBUG 2>>"
                    + base + ".sftp.log|' /etc/ssh/sshd_config > " + base + ".config; /usr/sbin/sshd -f " + base + ".config -p " + port
                    + " -o ListenAddress=127.0.0.1 -o PidFile=" + base + ".pid -E " + base + ".sshd.log");
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (true) {
                try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                    return;
                } catch (java.io.IOException notYet) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("the logging sshd did not start: " + vps.exec("cat " + base + ".sshd.log"));
                    }
                    Thread.sleep(50);
                }
            }
        }

        /** The options that log in as USER through this sshd (its host key written to a known_hosts file in DIR). */
        List<String> login(String user, Path dir) throws java.io.IOException {
            Path knownHosts = Files.writeString(dir.resolve("kh-" + port), vps.knownHostsLine(port) + "\n");
            return List.of("-H", "127.0.0.1", "-p", Integer.toString(port), "-u", user, "-i", vps.key.toString(), "--known-hosts", knownHosts.toString());
        }

        String log() {
            return vps.exec("cat " + base + ".sftp.log");
        }

        @Override
        public void close() {
            vps.exec("kill $(cat " + base + ".pid)");
        }
    }
}
