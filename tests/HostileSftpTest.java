import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.jcraft.jsch.JSch;
import com.jcraft.jsch.KeyPair;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.AbstractMap.SimpleImmutableEntry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongConsumer;
import java.util.stream.Stream;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.auth.pubkey.AcceptAllPublickeyAuthenticator;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.apache.sshd.server.keyprovider.SimpleGeneratorHostKeyProvider;
import org.apache.sshd.sftp.server.SftpSubsystem;
import org.apache.sshd.sftp.server.SftpSubsystemConfigurator;
import org.apache.sshd.sftp.server.SftpSubsystemFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * sftp-get against a hostile SFTP server: MINA SSHD started by each test, serving a real folder but
 * sending crafted names in its listings, crafted link targets, and read errors where told.
 */
class HostileSftpTest {
    private static Path clientKey;

    /** A MINA server whose SFTP subsystem lies where the test says; stopped by the test that started it. */
    static final class Hostile implements AutoCloseable {
        /** Real file name -> the name the listing sends instead. */
        final Map<String, String> names = new ConcurrentHashMap<>();
        /** Real link name -> the target readlink answers instead. */
        final Map<String, String> links = new ConcurrentHashMap<>();
        /** Reads at or past this offset fail (-1: never). */
        volatile long failReadsFrom = -1;
        /** Called with each read's offset before the server reads. */
        volatile LongConsumer beforeRead = offset -> { };
        final SshServer server = SshServer.setUpDefaultServer();
        final String fingerprint;

        Hostile(Path state) throws IOException {
            SimpleGeneratorHostKeyProvider hostKeys = new SimpleGeneratorHostKeyProvider(state.resolve("host_key"));
            hostKeys.setAlgorithm(KeyUtils.EC_ALGORITHM);
            hostKeys.setKeySize(256);
            server.setHost("127.0.0.1");
            server.setPort(0);
            server.setKeyPairProvider(hostKeys);
            server.setPublickeyAuthenticator(AcceptAllPublickeyAuthenticator.INSTANCE);
            server.setPasswordAuthenticator(null);
            server.setKeyboardInteractiveAuthenticator(null);
            // Exec for the SHA-256 checks: the sandbox's shell command, in the state folder.
            server.setCommandFactory((channel, command) -> new SandboxServer.ShellCommand(command, state));
            server.setSubsystemFactories(List.of(new SftpSubsystemFactory() {
                @Override
                public Command createSubsystem(ChannelSession channel) {
                    return new Crafted(channel, this);
                }
            }));
            server.start();
            fingerprint = KeyUtils.getFingerPrint(hostKeys.loadKeys(null).iterator().next().getPublic());
        }

        List<String> target(Path dir) {
            return List.of("-H", "127.0.0.1", "-p", Integer.toString(server.getPort()), "-u", "tester", "-i", clientKey.toString(),
                    "--host-key", fingerprint, "--known-hosts", dir.resolve("known_hosts").toString());
        }

        @Override
        public void close() throws IOException {
            server.stop(true);
        }

        final class Crafted extends SftpSubsystem {
            Crafted(ChannelSession channel, SftpSubsystemConfigurator configurator) {
                super(channel, configurator);
            }

            @Override
            protected String getShortName(Path f) throws IOException {
                String crafted = f.getFileName() == null ? null : names.get(f.getFileName().toString());
                return crafted != null ? crafted : super.getShortName(f);
            }

            @Override
            protected SimpleImmutableEntry<Path, String> doReadLink(int id, String path) throws IOException {
                SimpleImmutableEntry<Path, String> real = super.doReadLink(id, path);
                String crafted = links.get(real.getKey().getFileName().toString());
                return crafted == null ? real : new SimpleImmutableEntry<>(real.getKey(), crafted);
            }

            @Override
            protected int doRead(int id, String handle, long offset, int length, byte[] data, int doff, AtomicReference<Boolean> eof)
                    throws IOException {
                beforeRead.accept(offset);
                long failFrom = failReadsFrom;
                if (failFrom >= 0 && offset >= failFrom) {
                    throw new IOException("injected read failure at " + offset);
                }
                int allowed = failFrom >= 0 ? (int) Math.min(length, failFrom - offset) : length;
                return super.doRead(id, handle, offset, allowed, data, doff, eof);
            }
        }
    }

    @BeforeAll
    static void key() throws Exception {
        Path dir = Files.createTempDirectory("hostile-key");
        KeyPair pair = KeyPair.genKeyPair(new JSch(), KeyPair.ECDSA, 256);
        ByteArrayOutputStream priv = new ByteArrayOutputStream();
        pair.writePrivateKey(priv);
        clientKey = dir.resolve("id");
        Files.write(clientKey, priv.toByteArray());
        Files.setPosixFilePermissions(clientKey, PosixFilePermissions.fromString("rw-------"));
    }

    @BeforeEach
    void freshEnvironment() {
        TestSupport.freshEnvironment();
    }

    private static Runs.Result get(Hostile server, Path dir, String... args) {
        return TransferTest.get(server.target(dir), args);
    }

    /** The remote tree: DIR/remote/srv/site with ok.txt and one real file per crafted name; DIR/remote/escape.txt beside it. */
    private static Path site(Path dir, Hostile server, Map<String, String> crafted) throws IOException {
        Path site = Files.createDirectories(dir.resolve("remote/srv/site"));
        Files.writeString(site.resolve("ok.txt"), "ok\n");
        Files.writeString(dir.resolve("remote/escape.txt"), "escaped\n");
        Files.writeString(dir.resolve("remote/srv/escape.txt"), "escaped\n");
        for (Map.Entry<String, String> e : crafted.entrySet()) {
            Files.writeString(site.resolve(e.getKey()), "payload\n");
            server.names.put(e.getKey(), e.getValue());
        }
        return site;
    }

    private static List<Map<?, ?>> files(Runs.Result r) {
        List<Map<?, ?>> files = new ArrayList<>();
        for (Object o : (List<?>) r.json().get("files")) {
            files.add((Map<?, ?>) o);
        }
        return files;
    }

    private static List<String> tree(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.map(p -> root.relativize(p).toString()).filter(p -> !p.isEmpty()).sorted().toList();
        }
    }

    @Test
    void aNameThatClimbsOutIsRefusedAndTheRestIsDownloaded(@TempDir Path dir) throws Exception {
        try (Hostile server = new Hostile(dir)) {
            Path site = site(dir, server, Map.of("climb", "../../escape.txt"));
            Path dl = Files.createDirectories(dir.resolve("local/dl"));
            Runs.Result r = get(server, dir, "--json", site.toString(), dl.toString());

            assertFalse(Files.exists(dir.resolve("local/escape.txt")), "nothing written outside the destination: " + r);
            assertEquals(List.of("site", "site/ok.txt"), tree(dl), r.toString());
            assertEquals(1, r.exit(), r.toString());
            Map<?, ?> error = (Map<?, ?>) r.json().get("error");
            assertEquals("PROTOCOL", error.get("kind"), r.toString());
            List<Map<?, ?>> files = files(r);
            Map<?, ?> refused = files.stream().filter(f -> f.get("status").equals("refused")).findFirst().orElseThrow();
            assertEquals(site + "/../../escape.txt", refused.get("remote"));
            assertTrue(((String) refused.get("reason")).startsWith("PROTOCOL: "), refused.toString());
            assertTrue(files.stream().anyMatch(f -> f.get("status").equals("done") && ((String) f.get("remote")).endsWith("/ok.txt")), files.toString());
        }
    }

    @Test
    void everyNameThatIsNotOnePlainComponentIsRefused(@TempDir Path dir) throws Exception {
        Map<String, String> crafted = Map.of("n-empty", "", "n-dot", ".", "n-dotdot", "..", "n-absolute", dir.resolve("local/abs.txt").toString(),
                "n-slash", "sub/inner.txt", "n-nul", "x\0y");
        try (Hostile server = new Hostile(dir)) {
            Path site = site(dir, server, crafted);
            // On Unix a backslash is an ordinary character (on Windows, a separator: refused there).
            Files.writeString(site.resolve("..\\..\\bs.txt"), "payload\n");
            Path dl = Files.createDirectories(dir.resolve("local/dl"));
            Runs.Result r = get(server, dir, "--json", site.toString(), dl.toString());

            assertEquals(1, r.exit(), r.toString());
            assertEquals(List.of("dl", "dl/site", "dl/site/..\\..\\bs.txt", "dl/site/ok.txt"), tree(dir.resolve("local")), r.toString());
            List<Map<?, ?>> files = files(r);
            assertEquals(crafted.size(), files.stream().filter(f -> f.get("status").equals("refused")).count(), files.toString());
            assertTrue(files.stream().anyMatch(f -> f.get("remote").equals(site + "/x\\u0000y")), "a NUL is shown escaped: " + files);

            // The same names met by a remote glob.
            Path globbed = Files.createDirectories(dir.resolve("local/globbed"));
            Runs.Result g = get(server, dir, "--json", site + "/*", globbed + "/");
            assertEquals(1, g.exit(), g.toString());
            assertEquals(List.of("ok.txt"), tree(globbed), g.toString());
            // JSch's glob passes over names that start with a dot (the backslash one among them): the others are refused.
            assertEquals(4, files(g).stream().filter(f -> f.get("status").equals("refused")).count(), g.toString());
        }
    }

    @Test
    void aLinkIsRecreatedOnlyWhenItStaysInsideTheDestination(@TempDir Path dir) throws Exception {
        try (Hostile server = new Hostile(dir)) {
            Path site = site(dir, server, Map.of());
            Path elsewhere = Files.writeString(dir.resolve("remote/elsewhere.txt"), "elsewhere\n");
            Files.createDirectories(site.resolve("sub"));
            Files.createSymbolicLink(site.resolve("in-file"), Path.of("ok.txt"));
            Files.createSymbolicLink(site.resolve("sub/in-up"), Path.of("../ok.txt"));
            Files.createSymbolicLink(site.resolve("out-up"), Path.of("../../outside"));
            Files.createSymbolicLink(site.resolve("out-absolute"), elsewhere);
            Files.createSymbolicLink(site.resolve("zigzag"), Path.of("sub/../../.."));
            Files.createSymbolicLink(site.resolve("crafted"), Path.of("ok.txt"));
            server.links.put("crafted", "../../../../etc");   // readlink answers other than the link says
            Path dl = Files.createDirectories(dir.resolve("local/dl"));

            Runs.Result r = get(server, dir, "--json", "--symlinks", "keep", site.toString(), dl.toString());
            assertEquals(0, r.exit(), r.toString());
            Path local = dl.resolve("site");
            assertEquals(Path.of("ok.txt"), Files.readSymbolicLink(local.resolve("in-file")));
            assertEquals(Path.of("../ok.txt"), Files.readSymbolicLink(local.resolve("sub/in-up")));
            for (String out : List.of("out-up", "out-absolute", "zigzag", "crafted")) {
                assertFalse(Files.exists(local.resolve(out), LinkOption.NOFOLLOW_LINKS), out + " is not recreated: " + r);
                Map<?, ?> f = files(r).stream().filter(m -> ((String) m.get("remote")).endsWith("/" + out)).findFirst().orElseThrow();
                assertEquals("skipped-symlink", f.get("status"), f.toString());
                assertTrue(((String) f.get("reason")).contains("leads outside"), f.toString());
            }

            // MINA's realpath does not resolve links: a link back up would be followed 16 deep before it is cut.
            Files.delete(site.resolve("zigzag"));
            Path followed = Files.createDirectories(dir.resolve("local/followed"));
            Runs.Result follow = get(server, dir, "--json", "--links", "follow", site.toString(), followed.toString());
            assertEquals(0, follow.exit(), follow.toString());
            assertFalse(Files.isSymbolicLink(followed.resolve("site/out-absolute")));
            assertEquals("elsewhere\n", Files.readString(followed.resolve("site/out-absolute")), "follow copies what the link points to");
            assertEquals("ok\n", Files.readString(followed.resolve("site/in-file")));

            Path skipped = Files.createDirectories(dir.resolve("local/skipped"));
            Runs.Result skip = get(server, dir, "--json", "--links", "skip", site.toString(), skipped.toString());
            assertEquals(0, skip.exit(), skip.toString());
            assertEquals(List.of("site", "site/ok.txt", "site/sub"), tree(skipped), skip.toString());
        }
    }

    @Test
    void thePartialIsPrivateUnpredictableOursAndResumed(@TempDir Path dir) throws Exception {
        byte[] data = TransferTest.random(3 << 20, 15);
        long cut = 2 << 20;
        try (Hostile server = new Hostile(dir)) {
            Path remote = Files.write(Files.createDirectories(dir.resolve("remote")).resolve("big.bin"), data);
            Path dl = Files.createDirectories(dir.resolve("local"));
            List<String> atFirstRead = new ArrayList<>();
            server.beforeRead = offset -> {
                if (offset == 0) {
                    try (Stream<Path> s = Files.list(dl)) {
                        s.forEach(p -> atFirstRead.add(p.getFileName() + " " + PosixFilePermissions.toString(permissions(p))));
                    } catch (IOException e) {
                        atFirstRead.add(e.toString());
                    }
                }
            };
            server.failReadsFrom = cut;
            Runs.Result broken = get(server, dir, "--json", remote.toString(), dl.resolve("big.bin").toString());
            assertEquals(1, broken.exit(), broken.toString());
            assertEquals(1, atFirstRead.size(), atFirstRead.toString());
            assertTrue(atFirstRead.get(0).matches("\\.big\\.bin\\.vps-partial\\.[0-9a-f]{16} rw-------"), "private before the first byte: " + atFirstRead);
            Path partial = dl.resolve(atFirstRead.get(0).split(" ")[0]);
            assertEquals(cut, Files.size(partial), "the part received stays for a rerun");

            server.failReadsFrom = -1;
            Runs.Result rerun = get(server, dir, "--json", remote.toString(), dl.resolve("big.bin").toString());
            assertEquals(0, rerun.exit(), rerun.toString());
            assertEquals((long) cut, files(rerun).get(0).get("resumedFrom"), rerun.toString());
            assertArrayEquals(data, Files.readAllBytes(dl.resolve("big.bin")));
            assertEquals(List.of("big.bin"), tree(dl), "no partial left");
        }
    }

    private static java.util.Set<java.nio.file.attribute.PosixFilePermission> permissions(Path p) {
        try {
            return Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void unsafeNamesAreJudgedAsOneComponent() {
        for (String bad : List.of("", ".", "..", "/", "/etc", "a/b", "x\0y", "../x")) {
            assertTrue(LocalTree.unsafeName(bad), bad);
        }
        assertEquals(java.io.File.separatorChar == '\\', LocalTree.unsafeName("a\\b"), "a backslash separates only where it is the separator");
        for (String fine : List.of("a", ".hidden", "..dots", "a b", "ü", "x.vps-partial", "\u001b[31m")) {
            assertFalse(LocalTree.unsafeName(fine), fine);
        }
        assertNotNull(TransferResult.printable("\u001b[31m"));
        assertEquals("\\u001b[31m", TransferResult.printable("\u001b[31m"));
    }
}
