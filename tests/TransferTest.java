import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** sftp-put and sftp-get against a real OpenSSH server: exact, atomic, resumable, verified. */
class TransferTest extends VpsTestBase {
    static Runs.Result put(List<String> target, String... args) {
        return Runs.run(TestSupport.args(target, args), new byte[0], SftpPut::new);
    }

    static Runs.Result putStdin(byte[] stdin, String... args) {
        return Runs.run(TestSupport.args(vps.target("root"), args), stdin, SftpPut::new);
    }

    static Runs.Result get(List<String> target, String... args) {
        return Runs.run(TestSupport.args(target, args), new byte[0], SftpGet::new);
    }

    static Runs.Result put(String... args) {
        return put(vps.target("root"), args);
    }

    static Runs.Result get(String... args) {
        return get(vps.target("root"), args);
    }

    static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 64 << 20})
    void roundTripIsByteExact(int size, @TempDir Path dir) throws Exception {
        byte[] data = random(size, size);
        Path src = Files.write(dir.resolve("src.bin"), data);
        String remote = "/tmp/rt-" + size + ".bin";
        Runs.Result up = put("--json", src.toString(), remote);
        assertEquals(0, up.exit(), up.toString());
        Map<?, ?> j = up.json();
        assertEquals(Sha256.hex(digestOf(data)), j.get("sha256"));
        assertEquals((long) size, j.get("bytes"));
        assertEquals(Sha256.hex(digestOf(data)), vps.exec("sha256sum < " + remote).substring(0, 64));
        Path back = dir.resolve("back.bin");
        Runs.Result down = get(remote, back.toString());
        assertEquals(0, down.exit(), down.toString());
        assertArrayEquals(data, Files.readAllBytes(back));
        assertEquals("", vps.exec("ls -A /tmp | grep vps-partial || true").trim(), "no partial file left behind");
    }

    /**
     * The hashing thread works through batches that go round a small pool while the caller keeps
     * feeding pieces of every size: a batch refilled before it was hashed would change the digest.
     */
    @Test
    void backgroundDigestMatchesOnePassOverTheSameBytes() {
        byte[] data = new byte[23 * 1024 * 1024 + 17];   // many more batches than the pool holds
        new Random(7).nextBytes(data);
        Random sizes = new Random(11);
        try (BackgroundDigest background = new BackgroundDigest()) {
            for (int at = 0; at < data.length; ) {
                int n = Math.min(data.length - at, sizes.nextInt(3) == 0 ? 1 + sizes.nextInt(64) : 1 + sizes.nextInt(3 << 20));
                background.update(data, at, n);
                at += n;
            }
            assertEquals(Sha256.hex(digestOf(data)), background.hex());
        }
    }

    /** Verification takes what the server has: sha256sum and openssl, openssl alone, or neither (read back over SFTP). */
    @Test
    void verifiesWithWhateverHasherTheServerHas(@TempDir Path dir) throws Exception {
        byte[] small = random(1000, 7);
        byte[] large = random((int) RemoteFs.LARGE_FILE + 1, 8);
        Path src = Files.createDirectory(dir.resolve("src"));
        Files.write(src.resolve("small.bin"), small);
        Files.write(src.resolve("large.bin"), large);
        try (VpsServer own = new VpsServer()) {
            for (String remove : List.of("", "/usr/bin/sha256sum", "/usr/bin/openssl")) {
                if (!remove.isEmpty()) {
                    own.exec("rm " + remove);
                }
                Runs.Result up = put(own.target("root"), "--json", src.resolve("small.bin").toString(), src.resolve("large.bin").toString(), "/tmp/");
                assertEquals(0, up.exit(), "after removing '" + remove + "': " + up);
                Path back = Files.createDirectories(dir.resolve("back" + remove.replace('/', '-')));
                Runs.Result down = get(own.target("root"), "/tmp/small.bin", "/tmp/large.bin", back.toString());
                assertEquals(0, down.exit(), "after removing '" + remove + "': " + down);
                assertArrayEquals(small, Files.readAllBytes(back.resolve("small.bin")));
                assertArrayEquals(large, Files.readAllBytes(back.resolve("large.bin")));
            }
        }
    }

    static java.security.MessageDigest digestOf(byte[] data) {
        java.security.MessageDigest d = Sha256.digest();
        d.update(data);
        return d;
    }

    @Test
    void aTreeOfAThousandFilesRoundTrips(@TempDir Path dir) throws Exception {
        Path tree = Files.createDirectories(dir.resolve("tree"));
        for (int i = 0; i < 1000; i++) {
            Path sub = Files.createDirectories(tree.resolve("d" + (i % 10)));
            Files.write(sub.resolve("f" + i + ".txt"), ("file " + i + "\n").repeat(i % 7).getBytes(StandardCharsets.UTF_8));
        }
        Files.createSymbolicLink(tree.resolve("link"), Path.of("d1/f1.txt"));
        vps.exec("rm -rf /tmp/tree-up");
        Runs.Result up = put("--json", tree.toString(), "/tmp/tree-up");
        assertEquals(0, up.exit(), up.toString());
        assertEquals("1000", vps.exec("find /tmp/tree-up -type f | wc -l").trim());
        assertEquals("d1/f1.txt", vps.exec("readlink /tmp/tree-up/link").trim(), "symlinks are recreated by default");
        Path back = dir.resolve("back");
        Runs.Result down = get("/tmp/tree-up", back.toString());
        assertEquals(0, down.exit(), down.toString());
        try (Stream<Path> files = Files.walk(tree)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(back.resolve(tree.relativize(f))), f.toString());
            }
        }
        assertTrue(Files.isSymbolicLink(back.resolve("link")));
    }

    @Test
    void awkwardNamesRoundTripExactly(@TempDir Path dir) throws Exception {
        List<String> names = List.of("with space", "quote'single", "double\"quote", "new\nline", "$(touch pwned)", "-leading-dash",
                "ünïcödé 日本", "back\\slash", "star*", "semi;colon");
        Path src = Files.createDirectories(dir.resolve("awkward"));
        for (String n : names) {
            Files.writeString(src.resolve(n), "content of " + n);
        }
        vps.exec("rm -rf /tmp/awk");
        Runs.Result up = put("--mkdir", src.toString(), "/tmp/awk/");
        assertEquals(0, up.exit(), up.toString());
        Path back = dir.resolve("back");
        Runs.Result down = get("/tmp/awk/awkward", back.toString());
        assertEquals(0, down.exit(), down.toString());
        for (String n : names) {
            assertEquals("content of " + n, Files.readString(back.resolve(n)), n);
        }
        assertEquals("", vps.exec("ls /root/pwned /tmp/pwned 2>/dev/null || true").trim(), "nothing was interpreted by a shell");
        Runs.Result single = put(src.resolve("-leading-dash").toString(), "/tmp/awk/$(touch pwned) 'x'");
        assertEquals(0, single.exit(), single.toString());
        assertEquals("content of -leading-dash", vps.exec("cat \"/tmp/awk/\\$(touch pwned) 'x'\""));
    }

    @Test
    void stdinToARemoteFileAndBackToStdout() {
        byte[] config = "key: value\nother: 'quoted'\n".getBytes(StandardCharsets.UTF_8);
        Runs.Result up = putStdin(config, "-", "/tmp/from-stdin.yml");
        assertEquals(0, up.exit(), up.toString());
        Runs.Result down = get("/tmp/from-stdin.yml", "-");
        assertArrayEquals(config, down.stdoutBytes());
    }

    @Test
    void replacingKeepsTheTargetsModeAndNoClobberRefuses(@TempDir Path dir) throws Exception {
        vps.exec("printf old > /tmp/secret.conf; chmod 600 /tmp/secret.conf");
        Path src = Files.writeString(dir.resolve("secret.conf"), "new");
        Files.setPosixFilePermissions(src, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        Runs.Result refused = put("--no-clobber", "--json", src.toString(), "/tmp/secret.conf");
        assertEquals(1, refused.exit(), refused.toString());
        assertEquals("exists", ((Map<?, ?>) ((List<?>) refused.json().get("files")).get(0)).get("status"));
        assertEquals("old", vps.exec("cat /tmp/secret.conf"));
        assertEquals(0, put(src.toString(), "/tmp/secret.conf").exit());
        assertEquals("new", vps.exec("cat /tmp/secret.conf"));
        assertEquals("600", vps.exec("stat -c %a /tmp/secret.conf").trim(), "a 0600 file stays 0600");
    }

    @Test
    void preserveKeepsModeAndTime(@TempDir Path dir) throws Exception {
        Path src = Files.writeString(dir.resolve("tool.sh"), "#!/bin/sh\necho hi\n");
        Files.setPosixFilePermissions(src, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-x---"));
        Files.setLastModifiedTime(src, java.nio.file.attribute.FileTime.fromMillis(1_600_000_000_000L));
        assertEquals(0, put("--preserve", src.toString(), "/tmp/tool.sh").exit());
        assertEquals("750 1600000000", vps.exec("stat -c '%a %Y' /tmp/tool.sh").trim());
    }

    @Test
    void remoteGlobs(@TempDir Path dir) {
        vps.exec("rm -rf /tmp/logs; mkdir /tmp/logs; for i in 1 2 3; do echo $i > /tmp/logs/app$i.log; done; echo x > /tmp/logs/other.txt");
        Runs.Result r = get("/tmp/logs/*.log", dir.toString() + "/");
        assertEquals(0, r.exit(), r.toString());
        assertTrue(Files.exists(dir.resolve("app1.log")) && Files.exists(dir.resolve("app3.log")));
        assertFalse(Files.exists(dir.resolve("other.txt")));
    }

    @Test
    void badPathsFailClearlyAndChangeNothing(@TempDir Path dir) throws Exception {
        Runs.Result missing = put(dir.resolve("nope").toString(), "/tmp/x");
        assertEquals(2, missing.exit(), missing.toString());
        assertTrue(missing.stderr().startsWith("vps: CONFIG: local file " + dir.resolve("nope") + " does not exist"), missing.stderr());
        Path src = Files.writeString(dir.resolve("f"), "x");
        Runs.Result denied = put(vps.target("alice"), src.toString(), "/root/forbidden.txt");
        assertEquals(1, denied.exit(), denied.toString());
        assertTrue(denied.stderr().startsWith("vps: REMOTE: ") && denied.stderr().contains("/root/forbidden.txt on 127.0.0.1: permission denied for alice"),
                denied.stderr());
        Runs.Result noDir = put(src.toString(), "/tmp/no/such/dir/f");
        assertEquals(1, noDir.exit());
        assertTrue(noDir.stderr().contains("--mkdir"), noDir.stderr());
        assertEquals(0, put("--mkdir", src.toString(), "/tmp/made/by/mkdir/f").exit());
        Runs.Result remoteMissing = get("/tmp/does-not-exist", dir.resolve("out").toString());
        assertEquals(1, remoteMissing.exit());
        assertFalse(Files.exists(dir.resolve("out")));
    }

    @Test
    void fullRemoteDiskIsARemoteErrorAndLeavesNoPartialFile(@TempDir Path dir) throws Exception {
        vps.exec("rm -rf /mnt/tiny/*  /mnt/tiny/.[!.]*; printf keep > /mnt/tiny/existing.txt");
        Path big = Files.write(dir.resolve("big.bin"), random(3 << 20, 7));
        Runs.Result r = put("--json", big.toString(), "/mnt/tiny/existing.txt");
        assertEquals(1, r.exit(), r.toString());
        Map<?, ?> error = (Map<?, ?>) r.json().get("error");
        assertEquals("REMOTE", error.get("kind"));
        assertTrue(((String) error.get("message")).contains("no space left"), error.toString());
        assertEquals("keep", vps.exec("cat /mnt/tiny/existing.txt"), "the existing target is intact");
        assertEquals("existing.txt", vps.exec("ls -A /mnt/tiny").trim(), "no partial file left behind");
        Path huge = Files.write(dir.resolve("huge.bin"), random(20 << 20, 8));   // large enough to go over several channels
        Runs.Result striped = put("--json", huge.toString(), "/mnt/tiny/existing.txt");
        assertEquals(1, striped.exit(), striped.toString());
        assertTrue(((String) ((Map<?, ?>) striped.json().get("error")).get("message")).contains("no space left"), striped.toString());
        assertEquals("keep", vps.exec("cat /mnt/tiny/existing.txt"), "the existing target is intact");
        assertEquals("existing.txt", vps.exec("ls -A /mnt/tiny").trim(), "no partial file left behind");
    }

    @Test
    void aLargeUploadOverALinkWithLatencyGoesOverSeveralChannels(@TempDir Path dir) throws Exception {
        byte[] data = random(24 << 20, 13);
        Path src = Files.write(dir.resolve("wide.bin"), data);
        try (TcpProxy proxy = new TcpProxy(vps.port)) {
            proxy.delayMs = 25;
            proxy.bytesPerSecond = 8 << 20;   // about 3 s: time to see the server's side
            List<String> viaProxy = List.of("-H", "127.0.0.1", "-p", Integer.toString(proxy.port()), "-u", "root", "-i", vps.key.toString(),
                    "--host-key", vps.hostKeyFingerprint, "--known-hosts", dir.resolve("kh").toString());
            CompletableFuture<Runs.Result> upload = CompletableFuture.supplyAsync(() -> put(viaProxy, "--json", src.toString(), "/tmp/wide.bin"));
            int most = 0;
            for (long end = System.nanoTime() + 60_000_000_000L; !upload.isDone() && System.nanoTime() < end; ) {
                most = Math.max(most, Integer.parseInt(vps.exec("pgrep -c -x sftp-server || true").trim()));
            }
            Runs.Result r = upload.get(60, TimeUnit.SECONDS);
            assertEquals(0, r.exit(), r.toString());
            assertTrue(most >= 1 + StripedUpload.LANES, "one SFTP channel for the file system and four lanes for the data at once, saw " + most);
            assertEquals(Sha256.hex(digestOf(data)), r.json().get("sha256"));
        }
        assertEquals(Sha256.hex(digestOf(data)), vps.exec("sha256sum < /tmp/wide.bin").substring(0, 64));
    }

    @Test
    void uploadLanesKeepAShallowPipelineNearbyAndADeepOneOverDistance(@TempDir Path dir) throws Exception {
        assertEquals(SftpWriter.MIN_IN_FLIGHT, SftpWriter.inFlightFor(200_000), "0.2 ms");
        assertEquals(20, SftpWriter.inFlightFor(10_000_000), "10 ms");
        assertEquals(SftpWriter.MAX_IN_FLIGHT, SftpWriter.inFlightFor(50_000_000), "50 ms");
        assertEquals(SftpWriter.MAX_IN_FLIGHT, SftpWriter.inFlightFor(-1), "not known");
        try (TcpProxy proxy = new TcpProxy(vps.port)) {
            proxy.delayMs = 25;   // each way: a 50 ms round trip
            Path knownHosts = Files.writeString(dir.resolve("kh"), vps.knownHostsLine(vps.port) + "\n" + vps.knownHostsLine(proxy.port()) + "\n");
            assertTrue(depthMeasuredVia(vps.port, knownHosts) < SftpWriter.MAX_IN_FLIGHT, "loopback needs no deep pipeline");
            assertEquals(SftpWriter.MAX_IN_FLIGHT, depthMeasuredVia(proxy.port(), knownHosts));
        }
    }

    /** The depth an upload picks after the stat calls it makes anyway (the destination, the partial). */
    private static int depthMeasuredVia(int port, Path knownHosts) {
        try (VpsConnection c = VpsConnection.open(vps.resolved("root", port, knownHosts), null); RemoteFs fs = RemoteFs.open(c)) {
            fs.stat("/tmp");
            fs.lstat("/tmp/.no-such.vps-partial.0123456789abcdef");
            return SftpWriter.inFlightFor(fs.fastestReplyNanos());
        }
    }

    @Test
    void aServerThatAllowsFewChannelsStillTakesALargeUpload(@TempDir Path dir) throws Exception {
        int port = vps.extraSshd("MaxSessions=2");   // the file system's channel and one lane
        Path knownHosts = Files.writeString(dir.resolve("kh"), vps.knownHostsLine(port) + "\n");
        List<String> target = List.of("-H", "127.0.0.1", "-p", Integer.toString(port), "-u", "root", "-i", vps.key.toString(),
                "--known-hosts", knownHosts.toString());
        byte[] data = random(20 << 20, 17);
        Path src = Files.write(dir.resolve("narrow.bin"), data);
        Runs.Result r = put(target, "--json", src.toString(), "/tmp/narrow.bin");
        assertEquals(0, r.exit(), r.toString());
        assertEquals(Sha256.hex(digestOf(data)), vps.exec("sha256sum < /tmp/narrow.bin").substring(0, 64));
    }

    @Test
    void aServerThatAllowsOneChannelAtATimeStillTakesAndGivesFiles(@TempDir Path dir) throws Exception {
        int port = vps.extraSshd("MaxSessions=1");   // SFTP, lanes and hash commands cannot be open together
        Path knownHosts = Files.writeString(dir.resolve("kh"), vps.knownHostsLine(port) + "\n");
        List<String> target = List.of("-H", "127.0.0.1", "-p", Integer.toString(port), "-u", "root", "-i", vps.key.toString(),
                "--known-hosts", knownHosts.toString());
        String folder = "/tmp/one-channel-" + dir.getFileName();   // the suite's engine pass runs this again on the same server
        byte[] small = random(1000, 19);
        byte[] large = random(20 << 20, 23);
        Path src = Files.createDirectory(dir.resolve("src"));
        Files.write(src.resolve("small.bin"), small);
        Files.write(src.resolve("large.bin"), large);
        Runs.Result up = put(target, "--json", src.resolve("small.bin").toString(), src.resolve("large.bin").toString(), folder + "/");
        assertEquals(1, up.exit(), "the folder is missing: " + up);
        up = put(target, "--json", "--mkdir", src.resolve("small.bin").toString(), src.resolve("large.bin").toString(), folder + "/");
        assertEquals(0, up.exit(), up.toString());
        assertEquals(Sha256.hex(digestOf(large)), vps.exec("sha256sum < " + folder + "/large.bin").substring(0, 64));
        Path back = Files.createDirectory(dir.resolve("back"));
        Runs.Result down = get(target, folder + "/small.bin", folder + "/large.bin", back.toString());
        assertEquals(0, down.exit(), down.toString());
        assertArrayEquals(small, Files.readAllBytes(back.resolve("small.bin")));
        assertArrayEquals(large, Files.readAllBytes(back.resolve("large.bin")));
    }

    @Test
    void aCutConnectionIsResumedWithinTheSameCall(@TempDir Path dir) throws Exception {
        byte[] data = random(48 << 20, 11);
        Path src = Files.write(dir.resolve("big.bin"), data);
        vps.exec("rm -f /tmp/.resume.bin.vps-partial*; printf old > /tmp/resume.bin");
        try (TcpProxy proxy = new TcpProxy(vps.port)) {
            proxy.bytesPerSecond = 8 << 20;
            List<String> viaProxy = List.of("-H", "127.0.0.1", "-p", Integer.toString(proxy.port()), "-u", "root", "-i", vps.key.toString(),
                    "--host-key", vps.hostKeyFingerprint, "--known-hosts", dir.resolve("kh").toString());
            Thread cutter = cutWhenPartialReaches("/tmp/.resume.bin.vps-partial.", 8 << 20, proxy::cutAll);
            Runs.Result cut = put(viaProxy, "--json", src.toString(), "/tmp/resume.bin");
            cutter.join(30_000);
            assertEquals(0, cut.exit(), "a dropped link is reconnected and the transfer resumed: " + cut);
            Map<?, ?> file = (Map<?, ?>) ((List<?>) cut.json().get("files")).get(0);
            assertTrue(((Number) file.get("resumedFrom")).longValue() > 0, "resumed, not restarted: " + file);
            assertTrue(((Number) file.get("sent")).longValue() < data.length, "sent less than the whole file again: " + file);
        }
        assertEquals(Sha256.hex(digestOf(data)), vps.exec("sha256sum < /tmp/resume.bin").substring(0, 64));
        assertEquals("", vps.exec("ls -A /tmp/.resume.bin.vps-partial* 2>/dev/null"), "no partial file left behind");
    }

    @Test
    void killedServerMidDownloadLeavesTheTargetAndTheRerunResumes(@TempDir Path dir) throws Exception {
        vps.exec("head -c 48000000 /dev/urandom > /tmp/dl.bin");
        String remoteHash = vps.exec("sha256sum < /tmp/dl.bin").substring(0, 64);
        int port = vps.extraSshd();
        Path target = Files.writeString(dir.resolve("dl.bin"), "old");
        java.util.function.Supplier<Path> partial = () -> partialOf(dir, "dl.bin");
        try (TcpProxy proxy = new TcpProxy(port)) {
            proxy.bytesPerSecond = 8 << 20;
            List<String> viaProxy = List.of("-H", "127.0.0.1", "-p", Integer.toString(proxy.port()), "-u", "root", "-i", vps.key.toString(),
                    "--host-key", vps.hostKeyFingerprint, "--known-hosts", dir.resolve("kh").toString());
            Thread killer = new Thread(() -> {
                long deadline = System.nanoTime() + 30_000_000_000L;
                try {
                    while (System.nanoTime() < deadline && (partial.get() == null || Files.size(partial.get()) < (8 << 20))) {
                        Thread.sleep(50);
                    }
                } catch (IOException | InterruptedException e) {
                    return;
                }
                // the listener and its per-connection children (privilege-separation monitors)
                vps.exec("l=$(pgrep -f '[s]shd -D -e -p " + port + " '); pkill -KILL -P $l; kill -KILL $l");
            });
            killer.start();
            Runs.Result killed = get(viaProxy, "/tmp/dl.bin", target.toString());
            killer.join(30_000);
            assertEquals(255, killed.exit(), killed.toString());
        }
        assertEquals("old", Files.readString(target), "the local target is untouched");
        assertTrue(Files.size(partial.get()) > 0);
        Runs.Result rerun = get("--json", "/tmp/dl.bin", target.toString());
        assertEquals(0, rerun.exit(), rerun.toString());
        Map<?, ?> file = (Map<?, ?>) ((List<?>) rerun.json().get("files")).get(0);
        assertTrue(((Number) file.get("resumedFrom")).longValue() > 0, "resumed: " + file);
        assertEquals(remoteHash, file.get("sha256"));
        assertEquals(null, partial.get());
    }

    /** The partial file of NAME in DIR (.NAME.vps-partial.RANDOM), or null. */
    private static Path partialOf(Path dir, String name) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith("." + name + ".vps-partial.")).findFirst().orElse(null);
        } catch (IOException e) {
            return null;
        }
    }

    /** Runs CUT once a partial whose name starts with PREFIX has BYTES (or after 30 s). */
    static Thread cutWhenPartialReaches(String prefix, long bytes, Runnable cut) {
        Thread t = new Thread(() -> {
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (System.nanoTime() < deadline) {
                String size = vps.exec("s=$(stat -c %s " + prefix + "* 2>/dev/null | sort -n | tail -n 1); echo ${s:-0}").trim();
                if (Long.parseLong(size) >= bytes) {
                    break;
                }
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
            }
            cut.run();
        });
        t.start();
        return t;
    }

}
