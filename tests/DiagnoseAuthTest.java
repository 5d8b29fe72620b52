import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** diagnose-auth against servers and keys broken in one way each: the verdict must name that way. */
class DiagnoseAuthTest extends VpsTestBase {
    static Runs.Result diagnose(List<String> args) {
        List<String> all = new ArrayList<>(args);
        all.add("--json");
        return Runs.run(all, new byte[0], (out, err, in) -> new DiagnoseAuth(out, err));
    }

    static Map<?, ?> verdict(Runs.Result r) {
        return (Map<?, ?>) r.json().get("verdict");
    }

    static List<String> target(int port, String user, Path key, Path knownHosts) {
        List<String> a = new ArrayList<>(List.of("-H", "127.0.0.1", "-p", Integer.toString(port), "-u", user, "--known-hosts", knownHosts.toString()));
        if (key != null) {
            a.addAll(List.of("-i", key.toString()));
        }
        return a;
    }

    static Path knownHosts(Path dir, int port) throws Exception {
        return Files.writeString(dir.resolve("kh-" + port), vps.knownHostsLine(port) + "\n");
    }

    @Test
    void workingLoginIsSaidSoWithTheAccountDetails() {
        Runs.Result r = diagnose(target(vps.port, "root", vps.key, vps.knownHosts));
        assertEquals(0, r.exit(), r.toString());
        assertEquals("login works as root", verdict(r).get("cause"));
        assertTrue(r.stdout().contains("sudo -n works"), r.stdout());
    }

    @Test
    void keyNotInAuthorizedKeysGivesTheLineToAdd(@TempDir Path dir) throws Exception {
        Path key = dir.resolve("id_new");
        String pub = VpsServer.writeKeyPair(key);
        Runs.Result r = diagnose(target(vps.port, "root", key, vps.knownHosts));
        assertEquals(1, r.exit(), r.toString());
        assertEquals("the server refused every key for user 'root'", verdict(r).get("cause"));
        String[] f = pub.trim().split(" ");
        assertTrue(((String) verdict(r).get("fix")).contains(f[0] + " " + f[1]), "the authorized_keys line: " + verdict(r).get("fix"));
    }

    @Test
    void wrongUser() {
        Runs.Result r = diagnose(target(vps.port, "no-such-user", vps.key, vps.knownHosts));
        assertEquals(1, r.exit());
        assertTrue(((String) verdict(r).get("cause")).contains("'no-such-user'"));
        assertTrue(((String) verdict(r).get("fix")).contains("that user does not exist"), r.stdout());
    }

    @Test
    void serverThatDoesNotAcceptTheKeysType(@TempDir Path dir) throws Exception {
        int port = vps.extraSshd("PubkeyAcceptedAlgorithms=ssh-ed25519");
        Runs.Result r = diagnose(target(port, "root", vps.key, knownHosts(dir, port)));
        // OpenSSH answers a refused type exactly like a missing key (its server-sig-algs lists every
        // algorithm it knows), so the verdict names this cause among the possible ones, with the check to run.
        assertEquals("the server refused every key for user 'root'", verdict(r).get("cause"), r.stdout());
        assertTrue(((String) verdict(r).get("fix")).contains("the server does not accept ecdsa-sha2-nistp256 keys (its PubkeyAcceptedAlgorithms"),
                r.stdout());
    }

    @Test
    void rsaKeyAgainstAServerWithoutSha2Signatures(@TempDir Path dir) throws Exception {
        Path rsa = rsaKey(dir);
        int port = vps.extraSshd("PubkeyAcceptedAlgorithms=ssh-rsa");
        Runs.Result r = diagnose(target(port, "root", rsa, knownHosts(dir, port)));
        assertEquals("the server accepts this RSA key only with SHA-1 (ssh-rsa) signatures", verdict(r).get("cause"), r.stdout());
        assertTrue(((String) verdict(r).get("fix")).contains("--legacy-ssh-rsa"));
    }

    @Test
    void clientLimitedToSha1AgainstAServerWithoutIt(@TempDir Path dir) throws Exception {
        Path rsa = rsaKey(dir);
        Path config = Files.writeString(dir.resolve("config"), "Host old-client\n  HostName 127.0.0.1\n  Port " + vps.port
                + "\n  User root\n  PubkeyAcceptedAlgorithms ssh-rsa\n");
        List<String> args = new ArrayList<>(List.of("-H", "old-client", "--ssh-config", config.toString(), "-i", rsa.toString(),
                "--known-hosts", vps.knownHosts.toString()));
        Runs.Result r = diagnose(args);
        assertEquals("your settings and the server share no signature algorithm for this RSA key", verdict(r).get("cause"), r.stdout());
    }

    @Test
    void encryptedKeyWithoutOrWithAWrongPassphrase(@TempDir Path dir) throws Exception {
        Path key = dir.resolve("id_enc");
        com.jcraft.jsch.KeyPair pair = com.jcraft.jsch.KeyPair.genKeyPair(new com.jcraft.jsch.JSch(), com.jcraft.jsch.KeyPair.ECDSA, 256);
        pair.writePrivateKey(key.toString(), "right".getBytes());
        Runs.Result none = diagnose(target(vps.port, "root", key, vps.knownHosts));
        assertTrue(((String) verdict(none).get("cause")).endsWith("is encrypted and no passphrase was given"), none.stdout());
        TestSupport.freshEnvironment(Map.of("VPS_KEY_PASSPHRASE", "wrong"));
        Runs.Result wrong = diagnose(target(vps.port, "root", key, vps.knownHosts));
        assertTrue(((String) verdict(wrong).get("cause")).startsWith("the passphrase does not open key"), wrong.stdout());
    }

    @Test
    void crlfAndPuttyKeysAreRecognizedAndWork(@TempDir Path dir) throws Exception {
        Path crlf = Files.write(dir.resolve("id_crlf"), new String(Files.readAllBytes(vps.key), StandardCharsets.US_ASCII)
                .replace("\n", "\r\n").getBytes(StandardCharsets.US_ASCII));
        Files.setPosixFilePermissions(crlf, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Runs.Result r = diagnose(target(vps.port, "root", crlf, vps.knownHosts));
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.stdout().contains("Windows (CRLF) line ends"), r.stdout());

        vps.exec("rm -f /tmp/dk*; ssh-keygen -q -t ed25519 -N '' -f /tmp/dk && puttygen /tmp/dk -O private -o /tmp/dk.ppk"
                + " && cat /tmp/dk.pub >> /root/.ssh/authorized_keys");
        Path ppk = dir.resolve("dk.ppk");
        vps.container.copyFileFromContainer("/tmp/dk.ppk", ppk.toString());
        Files.setPosixFilePermissions(ppk, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Runs.Result p = diagnose(target(vps.port, "root", ppk, vps.knownHosts));
        assertEquals(0, p.exit(), p.toString());
        assertTrue(p.stdout().contains("PuTTY v3"), p.stdout());
    }

    @Test
    void worldReadableKeyIsNamed(@TempDir Path dir) throws Exception {
        Path open = Files.copy(vps.key, dir.resolve("id_open"));
        Files.setPosixFilePermissions(open, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        Runs.Result r = diagnose(target(vps.port, "root", open, vps.knownHosts));
        assertTrue(((String) verdict(r).get("cause")).contains("its permissions let others read it"), r.stdout());
        assertEquals("chmod 600 " + open, verdict(r).get("fix"));
    }

    @Test
    void passwordOnlyAgainstPasswordAuthenticationNo(@TempDir Path dir) throws Exception {
        int port = vps.extraSshd("PasswordAuthentication=no", "KbdInteractiveAuthentication=no");
        TestSupport.freshEnvironment(Map.of("VPS_PASSWORD", "a-password"));
        List<String> args = target(port, "bob", null, knownHosts(dir, port));
        args.add("--password-auth");
        Runs.Result r = diagnose(args);
        assertEquals("the server does not accept passwords for bob", verdict(r).get("cause"), r.stdout());
        assertTrue(!r.stdout().contains("a-password"));
    }

    @Test
    void loginShellThatRunsNothing() {
        vps.exec("id dshell >/dev/null 2>&1 || { useradd -m -s /usr/sbin/nologin dshell && mkdir /home/dshell/.ssh"
                + " && cp /tmp/client.pub /home/dshell/.ssh/authorized_keys && chown -R dshell:dshell /home/dshell/.ssh; }");
        Runs.Result r = diagnose(target(vps.port, "dshell", vps.key, vps.knownHosts));
        assertEquals(1, r.exit(), r.toString());
        assertEquals("the login shell of dshell runs no commands (nologin or false)", verdict(r).get("cause"), r.stdout());
    }

    @Test
    void serverThatAllowsNoKeys(@TempDir Path dir) throws Exception {
        int port = vps.extraSshd("PubkeyAuthentication=no");
        Runs.Result r = diagnose(target(port, "root", vps.key, knownHosts(dir, port)));
        assertEquals(1, r.exit(), r.toString());
        assertEquals("the server does not accept keys for root", verdict(r).get("cause"), r.stdout());
    }

    @Test
    void closedPortAndNonSshService() throws Exception {
        Runs.Result closed = diagnose(target(VpsServer.freePort(), "root", vps.key, vps.knownHosts));
        assertEquals(255, closed.exit());
        assertTrue(((String) verdict(closed).get("cause")).startsWith("nothing listens on port"), closed.stdout());
        try (java.net.ServerSocket http = new java.net.ServerSocket(0, 5, java.net.InetAddress.getByName("127.0.0.1"))) {
            Daemons.start("fake-http", () -> {
                for (int i = 0; i < 3; i++) {
                    try (java.net.Socket s = http.accept()) {
                        s.getOutputStream().write("HTTP/1.1 400 Bad Request\r\n\r\n".getBytes());
                    } catch (Exception e) {
                        return;
                    }
                }
            });
            Runs.Result web = diagnose(target(http.getLocalPort(), "root", vps.key, vps.knownHosts));
            assertEquals(255, web.exit());
            assertTrue(((String) verdict(web).get("cause")).startsWith("another service listens on port"), web.stdout());
        }
    }

    @Test
    void agentKeysAreListedAndTried(@TempDir Path dir) throws Exception {
        try (SshAgent agent = new SshAgent(dir, vps.key)) {
            TestSupport.freshEnvironment(Map.of("SSH_AUTH_SOCK", agent.socket.toString()));
            Runs.Result r = diagnose(target(vps.port, "root", null, vps.knownHosts));
            assertEquals(0, r.exit(), r.toString());
            assertTrue(r.stdout().contains("holds 1 key(s): ecdsa-sha2-nistp256"), r.stdout());
            assertTrue(r.stdout().contains("accepted: the agent's keys"), r.stdout());
        }
    }

    @Test
    void changedHostKey(@TempDir Path dir) throws Exception {
        Path known = Files.writeString(dir.resolve("kh"), "[127.0.0.1]:" + vps.port + " " + HostKeyTest.OTHER_KEY + "\n");
        Runs.Result r = diagnose(target(vps.port, "root", vps.key, known));
        assertEquals(1, r.exit());
        assertEquals("the server's host key does not match what is recorded", verdict(r).get("cause"), r.stdout());
        assertTrue(((String) verdict(r).get("evidence")).contains("CHANGED"));
    }

    private static Path rsaKey(Path dir) throws Exception {
        vps.exec("rm -f /tmp/drsa*; ssh-keygen -q -t rsa -b 2048 -N '' -f /tmp/drsa && cat /tmp/drsa.pub >> /root/.ssh/authorized_keys");
        Path rsa = dir.resolve("id_rsa");
        vps.container.copyFileFromContainer("/tmp/drsa", rsa.toString());
        Files.setPosixFilePermissions(rsa, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        return rsa;
    }

    @Test
    void throughAJumpHostEveryCheckGoesThroughItAndTheVerdictNamesTheRightHost(@TempDir Path dir) throws Exception {
        int jumpPort = vps.extraSshd();
        Path known = Files.writeString(dir.resolve("kh"), vps.knownHostsLine(vps.port) + "\n" + vps.knownHostsLine(jumpPort) + "\n");
        String via = "root@127.0.0.1:" + jumpPort;

        Runs.Result works = diagnose(with(target(vps.port, "root", vps.key, known), "-J", via));
        assertEquals(0, works.exit(), works.toString());
        assertTrue(works.stdout().contains("logged in to the jump host") && works.stdout().contains("the jump host root@127.0.0.1:" + jumpPort
                + " reached 127.0.0.1:" + vps.port), works.stdout());

        Runs.Result wrongUser = diagnose(with(target(vps.port, "no-such-user", vps.key, known), "-J", via));
        assertEquals(1, wrongUser.exit(), wrongUser.toString());
        assertTrue(((String) verdict(wrongUser).get("cause")).contains("'no-such-user'"), "about the target: " + verdict(wrongUser));

        int closed = VpsServer.freePort();
        Runs.Result nothingListens = diagnose(with(target(closed, "root", vps.key, known), "-J", via));
        assertEquals(255, nothingListens.exit(), nothingListens.toString());
        assertTrue(((String) verdict(nothingListens).get("cause")).contains("cannot open a connection to 127.0.0.1:" + closed), verdict(nothingListens).toString());

        Path unknownJump = Files.writeString(dir.resolve("kh-target-only"), vps.knownHostsLine(vps.port) + "\n");
        Runs.Result jumpFails = diagnose(with(target(vps.port, "root", vps.key, unknownJump), "-J", via));
        assertEquals(1, jumpFails.exit(), jumpFails.toString());
        assertTrue(((String) verdict(jumpFails).get("cause")).startsWith("the jump host root@127.0.0.1:" + jumpPort + " fails (HOSTKEY)"),
                verdict(jumpFails).toString());
        assertTrue(((String) verdict(jumpFails).get("fix")).contains("diagnose-auth -H 127.0.0.1 -p " + jumpPort), verdict(jumpFails).toString());
    }

    private static List<String> with(List<String> a, String... more) {
        List<String> all = new ArrayList<>(a);
        all.addAll(List.of(more));
        return all;
    }
}
