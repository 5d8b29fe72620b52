import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Post-quantum key exchange against Debian 13's OpenSSH 10 run with only ML-KEM allowed, and
 * diagnose-auth when client and server share no key exchange.
 */
class PostQuantumKexTest {
    static VpsServer trixie;

    @BeforeAll
    static void start() {
        trixie = new VpsServer(VpsServer.TRIXIE_IMAGE, "-o LogLevel=VERBOSE -o KexAlgorithms=mlkem768x25519-sha256");
    }

    @AfterAll
    static void stop() {
        if (trixie != null) {
            trixie.close();
        }
    }

    @BeforeEach
    void freshEnvironment() {
        TestSupport.freshEnvironment();
    }

    @Test
    void execOverMlKemOnly() {
        Runs.Result r = Runs.exec(TestSupport.args(trixie.target("root"), "--", "echo over-ml-kem"));
        assertEquals("over-ml-kem\n", r.stdout(), r.toString());
        assertEquals(0, r.exit(), r.toString());
    }

    @Test
    void execRestrictedToAKexTheServerLacksNamesBothLists(@TempDir Path dir) throws Exception {
        Path config = Files.writeString(dir.resolve("config"), "Host *\n  KexAlgorithms curve25519-sha256\n");
        Runs.Result r = Runs.exec(TestSupport.args(trixie.target("root"), "--ssh-config", config.toString(), "--", "true"));
        assertEquals(255, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: PROTOCOL: no common key exchange algorithm with 127.0.0.1:" + trixie.port
                + ": the server offers mlkem768x25519-sha256; we offer curve25519-sha256\n"
                + "hint: we leave out the server's mlkem768x25519-sha256: add it in ~/.ssh/config (KexAlgorithms +mlkem768x25519-sha256)"), r.stderr());
    }

    @Test
    void transferOverMlKemOnly(@TempDir Path dir) throws Exception {
        byte[] data = new byte[200_000];
        new Random(24).nextBytes(data);
        Path up = Files.write(dir.resolve("up.bin"), data);
        Runs.Result put = TransferTest.put(trixie.target("root"), up.toString(), "/root/pq.bin");
        assertEquals(0, put.exit(), put.toString());
        Path down = dir.resolve("down.bin");
        Runs.Result get = TransferTest.get(trixie.target("root"), "/root/pq.bin", down.toString());
        assertEquals(0, get.exit(), get.toString());
        assertArrayEquals(data, Files.readAllBytes(down));
    }

    @Test
    void diagnoseAuthFindsTheLoginWorkingOverMlKem() {
        Runs.Result r = DiagnoseAuthTest.diagnose(trixie.target("root"));
        assertEquals(0, r.exit(), r.toString());
        assertEquals("login works as root", DiagnoseAuthTest.verdict(r).get("cause"), r.stdout());
    }

    @Test
    void diagnoseAuthNamesBothKexListsWhenOursLacksTheServers(@TempDir Path dir) throws Exception {
        Path config = Files.writeString(dir.resolve("config"), "Host *\n  KexAlgorithms curve25519-sha256\n");
        Runs.Result r = DiagnoseAuthTest.diagnose(TestSupport.args(trixie.target("root"), "--ssh-config", config.toString()));
        assertEquals(1, r.exit(), r.toString());
        Map<?, ?> verdict = DiagnoseAuthTest.verdict(r);
        assertEquals("no common key exchange", verdict.get("cause"), r.stdout());
        assertTrue(((String) verdict.get("evidence")).contains("the server offers only mlkem768x25519-sha256 (KexAlgorithms)"), r.stdout());
        assertTrue(((String) verdict.get("evidence")).contains("we offer curve25519-sha256"), r.stdout());
    }

    @Test
    void diagnoseAuthNamesTheServersOnlyKexThatWeDoNotOffer(@TempDir Path dir) throws Exception {
        int port = trixie.extraSshd("KexAlgorithms=diffie-hellman-group14-sha1");
        Path knownHosts = Files.writeString(dir.resolve("known_hosts"), trixie.knownHostsLine(port) + "\n");
        Runs.Result r = DiagnoseAuthTest.diagnose(List.of("-H", "127.0.0.1", "-p", Integer.toString(port), "-u", "root",
                "-i", trixie.key.toString(), "--known-hosts", knownHosts.toString()));
        assertEquals(1, r.exit(), r.toString());
        String evidence = (String) DiagnoseAuthTest.verdict(r).get("evidence");
        assertTrue(evidence.contains("the server offers only diffie-hellman-group14-sha1"), r.stdout());
        // The engine proposes the post-quantum ones first, as OpenSSH 10 does; a one-shot command last (TargetResolver.kex says why).
        String postQuantum = "mlkem768x25519-sha256,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com";
        if (EngineRuns.on()) {
            assertTrue(evidence.contains("we offer " + postQuantum + ",curve25519-sha256,"), evidence);
        } else {
            assertTrue(evidence.contains("we offer curve25519-sha256,") && evidence.endsWith("," + postQuantum), evidence);
        }
    }
}
