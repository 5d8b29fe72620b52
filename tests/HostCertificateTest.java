import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.spec.McpSchema;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server that presents an OpenSSH host certificate: a pin names the host's own key (the one in
 * the certificate, which signs the key exchange), never the certificate authority, and holds on
 * every path (direct, through a jump host, diagnose-auth, mcp-server); @revoked keys and CAs refuse.
 */
class HostCertificateTest extends VpsTestBase {
    static final String OTHER_FINGERPRINT = Fingerprints.sha256(Base64.getDecoder().decode(HostKeyTest.OTHER_KEY.split(" ")[1]));

    /** The port of an sshd that presents /etc/ssh/ssh_host_ed25519_key with a certificate signed by {@link #ca}. */
    static int certPort;
    /** The CA's public key line ("ssh-ed25519 AAAA..."), and its fingerprint. */
    static String ca;
    static String caFingerprint;
    /** The host key's own public key ("ssh-ed25519 AAAA...") */
    static String hostKey;

    @BeforeAll
    static void certifiedServer() {
        vps.exec("rm -rf /tmp/pins && mkdir /tmp/pins && ssh-keygen -q -t ed25519 -N '' -C pins-ca -f /tmp/pins/ca"
                + " && cp /etc/ssh/ssh_host_ed25519_key.pub /tmp/pins/host.pub"
                + " && ssh-keygen -q -s /tmp/pins/ca -I pins-test -h -n 127.0.0.1 -V -5m:+1h /tmp/pins/host.pub");
        certPort = vps.extraSshd("HostKey=/etc/ssh/ssh_host_ed25519_key", "HostCertificate=/tmp/pins/host-cert.pub");
        String[] caParts = vps.exec("cat /tmp/pins/ca.pub").trim().split(" ");
        ca = caParts[0] + " " + caParts[1];
        caFingerprint = Fingerprints.sha256(Base64.getDecoder().decode(caParts[1]));
        String[] hostParts = vps.exec("cat /etc/ssh/ssh_host_ed25519_key.pub").trim().split(" ");
        hostKey = hostParts[0] + " " + hostParts[1];
    }

    static Path knownHosts(Path dir, String... lines) throws Exception {
        return Files.writeString(dir.resolve("known_hosts"), String.join("\n", lines) + "\n");
    }

    static String certAuthorityLine() {
        return "@cert-authority [127.0.0.1]:" + certPort + " " + ca;
    }

    static List<String> target(Path knownHosts, String... more) {
        List<String> args = new ArrayList<>(List.of("-H", "127.0.0.1", "-p", Integer.toString(certPort), "-u", "root",
                "-i", vps.key.toString(), "--known-hosts", knownHosts.toString(), "--connect-timeout", "10s"));
        args.addAll(List.of(more));
        return args;
    }

    static void assertRefused(Runs.Result r, String why) {
        assertEquals(255, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: HOSTKEY: ") && r.stderr().contains(why), r.stderr());
        assertFalse(r.stdout().contains("should-not-run"), r.stdout());
    }

    @Test
    void aWrongPinIsRefusedAlsoWhenACertAuthorityVouchesForTheCertificate(@TempDir Path dir) throws Exception {
        Path known = knownHosts(dir, certAuthorityLine());
        assertEquals("certified\n", Runs.exec(target(known, "--", "echo certified")).stdout(), "the CA alone is trusted");

        Runs.Result wrong = Runs.exec(target(known, "--host-key", OTHER_FINGERPRINT, "--", "echo should-not-run"));
        assertRefused(wrong, "not the pinned " + OTHER_FINGERPRINT);
        assertTrue(wrong.stderr().contains(vps.hostKeyFingerprint), "names the key the server used: " + wrong.stderr());
    }

    @Test
    void thePinNamesTheHostsOwnKeyNotTheCertificateAuthority(@TempDir Path dir) throws Exception {
        Path known = knownHosts(dir, certAuthorityLine());
        assertEquals("pinned\n", Runs.exec(target(known, "--host-key", vps.hostKeyFingerprint, "--", "echo pinned")).stdout());
        Path empty = dir.resolve("empty_known_hosts");
        assertEquals("pinned\n", Runs.exec(target(empty, "--host-key", vps.hostKeyFingerprint, "--", "echo pinned")).stdout(),
                "a certificate from an unknown CA does not stand in the pin's way");

        Runs.Result caPin = Runs.exec(target(known, "--host-key", caFingerprint, "--", "echo should-not-run"));
        assertRefused(caPin, "not the pinned " + caFingerprint);
        assertTrue(caPin.stderr().contains("certificate authority"), "the hint says what a pin names: " + caPin.stderr());
    }

    @Test
    void aRevokedHostKeyIsRefusedAlsoInsideACertificate(@TempDir Path dir) throws Exception {
        Path known = knownHosts(dir, certAuthorityLine(), "@revoked * " + hostKey);
        assertRefused(Runs.exec(target(known, "--", "echo should-not-run")), "@revoked");
        assertRefused(Runs.exec(target(known, "--host-key", vps.hostKeyFingerprint, "--", "echo should-not-run")), "@revoked");
    }

    @Test
    void aRevokedCertificateAuthorityIsRefusedWhateverElseVouchesForTheHost(@TempDir Path dir) throws Exception {
        Path trustedAndRevoked = knownHosts(dir, certAuthorityLine(), "@revoked * " + ca);
        assertRefused(Runs.exec(target(trustedAndRevoked, "--", "echo should-not-run")), "@revoked");
        assertRefused(Runs.exec(target(trustedAndRevoked, "--host-key", vps.hostKeyFingerprint, "--", "echo should-not-run")), "@revoked");

        Path knownKeyRevokedCa = knownHosts(dir, vps.knownHostsLine(certPort), "@revoked * " + ca);
        assertRefused(Runs.exec(target(knownKeyRevokedCa, "--", "echo should-not-run")), "@revoked");
    }

    @Test
    void throughAJumpHostThePinHoldsForTheTarget(@TempDir Path dir) throws Exception {
        Path known = knownHosts(dir, vps.knownHostsLine(vps.port), certAuthorityLine());
        String via = "root@127.0.0.1:" + vps.port;
        assertEquals("via\n", Runs.exec(target(known, "-J", via, "--", "echo via")).stdout(), "the jump and the CA are trusted");
        assertEquals("via\n", Runs.exec(target(known, "-J", via, "--host-key", vps.hostKeyFingerprint, "--", "echo via")).stdout());
        assertRefused(Runs.exec(target(known, "-J", via, "--host-key", OTHER_FINGERPRINT, "--", "echo should-not-run")),
                "not the pinned " + OTHER_FINGERPRINT);

        Path revoked = knownHosts(dir, vps.knownHostsLine(vps.port), certAuthorityLine(), "@revoked * " + hostKey);
        Runs.Result r = Runs.exec(target(revoked, "-J", via, "--", "echo should-not-run"));
        assertRefused(r, "@revoked");
    }

    /** A warm session made with the right pin never serves a call that pins another key: that call logs in and is refused. */
    @Test
    void aWarmSessionChecksThePinToo(@TempDir Path dir) throws Exception {
        Path known = knownHosts(dir, certAuthorityLine());
        try (SessionPool pool = new SessionPool(System.err)) {
            Target pinned = SessionPoolTest.resolve(target(known, "--host-key", vps.hostKeyFingerprint));
            assertEquals("warm\n", SessionPoolTest.run(pool, pinned, "echo warm"));
            Target other = SessionPoolTest.resolve(target(known, "--host-key", OTHER_FINGERPRINT));
            VpsException refused = org.junit.jupiter.api.Assertions.assertThrows(VpsException.class, () -> SessionPoolTest.run(pool, other, "echo should-not-run"));
            assertEquals(VpsException.Kind.HOSTKEY, refused.kind, refused.getMessage());
            assertTrue(refused.getMessage().contains("not the pinned " + OTHER_FINGERPRINT), refused.getMessage());
        }
    }

    @Test
    void diagnoseAuthReportsTheCertificateAndThePinMismatch(@TempDir Path dir) throws Exception {
        Path known = knownHosts(dir, certAuthorityLine());
        Runs.Result works = DiagnoseAuthTest.diagnose(target(known));
        assertEquals(0, works.exit(), works.toString());
        Map<?, ?> hostKeyCheck = check(works, "host key");
        assertEquals("PASS", hostKeyCheck.get("status"), works.stdout());
        assertTrue(((String) hostKeyCheck.get("detail")).contains("certificate"), works.stdout());

        Runs.Result wrong = DiagnoseAuthTest.diagnose(target(known, "--host-key", OTHER_FINGERPRINT));
        assertEquals(1, wrong.exit(), wrong.toString());
        assertEquals("FAIL", check(wrong, "host key").get("status"), wrong.stdout());
        Map<?, ?> verdict = DiagnoseAuthTest.verdict(wrong);
        assertEquals("the server's host key is not the pinned one", verdict.get("cause"), wrong.stdout());
        assertTrue(((String) verdict.get("evidence")).contains("not the pinned " + OTHER_FINGERPRINT), verdict.toString());
        assertFalse(wrong.stdout().contains("\"auth\""), "no key was offered to a server that failed the pin: " + wrong.stdout());

        Path revoked = knownHosts(dir, certAuthorityLine(), "@revoked * " + ca);
        Runs.Result revokedCa = DiagnoseAuthTest.diagnose(target(revoked));
        assertEquals("FAIL", check(revokedCa, "host key").get("status"), revokedCa.stdout());
        assertTrue(((String) DiagnoseAuthTest.verdict(revokedCa).get("evidence")).contains("@revoked"), revokedCa.stdout());
    }

    private static Map<?, ?> check(Runs.Result r, String name) {
        for (Object c : (List<?>) r.json().get("checks")) {
            if (name.equals(((Map<?, ?>) c).get("name"))) {
                return (Map<?, ?>) c;
            }
        }
        throw new AssertionError("no check '" + name + "' in " + r.stdout());
    }

    @Test
    void mcpServerRefusesATargetWhosePinDoesNotMatch(@TempDir Path dir) throws Exception {
        Path known = knownHosts(dir, certAuthorityLine());
        Path sshConfig = Files.writeString(dir.resolve("ssh_config"), "");
        List<String> args = new ArrayList<>(List.of("-Duser.home=" + dir, "-Djdk.net.hosts.file=" + System.getProperty("jdk.net.hosts.file"),
                "-cp", System.getProperty("java.class.path"), "McpServer"));
        args.addAll(target(known, "--host-key", OTHER_FINGERPRINT));
        ServerParameters params = ServerParameters.builder(Path.of(System.getProperty("java.home"), "bin", "java").toString())
                .args(args).env(Map.of("VPS_SSH_CONFIG", sshConfig.toString(), "VPS_TOOLKIT_HOME", dir.resolve("toolkit").toString()))
                .build();
        McpSyncClient client = McpClient.sync(new StdioClientTransport(params, McpJsonDefaults.getMapper()))
                .requestTimeout(Duration.ofSeconds(90)).initializationTimeout(Duration.ofSeconds(60)).build();
        try {
            client.initialize();
            McpSchema.CallToolResult r = client.callTool(new McpSchema.CallToolRequest("exec", Map.of("command", "echo should-not-run")));
            String text = ((McpSchema.TextContent) r.content().get(0)).text();
            assertTrue(Boolean.TRUE.equals(r.isError()), text);
            Map<?, ?> error = (Map<?, ?>) Json.read(text, Map.class).get("error");
            assertEquals("HOSTKEY", error.get("kind"), text);
            assertTrue(((String) error.get("message")).contains("not the pinned " + OTHER_FINGERPRINT), text);
        } finally {
            client.closeGracefully();
        }
    }
}
