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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The owner's policy through the scripts against the OpenSSH container: a refusal is POLICY (exit 77)
 * naming FILE:LINE, and nothing reaches the server (a marker file the refused command would create
 * stays absent).
 */
class PolicyTest extends VpsTestBase {
    private static final Path HOME_POLICY = Path.of(System.getProperty("user.home"), ".config", "vps-toolkit", "policy.yaml");

    @AfterEach
    void removeTheHomePolicy() throws Exception {
        Files.deleteIfExists(HOME_POLICY);
    }

    /** A fresh environment whose VPS_POLICY is a file holding YAML. */
    private static Path envPolicy(Path dir, String yaml) throws Exception {
        Path file = Files.writeString(dir.resolve("policy.yaml"), yaml);
        TestSupport.freshEnvironment(Map.of("VPS_POLICY", file.toString()));
        return file;
    }

    private static Runs.Result exec(String... more) {
        return Runs.exec(TestSupport.args(vps.target("root"), more));
    }

    private static String marker(String name) {
        String path = "/tmp/policy-test-" + name + "-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        vps.exec("rm -f " + path);
        return path;
    }

    private static boolean exists(String path) {
        return vps.exec("test -e " + path + " && echo yes || echo no").trim().equals("yes");
    }

    private static void assertRefused(Runs.Result r, String rule) {
        assertEquals(77, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: POLICY: refused "), r.stderr());
        assertTrue(r.stderr().contains("(rule " + rule + ")"), r.stderr());
        assertTrue(r.stderr().contains("\nhint: "), r.stderr());
    }

    @Test
    void readOnlyRefusesAWriteAndRunsARead(@TempDir Path dir) throws Exception {
        Path file = envPolicy(dir, "default:\n  mode: read-only\n");
        String m = marker("ro");
        Runs.Result write = exec("--", "ls / && touch " + m);
        assertRefused(write, file + ":2");
        assertTrue(write.stderr().contains("`touch " + m + "` is not read-only"), write.stderr());
        assertFalse(exists(m), "the refused command ran");

        Runs.Result read = exec("--", "cat /etc/hostname | wc -l; df -h / >/dev/null && echo read-ok");
        assertEquals(0, read.exit(), read.toString());
        assertEquals("1\nread-ok\n", read.stdout());

        assertRefused(exec("--sudo", "--", "ls /"), file + ":2");
        assertRefused(exec("--env", "PATH=/tmp", "--", "ls /"), file + ":2");
        assertRefused(exec("-c", "ls /", "-c", "touch " + m), file + ":2");
        Path script = Files.writeString(dir.resolve("s.py"), "#!/usr/bin/python3\nopen('" + m + "', 'w')\n");
        assertRefused(exec("--script", script.toString()), file + ":2");
        assertFalse(exists(m), "a refused command ran");
    }

    /** A rule's match sees the inventory: a host's name there and its groups (children included), not only -H and the address. */
    @Test
    void aRuleMatchesAnInventoryGroupAndName(@TempDir Path dir) throws Exception {
        Path file = envPolicy(dir, "targets:\n  - match: prod\n    mode: read-only\n  - match: \"web*\"\n    mode: read-only\n");
        Path inventory = Files.writeString(dir.resolve("hosts.ini"), "[dbs]\ndb1 ansible_host=127.0.0.1 ansible_port=" + vps.port
                + "\n[web]\nweb1 ansible_host=127.0.0.1 ansible_port=" + vps.port + "\n[other]\nplain ansible_host=127.0.0.1 ansible_port=" + vps.port
                + "\n[prod:children]\ndbs\n");
        String m = marker("inventory");
        List<String> login = new ArrayList<>(vps.target("root"));
        int h = login.indexOf("-H");
        login.subList(h, h + 4).clear();   // -H 127.0.0.1 -p PORT: the inventory says where each host is
        login.addAll(List.of("--inventory", inventory.toString()));
        for (String host : List.of("db1", "web1")) {
            Runs.Result r = Runs.exec(TestSupport.args(login, "-H", host, "--", "touch " + m));
            assertRefused(r, file + (host.equals("db1") ? ":3" : ":5"));
            assertTrue(r.stderr().contains(" on " + host + ": "), "the inventory's name for it: " + r.stderr());
        }
        assertFalse(exists(m), "a refused command ran");
        Runs.Result plain = Runs.exec(TestSupport.args(login, "-H", "plain", "--", "touch " + m));
        assertEquals(0, plain.exit(), "no rule matches 'plain' or its group: " + plain);
        assertTrue(exists(m));
    }

    /** The audit log sees the policy's word: a refused call gets its line ("refused", the rule), an allowed one says "allow". */
    @Test
    void theAuditLogCarriesEachDecision(@TempDir Path dir) throws Exception {
        Path file = envPolicy(dir, "default:\n  mode: read-only\n");
        String m = marker("audited");
        String read = "echo audited-read-" + System.nanoTime();
        String write = "touch " + m;
        assertEquals(0, exec("--", read).exit());
        assertRefused(exec("--", write), file + ":2");
        List<Map<String, Object>> lines = new ArrayList<>();
        for (AuditLog.Line l : AuditLog.standard().lines()) {
            lines.add(AuditLog.parse(l.text()));
        }
        Map<String, Object> allowed = lines.stream().filter(l -> read.equals(l.get("command"))).findFirst().orElseThrow();
        assertEquals("allow", allowed.get("policy"), allowed.toString());
        assertEquals("exited", allowed.get("status"));
        Map<String, Object> refused = lines.stream().filter(l -> write.equals(l.get("command"))).findFirst().orElseThrow(
                () -> new AssertionError("no line for the refused command: " + lines.subList(Math.max(0, lines.size() - 3), lines.size())));
        assertEquals("refused: " + file + ":2", refused.get("policy"), refused.toString());
        assertEquals("refused", refused.get("status"));
        assertEquals(77L, ((Number) refused.get("exitCode")).longValue());
        assertFalse(exists(m));
    }

    @Test
    void readOnlyRefusesUploadsJobsAndSessionsAndAllowsDownloads(@TempDir Path dir) throws Exception {
        Path file = envPolicy(dir, "targets:\n  - match: 127.0.0.*\n    mode: read-only\n");
        String m = marker("put");
        Path local = Files.writeString(dir.resolve("up.txt"), "x\n");
        Runs.Result put = Runs.run(TestSupport.args(vps.target("root"), local.toString(), m), new byte[0], SftpPut::new);
        assertRefused(put, file + ":3");
        assertFalse(exists(m), "the refused upload wrote");

        Runs.Result get = Runs.run(TestSupport.args(vps.target("root"), "/etc/hostname", dir.resolve("h").toString()), new byte[0], SftpGet::new);
        assertEquals(0, get.exit(), get.toString());
        assertTrue(Files.exists(dir.resolve("h")));

        List<String> job = new ArrayList<>(List.of("start"));
        job.addAll(vps.target("root"));
        job.addAll(List.of("--", "touch " + m));
        assertRefused(Runs.run(job, new byte[0], (out, err, in) -> new JobCommand(out, err)), file + ":3");
        List<String> session = new ArrayList<>(List.of("open"));
        session.addAll(vps.target("root"));
        session.addAll(List.of("--", "sh", "-i"));
        assertRefused(Runs.run(session, new byte[0], (out, err, in) -> new SessionCommand(out, err)), file + ":3");
        assertFalse(exists(m), "the refused job ran");
    }

    @Test
    void aDenyRuleRefusesACommandInsideAChain(@TempDir Path dir) throws Exception {
        Path file = envPolicy(dir, "default:\n  deny:\n    - \"rm *\"\n");
        String m = marker("deny");
        Runs.Result r = exec("--", "touch " + m + "; ls / | sudo rm -f " + m);
        assertRefused(r, file + ":3");
        assertTrue(r.stderr().contains("`rm -f " + m + "` matches the deny rule `rm *`"), r.stderr());
        assertFalse(exists(m), "a command of the refused line ran");

        Runs.Result other = exec("--", "touch " + m + " && echo made");
        assertEquals("made\n", other.stdout(), other.toString());
        assertTrue(exists(m));
        vps.exec("rm -f " + m);
    }

    @Test
    void confirmRefusesAChangeWithoutATerminalEvenWithYes(@TempDir Path dir) throws Exception {
        Path file = envPolicy(dir, "default:\n  mode: confirm\n");
        String m = marker("confirm");
        for (List<String> extra : List.of(List.<String>of(), List.of("--yes"))) {
            List<String> args = new ArrayList<>(extra);
            args.addAll(List.of("--", "touch " + m));
            Runs.Result r = exec(args.toArray(String[]::new));
            assertRefused(r, file + ":2");
            assertTrue(r.stderr().contains("nobody can be asked"), r.stderr());
        }
        assertFalse(exists(m), "the unconfirmed change ran");
        Runs.Result read = exec("--", "uptime >/dev/null && echo up");
        assertEquals("up\n", read.stdout(), read.toString());
    }

    @Test
    void theHomePolicyAndVpsPolicyBothApply(@TempDir Path dir) throws Exception {
        Files.createDirectories(HOME_POLICY.getParent());
        Files.writeString(HOME_POLICY, "default:\n  deny: [\"echo from-home*\"]\n");
        Path file = envPolicy(dir, "default:\n  deny: [\"echo from-env*\"]\n");
        assertRefused(exec("--", "echo from-home"), HOME_POLICY + ":2");
        assertRefused(exec("--", "echo from-env"), file + ":2");
        Runs.Result ok = exec("--", "echo neither");
        assertEquals("neither\n", ok.stdout(), ok.toString());
    }

    @Test
    void aBadPolicyFileIsAConfigErrorAndNothingRuns(@TempDir Path dir) throws Exception {
        Path file = envPolicy(dir, "default:\n  mode: full\n  alow: [\"ls\"]\n");
        String m = marker("bad");
        Runs.Result r = exec("--", "touch " + m);
        assertEquals(2, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: CONFIG: " + file + ":3: unknown key alow"), r.stderr());
        assertFalse(exists(m), "a command ran under a broken policy");
    }

    @Test
    void aDotenvNamingVpsPolicyIsRefused(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("lenient.yaml"), "default:\n  mode: full\n");
        Path dotenv = TrustAnchorsTest.folderWithDotenv(dir, "VPS_POLICY=" + dir.resolve("lenient.yaml"));
        String m = marker("dotenv");
        Runs.Result r = exec("--", "touch " + m);
        assertEquals(2, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: CONFIG: " + dotenv + " names VPS_POLICY"), r.stderr());
        assertFalse(exists(m), "a command ran");
    }

    /** No argument names a policy: not an option, not --env-file (the owner's read-only file stays in force). */
    @Test
    void noArgumentLoosensThePolicy(@TempDir Path dir) throws Exception {
        Path owner = envPolicy(dir, "default:\n  mode: read-only\n");
        Path lenient = Files.writeString(dir.resolve("lenient.yaml"), "default:\n  mode: full\n");
        Path envFile = Files.writeString(dir.resolve("lenient.env"), "VPS_POLICY=" + lenient + "\n");
        String m = marker("argument");
        Runs.Result option = exec("--policy", lenient.toString(), "--", "touch " + m);
        assertEquals(2, option.exit(), option.toString());
        assertTrue(option.stderr().startsWith("vps: CONFIG: Unknown option: '--policy'"), option.stderr());
        Runs.Result file = exec("--env-file", envFile.toString(), "--", "touch " + m);
        assertEquals(2, file.exit(), file.toString());
        assertTrue(file.stderr().contains("VPS_POLICY"), file.stderr());
        assertRefused(exec("--", "touch " + m), owner + ":2");
        assertFalse(exists(m), "a command ran");
    }

    /** An mcp-server under POLICY, and an SDK client that answers elicitations with ANSWER (null: it declares no elicitation). */
    private static McpSyncClient mcpClient(Path dir, Path policy, McpSchema.ElicitResult.Action answer, List<String> asked) throws Exception {
        return mcpClient(dir, policy, answer, asked, Map.of());
    }

    private static McpSyncClient mcpClient(Path dir, Path policy, McpSchema.ElicitResult.Action answer, List<String> asked,
                                           Map<String, String> moreEnv) throws Exception {
        Path sshConfig = Files.writeString(dir.resolve("ssh_config"), "");
        List<String> args = new ArrayList<>(List.of("-Duser.home=" + dir, "-Djdk.net.hosts.file=" + System.getProperty("jdk.net.hosts.file"),
                "-cp", System.getProperty("java.class.path"), "McpServer"));
        args.addAll(vps.target("root"));
        ServerParameters params = ServerParameters.builder(Path.of(System.getProperty("java.home"), "bin", "java").toString()).args(args)
                .env(env(Map.of("VPS_SSH_CONFIG", sshConfig.toString(), "VPS_TOOLKIT_HOME", dir.resolve("toolkit").toString(), "VPS_POLICY", policy.toString()),
                        moreEnv))
                .build();
        McpClient.SyncSpec spec = McpClient.sync(new StdioClientTransport(params, McpJsonDefaults.getMapper()))
                .requestTimeout(java.time.Duration.ofSeconds(90)).initializationTimeout(java.time.Duration.ofSeconds(60));
        if (answer != null) {
            spec = spec.capabilities(McpSchema.ClientCapabilities.builder().elicitation().build()).elicitation(request -> {
                asked.add(request.message());
                return new McpSchema.ElicitResult(answer, answer == McpSchema.ElicitResult.Action.ACCEPT ? Map.of() : null);
            });
        }
        McpSyncClient client = spec.build();
        client.initialize();
        return client;
    }

    private static Map<String, String> env(Map<String, String> base, Map<String, String> more) {
        Map<String, String> all = new java.util.HashMap<>(base);
        all.putAll(more);
        return all;
    }

    /** mcp-server's targets from its inventory: a rule matching a group refuses a change on its hosts only. */
    @Test
    void mcpServerMatchesInventoryGroups(@TempDir Path dir) throws Exception {
        Assumptions.assumeFalse(EngineRuns.on(), "mcp-server is its own process: the engine pass adds nothing");
        Path policy = Files.writeString(dir.resolve("policy.yaml"), "targets:\n  - match: dbs\n    mode: read-only\n");
        String login = " ansible_host=127.0.0.1 ansible_port=" + vps.port + " ansible_user=root ansible_ssh_private_key_file=" + vps.key;
        Path inventory = Files.writeString(dir.resolve("hosts.ini"), "[dbs]\ndb1" + login + "\n[other]\nplain" + login + "\n");
        String m = marker("mcp-inventory");
        McpSyncClient client = mcpClient(dir, policy, null, new ArrayList<>(), Map.of("VPS_INVENTORY", inventory.toString()));
        try {
            McpServerTest.Call refused = new McpServerTest.Call(client.callTool(new McpSchema.CallToolRequest("exec",
                    McpServerTest.args("command", "touch " + m, "target", "db1"))));
            assertEquals("POLICY", refused.errorKind(), refused.toString());
            assertTrue(refused.text().contains(" on db1: ") && refused.text().contains("(rule " + policy + ":3)"), refused.toString());
            assertFalse(exists(m), "a refused call reached the server");
            McpServerTest.Call ran = new McpServerTest.Call(client.callTool(new McpSchema.CallToolRequest("exec",
                    McpServerTest.args("command", "touch " + m, "target", "plain"))));
            assertFalse(ran.isError(), ran.toString());
            assertTrue(exists(m));
        } finally {
            client.closeGracefully();
        }
    }

    private static McpServerTest.Call mcpExec(McpSyncClient client, String command) {
        return new McpServerTest.Call(client.callTool(new McpSchema.CallToolRequest("exec", McpServerTest.args("command", command))));
    }

    @Test
    void mcpServerAsksThroughElicitationAndRunsOnlyOnAccept(@TempDir Path dir) throws Exception {
        // null: a client that declared no elicitation, which cannot be asked
        Assumptions.assumeFalse(EngineRuns.on(), "mcp-server is its own process: the engine pass adds nothing");
        Path policy = Files.writeString(dir.resolve("policy.yaml"), "default:\n  mode: confirm\n");
        List<McpSchema.ElicitResult.Action> answers = new ArrayList<>(List.of(McpSchema.ElicitResult.Action.values()));
        answers.add(null);
        for (McpSchema.ElicitResult.Action answer : answers) {
            List<String> asked = java.util.Collections.synchronizedList(new ArrayList<>());
            String m = marker("mcp-" + answer);
            McpSyncClient client = mcpClient(Files.createDirectories(dir.resolve(String.valueOf(answer))), policy, answer, asked);
            try {
                McpServerTest.Call read = mcpExec(client, "uname -s");
                assertEquals("Linux\n", read.get("stdout"), read.toString());
                assertTrue(asked.isEmpty(), "a read was asked about: " + asked);

                McpServerTest.Call change = mcpExec(client, "touch " + m);
                if (answer == null) {
                    assertEquals("POLICY", change.errorKind(), change.toString());
                    assertTrue(change.text().contains("nobody can be asked") && change.text().contains("elicitation"), change.toString());
                    assertFalse(exists(m), "an unconfirmed command ran");
                    continue;
                }
                assertEquals(1, asked.size(), asked.toString());
                assertTrue(asked.get(0).contains("Target: 127.0.0.1") && asked.get(0).contains("Command: touch " + m), asked.get(0));
                if (answer == McpSchema.ElicitResult.Action.ACCEPT) {
                    assertEquals(0, ((Number) change.get("exitCode")).intValue(), change.toString());
                    assertTrue(exists(m), "the accepted command did not run");
                    vps.exec("rm -f " + m);
                } else {
                    assertTrue(change.isError(), change.toString());
                    assertEquals("POLICY", change.errorKind(), change.toString());
                    assertTrue(change.text().contains("declined") && change.text().contains("(rule " + policy + ":2)"), change.toString());
                    assertFalse(exists(m), "a " + answer + "ed command ran");
                }
            } finally {
                client.closeGracefully();
            }
        }
    }

    @Test
    void mcpServerUnderReadOnlyRefusesChangesUploadsAndJobsAndRunsReads(@TempDir Path dir) throws Exception {
        Assumptions.assumeFalse(EngineRuns.on(), "mcp-server is its own process: the engine pass adds nothing");
        Path policy = Files.writeString(dir.resolve("policy.yaml"), "default:\n  mode: confirm\ntargets:\n  - match: 127.0.0.1\n    mode: read-only\n");
        String m = marker("mcp-none");
        McpSyncClient client = mcpClient(dir, policy, null, new ArrayList<>());
        try {
            McpServerTest.Call change = mcpExec(client, "ls; touch " + m);
            assertEquals("POLICY", change.errorKind(), change.toString());
            assertTrue(change.text().contains("(rule " + policy + ":5)"), change.toString());
            McpServerTest.Call upload = new McpServerTest.Call(client.callTool(new McpSchema.CallToolRequest("upload",
                    McpServerTest.args("local", Files.writeString(dir.resolve("f"), "x").toString(), "remote", m))));
            assertEquals("POLICY", upload.errorKind(), upload.toString());
            McpServerTest.Call job = new McpServerTest.Call(client.callTool(new McpSchema.CallToolRequest("job_start", McpServerTest.args("command", "touch " + m))));
            assertEquals("POLICY", job.errorKind(), job.toString());
            assertFalse(exists(m), "a refused call reached the server");
            McpServerTest.Call read = mcpExec(client, "uname -s");
            assertEquals("Linux\n", read.get("stdout"), read.toString());
        } finally {
            client.closeGracefully();
        }
    }

    /**
     * The hosts of a set confirm from their own threads at once: the person is asked one question at a time.
     * Host b's question is forced to arrive while host a's is still open; it must wait (blocked on the lock,
     * not inside the person's question) until a's is answered. Before the lock both were asked together.
     */
    @Test
    void aHostSetAsksThePersonOneQuestionAtATime() throws Exception {
        java.util.concurrent.CountDownLatch answerA = new java.util.concurrent.CountDownLatch(1);
        java.util.Set<String> asked = java.util.concurrent.ConcurrentHashMap.newKeySet();
        java.util.concurrent.atomic.AtomicInteger open = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger mostOpen = new java.util.concurrent.atomic.AtomicInteger();
        Guard.Confirmer person = Guard.oneAtATime((target, what, reason) -> {
            mostOpen.accumulateAndGet(open.incrementAndGet(), Math::max);
            asked.add(target);
            try {
                if (target.equals("a") && !answerA.await(20, java.util.concurrent.TimeUnit.SECONDS)) {
                    throw new IllegalStateException("a's question was never answered");
                }
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            } finally {
                open.decrementAndGet();
            }
            return true;
        });
        Thread a = new Thread(() -> person.confirm("a", "apt upgrade", "prod"));
        a.start();
        awaitTrue(() -> asked.contains("a"), "a is asked");
        Thread b = new Thread(() -> person.confirm("b", "apt upgrade", "prod"));
        b.start();
        // b either walks into the question (asked) or waits for a's answer (WAITING without having been asked).
        awaitTrue(() -> asked.contains("b") || (b.getState() == Thread.State.WAITING && !asked.contains("b")), "b asks or waits");
        assertFalse(asked.contains("b"), "b was asked while a's question was still open");
        answerA.countDown();
        a.join(10_000);
        b.join(10_000);
        assertTrue(asked.contains("b"), "b is asked once a has answered");
        assertEquals(1, mostOpen.get(), "questions open at once");
    }

    private static void awaitTrue(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 10 s: " + what);
            }
            Thread.sleep(5);
        }
    }
}
