import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * sftp-put, sftp-get, job and diagnose-auth on a host set: two more sshd in the shared container
 * (web1 logs in as alice, web2 as bob, so each host has its own home to check) and "down", a port
 * nobody listens on; all three are ssh config aliases.
 */
class FleetScriptsTest extends VpsTestBase {
    static final Map<String, Object> TWO_OK_ONE_UNREACHABLE = Map.of("ok", 2L, "failed", 0L, "unreachable", 1L, "skipped", 0L);
    static Path dir;
    static Path knownHosts;
    static Path sshConfig;
    static VpsServer.FleetSshd web1;
    static VpsServer.FleetSshd web2;

    @BeforeAll
    static void startServers() throws IOException {
        dir = Files.createTempDirectory("fleet-scripts");
        web1 = vps.fleetSshd("web1");
        web2 = vps.fleetSshd("web2");
        knownHosts = Files.writeString(dir.resolve("known_hosts"), vps.knownHostsLine(web1.port()) + "\n" + vps.knownHostsLine(web2.port()) + "\n");
        sshConfig = Files.writeString(dir.resolve("ssh_config"), alias("web1", web1.port(), "alice") + alias("web2", web2.port(), "bob")
                + alias("down", VpsServer.freePort(), "root"));
    }

    static String alias(String name, int port, String user) {
        return "Host " + name + "\n  HostName 127.0.0.1\n  Port " + port + "\n  User " + user + "\n  IdentityFile " + vps.key
                + "\n  UserKnownHostsFile " + knownHosts + "\n";
    }

    @AfterAll
    static void stopServers() {
        if (web1 != null) {
            web1.close();
        }
        if (web2 != null) {
            web2.close();
        }
    }

    /** ARGS with -H HOSTS and this class's ssh config. */
    static List<String> on(String hosts, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("-H", hosts, "--ssh-config", sshConfig.toString(), "--connect-timeout", "10s"));
        return all;
    }

    static Runs.Result put(List<String> args) {
        return Runs.run(args, new byte[0], (out, err, in) -> new SftpPut(out, err, in));
    }

    static Runs.Result put(List<String> args, byte[] stdin) {
        return Runs.run(args, stdin, (out, err, in) -> new SftpPut(out, err, in));
    }

    static Runs.Result get(List<String> args) {
        return Runs.run(args, new byte[0], (out, err, in) -> new SftpGet(out, err, in));
    }

    /** job SUBCOMMAND -H HOSTS ARGS. */
    static Runs.Result job(String hosts, String subcommand, String... args) {
        List<String> all = new ArrayList<>(on(hosts, subcommand));   // the target before the arguments, which may end in -- CMD
        all.addAll(List.of(args));
        return Runs.run(all, new byte[0], (out, err, in) -> new JobCommand(out, err));
    }

    static Map<?, ?> host(Runs.Result r, String name) {
        Map<?, ?> hosts = (Map<?, ?>) r.json().get("hosts");
        assertNotNull(hosts, r.toString());
        return (Map<?, ?>) hosts.get(name);
    }

    static String errorKind(Map<?, ?> envelope) {
        return envelope.get("error") instanceof Map<?, ?> e ? (String) e.get("kind") : null;
    }

    @Test
    void uploadToEveryHostVerifiesEachHostsCopy() throws IOException {
        byte[] content = new byte[300_000];
        new java.util.Random(19).nextBytes(content);
        Path local = Files.write(dir.resolve("fleet-put.bin"), content);
        String expected = java.util.HexFormat.of().formatHex(Sha256.digest().digest(content));
        vps.exec("rm -f ~alice/fleet-put.bin ~bob/fleet-put.bin");
        Runs.Result r = put(on("web1,web2,down", "--json", local.toString(), "fleet-put.bin"));
        assertEquals(255, r.exit(), r.toString());
        assertEquals(TWO_OK_ONE_UNREACHABLE, r.json().get("summary"), r.toString());
        for (String name : List.of("web1", "web2")) {
            assertEquals(expected, host(r, name).get("sha256"), r.toString());
            assertEquals((long) content.length, host(r, name).get("bytes"));
            assertEquals("done", ((Map<?, ?>) ((List<?>) host(r, name).get("files")).get(0)).get("status"));
        }
        assertEquals("NETWORK", errorKind(host(r, "down")), r.toString());
        // Each host's copy read on its own sshd, apart from the upload: alice's home through web1, bob's through web2.
        for (VpsServer.FleetSshd sshd : List.of(web1, web2)) {
            List<String> args = new ArrayList<>(List.of("-H", "127.0.0.1", "-p", Integer.toString(sshd.port()), "-u", sshd == web1 ? "alice" : "bob",
                    "-i", vps.key.toString(), "--known-hosts", knownHosts.toString(), "sha256sum fleet-put.bin"));
            Runs.Result sum = Runs.exec(args);
            assertEquals(expected, sum.stdout().split(" ")[0], sum.toString());
        }
    }

    @Test
    void stdinIsReadOnceAndEveryHostGetsTheSameBytes() {
        vps.exec("rm -f ~alice/fleet-stdin.txt ~bob/fleet-stdin.txt");
        Runs.Result r = put(on("web1,web2", "-", "fleet-stdin.txt"), "one input for every host\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(0, r.exit(), r.toString());
        assertEquals("one input for every host\n", vps.exec("cat ~alice/fleet-stdin.txt"));
        assertEquals("one input for every host\n", vps.exec("cat ~bob/fleet-stdin.txt"));
    }

    @Test
    void killStopsTheJobOnEveryHostOfTheSet() {
        Runs.Result start = job("web1,web2", "start", "--json", "--", "sleep 300");
        assertEquals(0, start.exit(), start.toString());
        String id = (String) host(start, "web1").get("job");
        Runs.Result kill = job("web1,web2", "kill", id, "--json");
        assertEquals(0, kill.exit(), kill.toString());
        assertEquals("killed", host(kill, "web1").get("status"), kill.toString());
        assertEquals("killed", host(kill, "web2").get("status"), kill.toString());
        assertEquals("TERM", host(kill, "web2").get("signal"));
    }

    @Test
    void downloadFromEveryHostLandsInDestSlashName() throws IOException {
        vps.exec("echo from-alice > ~alice/fleet-get.txt && chown alice ~alice/fleet-get.txt && echo from-bob > ~bob/fleet-get.txt && chown bob ~bob/fleet-get.txt");
        Path dest = Files.createDirectories(dir.resolve("got"));
        Runs.Result r = get(on("web1,web2,down", "fleet-get.txt", dest.toString()));
        assertEquals(255, r.exit(), r.toString());
        assertEquals("from-alice\n", Files.readString(dest.resolve("web1/fleet-get.txt")));
        assertEquals("from-bob\n", Files.readString(dest.resolve("web2/fleet-get.txt")));
        assertFalse(Files.exists(dest.resolve("down")), "nothing for the host that was not reached");
        assertTrue(r.stderr().contains("fleet: 2 ok, 0 failed, 1 unreachable (down), 0 skipped"), r.toString());
    }

    @Test
    void aHostNameThatIsNoPlainFolderNameIsRefusedBeforeAnyHostRuns() throws IOException {
        Path dest = Files.createDirectories(dir.resolve("hostile"));
        Runs.Result r = get(on("web1,..", "fleet-get.txt", dest.resolve("inner").toString() + "/"));
        assertEquals(2, r.exit(), r.toString());
        assertTrue(r.stderr().contains("vps: CONFIG:") && r.stderr().contains("'..'"), r.toString());
        try (var left = Files.list(dest)) {
            assertEquals(List.of(), left.toList(), "nothing written, not even web1's files");
        }
        Runs.Result toStdout = get(on("web1,web2", "fleet-get.txt", "-"));
        assertEquals(2, toStdout.exit(), toStdout.toString());
        assertTrue(toStdout.stderr().contains("cannot go to stdout"), toStdout.toString());
    }

    @Test
    void jobStartOnAHostSetSharesOneIdForWaitStatusLogsAndList() {
        Runs.Result start = job("web1,web2,down", "start", "--json", "--", "echo job-$(whoami)");
        assertEquals(255, start.exit(), start.toString());
        assertEquals(TWO_OK_ONE_UNREACHABLE, start.json().get("summary"), start.toString());
        String id = (String) host(start, "web1").get("job");
        assertNotNull(id, start.toString());
        assertEquals(id, host(start, "web2").get("job"), "one id, generated once for the set");

        Runs.Result wait = job("web1,web2,down", "wait", id, "--max", "20s", "--json");
        assertEquals(255, wait.exit(), wait.toString());
        assertEquals(TWO_OK_ONE_UNREACHABLE, wait.json().get("summary"), wait.toString());
        assertEquals("exited", host(wait, "web2").get("status"));

        Runs.Result status = job("web1,web2", "status", id, "--json");
        assertEquals(0, status.exit(), status.toString());
        assertEquals(0L, host(status, "web1").get("exitCode"));
        assertEquals("exited", host(status, "web2").get("status"));

        Runs.Result logs = job("web1,web2", "logs", id);
        assertEquals(0, logs.exit(), logs.toString());
        assertTrue(logs.stdout().contains("web1: job-alice\n") && logs.stdout().contains("web2: job-bob\n"), logs.toString());

        Runs.Result list = job("web1,web2", "list", "--json");
        assertEquals(0, list.exit(), list.toString());
        for (String name : List.of("web1", "web2")) {
            List<?> jobs = (List<?>) host(list, name).get("jobs");
            assertTrue(jobs.stream().anyMatch(j -> id.equals(((Map<?, ?>) j).get("job"))), name + " lists the job: " + list);
        }
    }

    @Test
    void diagnoseAuthPerHost() {
        Runs.Result r = Runs.run(on("web1,web2,down", "--json"), new byte[0], (out, err, in) -> new DiagnoseAuth(out, err));
        assertEquals(255, r.exit(), r.toString());
        assertEquals(TWO_OK_ONE_UNREACHABLE, r.json().get("summary"), r.toString());
        assertEquals(0L, host(r, "web1").get("exitCode"), r.toString());
        assertEquals(0L, host(r, "web2").get("exitCode"), r.toString());
        assertNotNull(host(r, "web2").get("verdict"));
        assertEquals("NETWORK", errorKind(host(r, "down")), r.toString());
        assertTrue(((String) ((Map<?, ?>) host(r, "down").get("verdict")).get("cause")).startsWith("nothing listens on port"), r.toString());
    }
}
