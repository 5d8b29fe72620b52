import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The folder a command runs in is not trusted with trust anchors: its ./.env may name the target
 * and credentials, but not known_hosts, a pin or an ssh config; a file named with --env-file may.
 */
class TrustAnchorsTest extends VpsTestBase {
    static final String VALUE = "a-value-never-echoed";

    /** A working folder whose ./.env holds LINES, as a cloned repository may. */
    static Path folderWithDotenv(Path dir, String... lines) throws Exception {
        Files.writeString(dir.resolve(".env"), String.join("\n", lines) + "\n");
        Environment.useWorkingFolder(dir);
        return dir.resolve(".env");
    }

    @Test
    void anImplicitDotenvThatSetsATrustAnchorIsRefusedWithoutEchoingIt(@TempDir Path dir) throws Exception {
        for (String name : List.of("VPS_KNOWN_HOSTS", "VPS_HOST_KEY", "VPS_SSH_CONFIG")) {
            TestSupport.freshEnvironment();
            Path dotenv = folderWithDotenv(dir, "VPS_HOST=127.0.0.1", "VPS_PORT=" + vps.port, name + "=" + VALUE);
            Runs.Result r = Runs.exec(List.of("-u", "root", "-i", vps.key.toString(), "--", "echo should-not-run"));
            assertEquals(2, r.exit(), name + ": " + r);
            assertTrue(r.stderr().startsWith("vps: CONFIG: " + dotenv + " sets " + name), r.stderr());
            assertTrue(r.stderr().contains("\nhint: ") && r.stderr().contains("--env-file " + dotenv), r.stderr());
            assertFalse(r.stderr().contains(VALUE) || r.stdout().contains(VALUE), r.toString());
            assertFalse(r.stdout().contains("should-not-run"), r.toString());
        }
    }

    @Test
    void anImplicitDotenvStillNamesTheTargetAndItsCredentials(@TempDir Path dir) throws Exception {
        folderWithDotenv(dir, "VPS_HOST=127.0.0.1", "VPS_PORT=" + vps.port, "VPS_USER=root", "VPS_KEY=" + vps.key);
        Runs.Result r = Runs.exec(List.of("--known-hosts", vps.knownHosts.toString(), "--", "echo from-dotenv"));
        assertEquals("from-dotenv\n", r.stdout(), r.toString());
    }

    @Test
    void aFileNamedWithEnvFileMaySetThemAndReplacesTheFoldersDotenv(@TempDir Path dir) throws Exception {
        TestSupport.freshEnvironment(java.util.Map.of("VPS_SSH_CONFIG", ""));   // unset: the file's own applies
        folderWithDotenv(dir, "VPS_KNOWN_HOSTS=" + VALUE);
        Path sshConfig = Files.writeString(dir.resolve("chosen_ssh_config"),
                "Host chosen-vps\n  HostName 127.0.0.1\n  Port " + vps.port + "\n  User root\n");
        Path chosen = Files.writeString(dir.resolve("chosen.env"), "VPS_HOST=chosen-vps\nVPS_KEY=" + vps.key
                + "\nVPS_KNOWN_HOSTS=" + vps.knownHosts + "\nVPS_HOST_KEY=" + vps.hostKeyFingerprint + "\nVPS_SSH_CONFIG=" + sshConfig + "\n");
        Runs.Result r = Runs.exec(List.of("--env-file", chosen.toString(), "--", "echo chosen"));
        assertEquals("chosen\n", r.stdout(), r.toString());

        Files.writeString(chosen, Files.readString(chosen).replace(vps.hostKeyFingerprint, HostCertificateTest.OTHER_FINGERPRINT));
        Runs.Result wrongPin = Runs.exec(List.of("--env-file", chosen.toString(), "--", "echo should-not-run"));
        assertEquals(255, wrongPin.exit(), wrongPin.toString());
        assertTrue(wrongPin.stderr().startsWith("vps: HOSTKEY: ") && wrongPin.stderr().contains("not the pinned"), wrongPin.stderr());
    }

    @Test
    void jumpHostsReadTheEnvFileTheTargetReads(@TempDir Path dir) throws Exception {
        folderWithDotenv(dir, "VPS_KNOWN_HOSTS=" + VALUE);
        int jumpPort = vps.extraSshd();
        Path known = Files.writeString(dir.resolve("known_hosts"), vps.knownHostsLine(vps.port) + "\n" + vps.knownHostsLine(jumpPort) + "\n");
        Path chosen = Files.writeString(dir.resolve("chosen.env"), "VPS_KEY=" + vps.key + "\nVPS_KNOWN_HOSTS=" + known + "\n");
        Runs.Result r = Runs.exec(List.of("-H", "127.0.0.1", "-p", Integer.toString(vps.port), "-u", "root", "--env-file", chosen.toString(),
                "-J", "root@127.0.0.1:" + jumpPort, "--", "echo through-the-jump"));
        assertEquals("through-the-jump\n", r.stdout(), r.toString());
    }
}
