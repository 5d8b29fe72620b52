import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every way a connection can fail ends within its bound, with the right KIND, a hint and exit 255 (2 for CONFIG: a usage problem). */
class FailurePathsTest extends VpsTestBase {
    private static void assertFailure(Runs.Result r, String kind, String messagePart) {
        assertEquals(kind.equals("CONFIG") ? 2 : 255, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: " + kind + ": "), r.toString());
        assertTrue(r.stderr().contains(messagePart), r.toString());
        assertTrue(r.stderr().contains("\nhint: "), r.toString());
    }

    private static List<String> target(int port, String... more) {
        return TestSupport.args(List.of("-H", "127.0.0.1", "-p", Integer.toString(port), "-i", vps.key.toString(),
                "--known-hosts", vps.knownHosts.toString(), "-u", "root"), more);
    }

    @Test
    void refusedPort() throws Exception {
        Runs.Result r = Runs.exec(target(VpsServer.freePort(), "--", "true"));
        assertFailure(r, "NETWORK", "refused the connection");
        assertTrue(r.millis() < 5_000, r.toString());
    }

    @Test
    void unresolvableHost() {
        Runs.Result r = Runs.exec(List.of("-H", "no-such-host.invalid", "-i", vps.key.toString(), "--", "true"));
        assertFailure(r, "NETWORK", "cannot resolve host name 'no-such-host.invalid'");
        assertTrue(r.millis() < 5_000, r.toString());
    }

    @Test
    void silentServerEndsWithinTheConnectTimeout() throws Exception {
        try (TcpProxy silent = TcpProxy.silent()) {
            Runs.Result r = Runs.exec(target(silent.port(), "--connect-timeout", "2s", "--", "true"));
            assertFailure(r, "NETWORK", "no SSH answer from 127.0.0.1:" + silent.port() + " within 2s");
            assertTrue(r.millis() >= 1_900 && r.millis() < 4_000, "bounded by --connect-timeout: " + r.millis());
        }
    }

    @Test
    void wrongKey(@TempDir Path dir) throws Exception {
        Path other = dir.resolve("id_other");
        VpsServer.writeKeyPair(other);
        Runs.Result r = Runs.exec(List.of("-H", "127.0.0.1", "-p", Integer.toString(vps.port), "-u", "root", "-i", other.toString(),
                "--known-hosts", vps.knownHosts.toString(), "--", "true"));
        assertFailure(r, "AUTH", "refused every key offered for user 'root'");
        assertTrue(r.stderr().contains(other.toString()) && r.stderr().contains("SHA256:"), r.stderr());
        assertTrue(r.stderr().contains("authorized_keys"), r.stderr());
    }

    @Test
    void unknownUserIsRefusedLikeAWrongKey() {
        Runs.Result r = Runs.exec(TestSupport.args(vps.target("nobody-here"), "--", "true"));
        assertFailure(r, "AUTH", "user 'nobody-here'");
    }

    @Test
    void missingKeyFileIsAConfigError() {
        Runs.Result r = Runs.exec(List.of("-H", "127.0.0.1", "-p", Integer.toString(vps.port), "-i", "/no/such/key", "--", "true"));
        assertFailure(r, "CONFIG", "key file /no/such/key does not exist");
    }

    @Test
    void encryptedKeyWithoutPassphraseSaysSo(@TempDir Path dir) throws Exception {
        Path key = dir.resolve("id_enc");
        com.jcraft.jsch.KeyPair pair = com.jcraft.jsch.KeyPair.genKeyPair(new com.jcraft.jsch.JSch(), com.jcraft.jsch.KeyPair.ECDSA, 256);
        pair.writePrivateKey(key.toString(), "right phrase".getBytes());
        Runs.Result r = Runs.exec(List.of("-H", "127.0.0.1", "-p", Integer.toString(vps.port), "-i", key.toString(), "--", "true"));
        assertFailure(r, "AUTH", "is encrypted and no passphrase was given");
        assertTrue(r.stderr().contains("VPS_KEY_PASSPHRASE"));
        TestSupport.freshEnvironment(Map.of("VPS_KEY_PASSPHRASE", "wrong phrase"));
        Runs.Result wrong = Runs.exec(List.of("-H", "127.0.0.1", "-p", Integer.toString(vps.port), "-i", key.toString(), "--", "true"));
        assertFailure(wrong, "AUTH", "does not open key");
        assertTrue(!wrong.stderr().contains("wrong phrase"), "the secret never appears in messages");
    }

    @Test
    void nonSshServiceOnThePort() throws Exception {
        try (java.net.ServerSocket http = new java.net.ServerSocket(0, 5, java.net.InetAddress.getByName("127.0.0.1"))) {
            Daemons.start("fake-http", () -> {
                try (java.net.Socket s = http.accept()) {
                    s.getOutputStream().write("HTTP/1.1 400 Bad Request\r\n\r\n".getBytes());
                    s.getOutputStream().flush();
                    Thread.sleep(3000);
                } catch (Exception ignored) {
                    // test server: done
                }
            });
            Runs.Result r = Runs.exec(target(http.getLocalPort(), "--connect-timeout", "5s", "--", "true"));
            assertEquals(255, r.exit(), r.toString());
            assertTrue(r.stderr().startsWith("vps: PROTOCOL: ") || r.stderr().startsWith("vps: NETWORK: "), r.toString());
            assertTrue(r.millis() < 7_000, r.toString());
        }
    }

    @Test
    void droppedConnectionMidCommandIsReportedAndBounded() throws Exception {
        try (TcpProxy proxy = new TcpProxy(vps.port)) {
            vps.exec("rm -f /root/dropped-started");
            java.util.concurrent.atomic.AtomicLong cutAt = new java.util.concurrent.atomic.AtomicLong();
            Thread cutter = new Thread(() -> {
                vps.await("test -e /root/dropped-started && echo yes", "yes");
                cutAt.set(System.nanoTime());
                proxy.cutAll();
            });
            List<String> args = List.of("-H", "127.0.0.1", "-p", Integer.toString(proxy.port()), "-u", "root", "-i", vps.key.toString(),
                    "--host-key", vps.hostKeyFingerprint, "--known-hosts", vps.dir.resolve("unused_known_hosts").toString(),
                    "--json", "--", "echo started; touch /root/dropped-started; sleep 30; echo finished");
            cutter.start();
            Runs.Result r = Runs.exec(args);
            assertEquals(255, r.exit(), r.toString());
            Map<?, ?> j = r.json();
            assertEquals("failed", j.get("status"));
            assertEquals("NETWORK", ((Map<?, ?>) j.get("error")).get("kind"));
            assertEquals("started\n", j.get("stdout"), "output received before the cut is kept");
            assertTrue(((String) ((Map<?, ?>) j.get("error")).get("hint")).contains("may still be running"));
            long afterCut = (System.nanoTime() - cutAt.get()) / 1_000_000;
            assertTrue(afterCut < 5_000, "reported within 5 s of the cut, took " + afterCut + " ms: " + r);
        }
    }

    @Test
    void usageErrorsExitTwo() {
        Runs.Result r = Runs.exec(List.of("--sandbox"));
        assertEquals(2, r.exit());
        assertTrue(r.stderr().startsWith("vps: CONFIG: no command given"), r.stderr());
    }

    @Test
    void aMalformedEnvFileNeverEchoesItsSecret(@TempDir Path dir) throws Exception {
        Path env = Files.writeString(dir.resolve(".env"), "VPS_HOST=127.0.0.1\nVPS_PASSWORD=s3cr3t-value oops\"\n");
        Runs.Result r = Runs.exec(List.of("--env-file", env.toString(), "--json", "--", "true"));
        assertEquals(2, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: CONFIG: cannot read env file"), r.stderr());
        assertTrue(!r.stderr().contains("s3cr3t-value") && !r.stdout().contains("s3cr3t-value"), r.toString());
    }

    @Test
    void anEncryptedDefaultKeyDoesNotBlockTheAgent(@TempDir Path dir) throws Exception {
        Path sshDir = Files.createDirectories(Path.of(System.getProperty("user.home"), ".ssh"));
        Path defaultKey = sshDir.resolve("id_ecdsa");
        com.jcraft.jsch.KeyPair pair = com.jcraft.jsch.KeyPair.genKeyPair(new com.jcraft.jsch.JSch(), com.jcraft.jsch.KeyPair.ECDSA, 256);
        pair.writePrivateKey(defaultKey.toString(), "phrase".getBytes());
        try (SshAgent agent = new SshAgent(dir, vps.key)) {
            TestSupport.freshEnvironment(Map.of("SSH_AUTH_SOCK", agent.socket.toString()));
            Runs.Result r = Runs.exec(List.of("-H", "127.0.0.1", "-p", Integer.toString(vps.port), "-u", "root",
                    "--known-hosts", vps.knownHosts.toString(), "--", "echo via-agent"));
            assertEquals("via-agent\n", r.stdout(), r.toString());
        } finally {
            Files.deleteIfExists(defaultKey);
        }
    }

    @Test
    void secretsNeverAppearInJsonOrMessages(@TempDir Path dir) throws Exception {
        Path env = Files.writeString(dir.resolve(".env"), "VPS_KEY_PASSPHRASE=top-secret-value\n");
        Runs.Result r = Runs.exec(TestSupport.args(vps.target("root"), "--env-file", env.toString(), "--json", "-v", "--", "echo ok"));
        assertEquals(0, r.exit(), r.toString());
        assertTrue(!r.stdout().contains("top-secret-value") && !r.stderr().contains("top-secret-value"));
    }
}
