import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * mcp-server's "targets" against several OpenSSH servers (extra sshd in the shared container, one
 * per host; web1 logs in as alice, web2 as bob, so each has its own home to check) and a port
 * nobody listens on, named in an Ansible inventory and given as a list or as a pattern.
 */
class McpFleetTest extends VpsTestBase {
    static Path dir;
    static VpsServer.FleetSshd web1;
    static VpsServer.FleetSshd web2;
    static McpServerTest.Session session;
    static List<String> serverArgs;
    static Path sshConfig;
    static Path inventory;
    static Path knownHosts;

    @BeforeAll
    static void startServers() throws IOException {
        dir = Files.createTempDirectory("mcp-fleet");
        web1 = vps.fleetSshd("web1");
        web2 = vps.fleetSshd("web2");
        knownHosts = Files.writeString(dir.resolve("known_hosts"), vps.knownHostsLine(web1.port()) + "\n" + vps.knownHostsLine(web2.port()) + "\n");
        inventory = Files.writeString(dir.resolve("hosts.ini"), "[web]\n"
                + "web1 ansible_host=127.0.0.1 ansible_port=" + web1.port() + " ansible_user=alice ansible_ssh_private_key_file=" + vps.key + "\n"
                + "web2 ansible_host=127.0.0.1 ansible_port=" + web2.port() + " ansible_user=bob ansible_ssh_private_key_file=" + vps.key + "\n"
                + "[db]\n"
                + "down ansible_host=127.0.0.1 ansible_port=" + VpsServer.freePort() + " ansible_user=root ansible_ssh_private_key_file=" + vps.key + "\n");
        sshConfig = Files.writeString(dir.resolve("ssh_config"), "");
        serverArgs = List.of("--inventory", inventory.toString(), "--known-hosts", knownHosts.toString(), "--connect-timeout", "10s");
        session = new McpServerTest.Session(dir, sshConfig, serverArgs, Map.of());
    }

    @AfterAll
    static void stopServers() {
        if (session != null) {
            session.close();
        }
        if (web1 != null) {
            web1.close();
        }
        if (web2 != null) {
            web2.close();
        }
    }

    static Map<?, ?> host(McpServerTest.Call call, String name) {
        Map<?, ?> hosts = (Map<?, ?>) call.get("hosts");
        assertNotNull(hosts, call.toString());
        return (Map<?, ?>) hosts.get(name);
    }

    static Map<?, ?> summary(McpServerTest.Call call) {
        return (Map<?, ?>) call.get("summary");
    }

    @Test
    void execOnAListWithOneUnreachableHost() {
        McpServerTest.Call c = session.call("exec", McpServerTest.args("command", "echo $FLEET_NAME; whoami", "targets", List.of("web1", "web2", "down")));
        assertEquals("web1\nalice\n", host(c, "web1").get("stdout"), c.toString());
        assertEquals("web2\nbob\n", host(c, "web2").get("stdout"), c.toString());
        assertEquals(0L, host(c, "web1").get("exitCode"));
        assertEquals("NETWORK", ((Map<?, ?>) host(c, "down").get("error")).get("kind"), c.toString());
        assertEquals(Map.of("ok", 2L, "failed", 0L, "unreachable", 1L, "skipped", 0L), summary(c));
        assertEquals(255L, c.get("exitCode"));
        assertTrue(c.isError(), "an unreachable host makes the call a tool error");
        assertEquals("NETWORK", c.errorKind());
        assertTrue(c.text().contains("[\"down\"]"), "the error says which targets to repeat: " + c);
    }

    @Test
    void execOnAnInventoryPatternGroupsIdenticalOutput() {
        McpServerTest.Call c = session.call("exec", McpServerTest.args("command", "echo same", "targets", "web"));
        assertFalse(c.isError(), c.toString());
        assertEquals(Map.of("ok", 2L, "failed", 0L, "unreachable", 0L, "skipped", 0L), summary(c));
        assertEquals(0L, c.get("exitCode"));
        List<?> groups = (List<?>) c.get("groups");
        assertEquals(1, groups.size(), c.toString());
        assertEquals(List.of("web1", "web2"), ((Map<?, ?>) groups.get(0)).get("hosts"));
        assertEquals("same\n", ((Map<?, ?>) groups.get(0)).get("stdout"));

        McpServerTest.Call failing = session.call("exec", McpServerTest.args("command", "test \"$(whoami)\" = alice", "targets", "web1:web2", "forks", 1));
        assertEquals(Map.of("ok", 1L, "failed", 1L, "unreachable", 0L, "skipped", 0L), summary(failing), failing.toString());
        assertEquals(1L, failing.get("exitCode"));
        assertEquals(1L, host(failing, "web2").get("exitCode"));
        assertFalse(failing.isError(), "a command's own non-zero exit is its answer, as for one server");
    }

    @Test
    void uploadToEveryHostVerifiesEachCopy() throws IOException {
        byte[] content = new byte[300_000];
        new java.util.Random(19).nextBytes(content);
        Path local = Files.write(dir.resolve("fleet-upload.bin"), content);
        String expected = java.util.HexFormat.of().formatHex(Sha256.digest().digest(content));
        vps.exec("rm -f ~alice/fleet-upload.bin ~bob/fleet-upload.bin");
        McpServerTest.Call c = session.call("upload", McpServerTest.args("local", local.toString(), "remote", "fleet-upload.bin", "targets", List.of("web1", "web2")));
        assertFalse(c.isError(), c.toString());
        assertEquals(Map.of("ok", 2L, "failed", 0L, "unreachable", 0L, "skipped", 0L), summary(c));
        assertEquals(expected, host(c, "web1").get("sha256"));
        assertEquals(expected, host(c, "web2").get("sha256"));
        // Each host's copy, read apart from the toolkit: alice's home for web1, bob's for web2.
        assertEquals(expected, vps.exec("sha256sum ~alice/fleet-upload.bin").split(" ")[0]);
        assertEquals(expected, vps.exec("sha256sum ~bob/fleet-upload.bin").split(" ")[0]);
    }

    @Test
    void downloadFromEveryHostLandsInLocalSlashName() throws IOException {
        vps.exec("echo from-alice > ~alice/fleet-get.txt && echo from-bob > ~bob/fleet-get.txt && chown bob ~bob/fleet-get.txt && chown alice ~alice/fleet-get.txt");
        Path into = dir.resolve("downloads");
        McpServerTest.Call c = session.call("download", McpServerTest.args("remote", "fleet-get.txt", "local", into.toString(), "mkdir", true,
                "targets", List.of("web1", "web2")));
        assertFalse(c.isError(), c.toString());
        assertEquals("from-alice\n", Files.readString(into.resolve("web1/fleet-get.txt")));
        assertEquals("from-bob\n", Files.readString(into.resolve("web2/fleet-get.txt")));
    }

    @Test
    void jobStartOnATargetSetSharesOneId() {
        McpServerTest.Call start = session.call("job_start", McpServerTest.args("command", "echo job-$(whoami)", "targets", "web"));
        assertFalse(start.isError(), start.toString());
        Object id = host(start, "web1").get("job");
        assertNotNull(id, start.toString());
        assertEquals(id, host(start, "web2").get("job"), "one id for every host");
        McpServerTest.Call wait = session.call("job_wait", McpServerTest.args("id", id, "max", "20s", "targets", List.of("web1", "web2")));
        assertEquals(Map.of("ok", 2L, "failed", 0L, "unreachable", 0L, "skipped", 0L), summary(wait), wait.toString());
        McpServerTest.Call logs = session.call("job_logs", McpServerTest.args("id", id, "targets", "web"));
        assertEquals("job-alice\n", host(logs, "web1").get("stdout"), logs.toString());
        assertEquals("job-bob\n", host(logs, "web2").get("stdout"), logs.toString());
    }

    @Test
    void targetWithTargetsIsAConfigError() {
        McpServerTest.Call c = session.call("exec", McpServerTest.args("command", "true", "target", "web1", "targets", List.of("web2")));
        assertTrue(c.isError(), c.toString());
        assertEquals("CONFIG", c.errorKind());
        assertTrue(c.text().contains("'target' and 'targets'"), c.toString());
        io.modelcontextprotocol.spec.McpSchema.CallToolResult noSet = session.client.callTool(new io.modelcontextprotocol.spec.McpSchema.CallToolRequest(
                "write_file", McpServerTest.args("path", "fleet-never-written", "content", "", "targets", List.of("web1"))));
        // The server checks arguments against the tool's schema (additionalProperties: false) before the tool runs.
        assertTrue(noSet.isError(), "a tool without targets refuses them instead of using the default target: " + noSet);
        assertEquals("", vps.exec("ls ~alice/fleet-never-written ~root/fleet-never-written 2>/dev/null"));

        McpServerTest.Call twice = session.call("exec", McpServerTest.args("command", "true", "targets", List.of("web1", "web2", "web1")));
        assertTrue(twice.isError(), "a name given twice is refused, as a script's -H list refuses it: " + twice);
        assertEquals("CONFIG", twice.errorKind());
        assertTrue(twice.text().contains("web1 is named twice"), twice.toString());
    }

    @Test
    void aSingleTargetThatIsAnInventoryHostTakesItsVars() {
        McpServerTest.Call c = session.call("exec", McpServerTest.args("command", "whoami", "target", "web2"));
        assertFalse(c.isError(), c.toString());
        assertEquals("bob\n", c.get("stdout"));
        java.util.List<String> withDefault = new java.util.ArrayList<>(List.of("-H", "web2"));
        withDefault.addAll(serverArgs);
        try (McpServerTest.Session byDefault = new McpServerTest.Session(dir, sshConfig, withDefault, Map.of())) {
            McpServerTest.Call d = byDefault.call("exec", McpServerTest.args("command", "whoami"));
            assertEquals("bob\n", d.get("stdout"), "a default target that is an inventory host: " + d);
        }
    }

    @Test
    void theInventoryMayComeFromVpsInventory() {
        try (McpServerTest.Session fromEnvironment = new McpServerTest.Session(dir, sshConfig,
                List.of("--known-hosts", knownHosts.toString(), "--connect-timeout", "10s"), Map.of("VPS_INVENTORY", inventory.toString()))) {
            McpServerTest.Call c = fromEnvironment.call("exec", McpServerTest.args("command", "whoami", "targets", "web"));
            assertEquals(Map.of("ok", 2L, "failed", 0L, "unreachable", 0L, "skipped", 0L), summary(c), c.toString());
            assertEquals("alice\n", host(c, "web1").get("stdout"));
        }
    }

    @Test
    void listTargetsNamesTheInventorysHosts() {
        McpServerTest.Call c = session.call("list_targets", Map.of());
        Map<?, ?> listed = ((List<?>) c.get("targets")).stream().map(t -> (Map<?, ?>) t).filter(t -> "web2".equals(t.get("name")))
                .findFirst().orElseThrow(() -> new AssertionError("web2 is not listed: " + c));
        assertEquals("inventory", listed.get("source"));
        assertEquals((long) web2.port(), listed.get("port"));
        assertEquals("bob", listed.get("user"));
    }
}
