import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.modelcontextprotocol.client.McpAsyncClient;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;

/**
 * mcp-server driven by the MCP SDK's own client over stdio, as an agent's host would run it: a
 * separate JVM per session, against the OpenSSH container.
 */
class McpServerTest extends VpsTestBase {
    static Path dir;
    static Path sshConfig;
    static Session shared;

    @BeforeAll
    static void startSession() throws IOException {
        dir = Files.createTempDirectory("mcp-test");
        sshConfig = Files.writeString(dir.resolve("ssh_config"), "Host vps-alice\n  HostName 127.0.0.1\n  Port " + vps.port
                + "\n  User alice\n  IdentityFile " + vps.key + "\n  UserKnownHostsFile " + vps.knownHosts + "\n"
                + "Host other-*\n  User nobody\n");
        shared = new Session(vps.target("root"));
    }

    @AfterAll
    static void stopSession() {
        if (shared != null) {
            shared.close();
        }
    }

    /** One mcp-server process and the SDK client talking to it. */
    static final class Session implements AutoCloseable {
        final McpSyncClient client;
        final List<String> stderr = java.util.Collections.synchronizedList(new ArrayList<>());

        Session(List<String> serverArgs) {
            this(serverArgs, Map.of());
        }

        /** With EXTRA variables in the server's environment. */
        Session(List<String> serverArgs, Map<String, String> extra) {
            this(dir, sshConfig, serverArgs, extra);
        }

        /** With HOME as its home and toolkit folder's parent, and SSH_CONFIG as its ssh config (another test class's own). */
        Session(Path home, Path sshConfig, List<String> serverArgs, Map<String, String> extra) {
            List<String> args = new ArrayList<>(List.of("-Duser.home=" + home, "-Djdk.net.hosts.file=" + System.getProperty("jdk.net.hosts.file"),
                    "-cp", System.getProperty("java.class.path"), "McpServer"));
            args.addAll(serverArgs);
            ServerParameters params = ServerParameters.builder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString())
                    .args(args).env(withExtra(Map.of("VPS_SSH_CONFIG", sshConfig.toString(), "VPS_TOOLKIT_HOME", home.resolve("toolkit").toString()), extra))
                    .build();
            StdioClientTransport transport = new StdioClientTransport(params, McpJsonDefaults.getMapper());
            transport.setStdErrorHandler(stderr::add);
            client = McpClient.sync(transport).requestTimeout(Duration.ofSeconds(90)).initializationTimeout(Duration.ofSeconds(60)).build();
            client.initialize();
        }

        private static Map<String, String> withExtra(Map<String, String> env, Map<String, String> extra) {
            Map<String, String> all = new HashMap<>(env);
            all.putAll(extra);
            return all;
        }

        Call call(String tool, Map<String, Object> arguments) {
            return new Call(client.callTool(new McpSchema.CallToolRequest(tool, arguments)));
        }

        @Override
        public void close() {
            client.closeGracefully();
        }
    }

    /** A tool's answer: the envelope, and whether it was a tool error. */
    record Call(Map<?, ?> json, boolean isError, String text) {
        Call(McpSchema.CallToolResult r) {
            this(Json.read(((McpSchema.TextContent) r.content().get(0)).text(), Map.class), Boolean.TRUE.equals(r.isError()),
                    r.content().stream().map(c -> ((McpSchema.TextContent) c).text()).collect(Collectors.joining("\n")));
        }

        Object get(String key) {
            return json.get(key);
        }

        String errorKind() {
            return json.get("error") instanceof Map<?, ?> e ? (String) e.get("kind") : null;
        }

        @Override
        public String toString() {
            return text;
        }
    }

    static Map<String, Object> args(Object... pairs) {
        Map<String, Object> m = new HashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            m.put((String) pairs[i], pairs[i + 1]);
        }
        return m;
    }

    @Test
    void initializeAndListEveryToolWithASchema() {
        assertEquals("vps-toolkit", shared.client.getServerInfo().name());
        assertTrue(shared.client.getServerInstructions().contains("job_start"));
        List<McpSchema.Tool> tools = shared.client.listTools().tools();
        assertEquals(Set.of("exec", "write_file", "read_file", "upload", "download", "job_start", "job_status", "job_logs",
                "job_wait", "job_kill", "job_list", "session_open", "session_send", "session_read", "session_close", "diagnose_auth", "list_targets",
                "tunnel_start", "tunnel_status", "tunnel_stop"), tools.stream().map(McpSchema.Tool::name).collect(Collectors.toSet()));
        for (McpSchema.Tool t : tools) {
            assertTrue(t.description().length() > 60, t.name() + " has a description an agent can act on");
            assertTrue(((Map<?, ?>) t.inputSchema().get("properties")).containsKey("target"), t.name() + " takes a target");
        }
        McpSchema.Tool exec = tools.stream().filter(t -> t.name().equals("exec")).findFirst().orElseThrow();
        assertEquals(List.of("command"), exec.inputSchema().get("required"));
        assertTrue(((Map<?, ?>) exec.inputSchema().get("properties")).keySet().containsAll(List.of("timeout", "detach_after", "max_output", "env", "cwd", "sudo")));
    }

    @Test
    void execReturnsTheEnvelopeWithTheCommandsOwnExitCode() {
        Call r = shared.call("exec", args("command", "echo out; echo err >&2; printf '%s' \"$GREETING\" > /tmp/mcp-env; pwd; exit 3",
                "env", Map.of("GREETING", "it's $(not run)"), "cwd", "/tmp"));
        assertFalse(r.isError(), r.toString());
        assertEquals("exited", r.get("status"));
        assertEquals(3L, r.get("exitCode"));
        assertEquals("out\n/tmp\n", r.get("stdout"));
        assertEquals("err\n", r.get("stderr"));
        assertEquals("127.0.0.1", r.get("host"));
        assertEquals("it's $(not run)", vps.exec("cat /tmp/mcp-env"));
    }

    @Test
    void execTimeoutTruncationAndSudoThroughAnSshConfigAlias() {
        Call slow = shared.call("exec", args("command", "sleep 30", "timeout", "1s", "detach_after", "0"));
        assertTrue(slow.isError(), slow.toString());
        assertEquals("timed_out", slow.get("status"));
        assertEquals("TIMEOUT", slow.errorKind());
        assertTrue(slow.text().contains("\nvps: TIMEOUT: "), slow.text());

        Call big = shared.call("exec", args("command", "head -c 100000 /dev/zero | tr '\\0' x", "max_output", 1000));
        assertEquals(true, big.get("truncated"));
        assertTrue(((String) big.get("stdout")).length() < 1200, "cut to a head and a tail");
        String spilled = (String) ((List<?>) big.get("outputFiles")).get(0);
        assertEquals(100000, new java.io.File(spilled).length(), "every byte kept locally");

        Call sudo = shared.call("exec", args("command", "id -un", "sudo", true, "target", "vps-alice"));
        assertFalse(sudo.isError(), sudo.toString());
        assertEquals("root\n", sudo.get("stdout"));
        Call plain = shared.call("exec", args("command", "id -un", "target", "vps-alice"));
        assertEquals("alice\n", plain.get("stdout"));
    }

    @Test
    void aCommandStillRunningAfterDetachAfterGoesOnAsAJob() {
        Call r = shared.call("exec", args("command", "echo first; sleep 8; echo second", "detach_after", "3s"));
        assertFalse(r.isError(), r.toString());
        assertEquals("detached", r.get("status"));
        assertEquals("first\n", r.get("stdout"));
        assertEquals(6L, r.get("next"));
        String job = (String) r.get("job");
        Call waited = shared.call("job_wait", args("id", job, "max", "30s"));
        assertEquals("exited", waited.get("status"), waited.toString());
        assertEquals(0L, waited.get("exitCode"));
        assertEquals("second\n", shared.call("job_logs", args("id", job, "from", 6)).get("stdout"), "no gap, no repeat");

        Call quick = shared.call("exec", args("command", "echo done"));
        assertEquals("exited", quick.get("status"), "a command that ends in time is a plain result");
        assertEquals("done\n", quick.get("stdout"));
    }

    @Test
    void writeFileIsAtomicAndReadFileReturnsItExactly() {
        String content = "line 1 with 'quotes' and \"doubles\"\n$(not run) `nor this`\nünïcödé 日本\n";
        Call w = shared.call("write_file", args("path", "/root/mcp dir/conf.txt", "content", content, "mkdir", true));
        assertFalse(w.isError(), w.toString());
        assertEquals("done", ((Map<?, ?>) ((List<?>) w.get("files")).get(0)).get("status"));
        assertEquals(content, vps.exec("cat '/root/mcp dir/conf.txt'"));
        assertEquals("", vps.exec("ls -A '/root/mcp dir' | grep partial || true"), "no partial file left");

        Call r = shared.call("read_file", args("path", "/root/mcp dir/conf.txt"));
        assertFalse(r.isError(), r.toString());
        assertEquals(content, r.get("content"));
        assertEquals("utf8", r.get("encoding"));
        assertEquals(w.get("sha256"), r.get("sha256"));

        byte[] binary = {0, (byte) 0xff, (byte) 0xfe, 10, 13};
        shared.call("write_file", args("path", "/root/mcp dir/bin", "content", java.util.Base64.getEncoder().encodeToString(binary), "encoding", "base64"));
        Call rb = shared.call("read_file", args("path", "/root/mcp dir/bin"));
        assertEquals("base64", rb.get("encoding"));
        assertEquals(java.util.Base64.getEncoder().encodeToString(binary), rb.get("content"));

        vps.exec("head -c 5000 /dev/zero > /root/big");
        Call tooBig = shared.call("read_file", args("path", "/root/big", "max_bytes", 1000));
        assertTrue(tooBig.isError());
        assertEquals("REMOTE", tooBig.errorKind());
        assertTrue(tooBig.text().contains("hint: raise max_bytes"), tooBig.text());

        Call missing = shared.call("read_file", args("path", "/root/no-such-file"));
        assertTrue(missing.isError());
        assertTrue(missing.text().contains("does not exist"), missing.text());
    }

    @Test
    void uploadAndDownloadLocalPaths() throws IOException {
        Path local = dir.resolve("payload.bin");
        byte[] data = new byte[300_000];
        new java.util.Random(7).nextBytes(data);
        Files.write(local, data);
        Call up = shared.call("upload", args("local", local.toString(), "remote", "/root/up/", "mkdir", true));
        assertFalse(up.isError(), up.toString());
        assertEquals(300000L, up.get("bytes"));
        assertEquals("300000\n", vps.exec("stat -c %s /root/up/payload.bin"));

        Path back = dir.resolve("back/payload.bin");
        Call down = shared.call("download", args("remote", "/root/up/payload.bin", "local", back.toString(), "mkdir", true));
        assertFalse(down.isError(), down.toString());
        assertTrue(java.util.Arrays.equals(data, Files.readAllBytes(back)));
        assertEquals(up.get("sha256"), down.get("sha256"));

        Call again = shared.call("download", args("remote", "/root/up/payload.bin", "local", back.toString(), "no_clobber", true));
        assertTrue(again.isError(), "no_clobber refuses an existing file");
        assertEquals("exists", ((Map<?, ?>) ((List<?>) again.get("files")).get(0)).get("status"));
    }

    @Test
    void sessionToolsHoldAConversationWithAShell() {
        try (Session withSecret = new Session(vps.target("alice"), Map.of("MCP_TEST_ANSWER", "mcp-s3cret"))) {
            Call open = withSecret.call("session_open", args("command", "sh -i", "idle", "5m"));
            assertFalse(open.isError(), open.toString());
            assertEquals("running", open.get("status"));
            String id = (String) open.get("session");

            assertFalse(withSecret.call("session_send", args("id", id, "text", "y=7\n")).isError());
            assertFalse(withSecret.call("session_send", args("id", id, "text", "read -r a; echo \"y=$y len=${#a}\"\n")).isError());
            Call secret = withSecret.call("session_send", args("id", id, "send_env", "MCP_TEST_ANSWER"));
            assertFalse(secret.isError(), secret.toString());
            assertFalse(secret.text().contains("mcp-s3cret"), secret.toString());

            Call read = withSecret.call("session_read", args("id", id, "from", 0, "wait_for", "y=7 len=10", "max", "20s"));
            assertFalse(read.isError(), read.toString());
            assertEquals(true, read.get("matched"));
            assertFalse(read.text().contains("mcp-s3cret"), read.toString());
            long next = ((Number) read.get("next")).longValue();

            Call nothing = withSecret.call("session_read", args("id", id, "from", next, "wait_for", "never", "max", "1s"));
            assertTrue(nothing.isError(), nothing.toString());
            assertEquals("TIMEOUT", nothing.errorKind());
            assertEquals(false, nothing.get("matched"));

            Call close = withSecret.call("session_close", args("id", id));
            assertEquals("closed", close.get("status"), close.toString());
            assertEquals("", vps.exec("grep -lzxF VPS_SESSION=" + id + " /proc/[0-9]*/environ 2>/dev/null || true").trim());
            Call gone = withSecret.call("session_read", args("id", id));
            assertEquals("REMOTE", gone.errorKind(), gone.toString());
            Call hostile = withSecret.call("session_read", args("id", "../jobs"));
            assertEquals("CONFIG", hostile.errorKind(), hostile.toString());
        }
    }

    @Test
    void jobsStartWaitReadKillAndList() {
        Call start = shared.call("job_start", args("id", "mcp-job", "command", "for i in 1 2 3 4 5; do echo line-$i; done; echo oops >&2; exit 4"));
        assertFalse(start.isError(), start.toString());
        assertEquals("mcp-job", start.get("job"));
        assertEquals(true, start.get("created"));
        assertEquals(false, shared.call("job_start", args("id", "mcp-job", "command", "echo never")).get("created"), "the same id never runs twice");

        Call waited = shared.call("job_wait", args("id", "mcp-job", "max", "20s"));
        assertEquals("exited", waited.get("status"));
        assertEquals(4L, waited.get("exitCode"));

        StringBuilder all = new StringBuilder();
        long from = 0;
        for (int round = 0; round < 10; round++) {
            Call part = shared.call("job_logs", args("id", "mcp-job", "from", from, "max_bytes", 8));
            all.append(part.get("stdout"));
            long next = ((Number) part.get("next")).longValue();
            if (next == from) {
                break;
            }
            from = next;
        }
        assertEquals("line-1\nline-2\nline-3\nline-4\nline-5\n", all.toString(), "pieces follow each other with no gap or repeat");
        assertEquals("oops\n", shared.call("job_logs", args("id", "mcp-job", "stderr", true)).get("stdout"));
        assertEquals("exited", shared.call("job_status", args("id", "mcp-job")).get("status"));

        shared.call("job_start", args("id", "mcp-sleeper", "command", "sleep 300"));
        Call still = shared.call("job_wait", args("id", "mcp-sleeper", "max", "1s"));
        assertEquals("running", still.get("status"));
        Call killed = shared.call("job_kill", args("id", "mcp-sleeper"));
        assertEquals("killed", killed.get("status"), killed.toString());

        List<?> jobs = (List<?>) shared.call("job_list", args()).get("jobs");
        Set<Object> ids = jobs.stream().map(j -> ((Map<?, ?>) j).get("job")).collect(Collectors.toSet());
        assertTrue(ids.containsAll(List.of("mcp-job", "mcp-sleeper")), ids.toString());

        Call unknown = shared.call("job_status", args("id", "no-such-job"));
        assertTrue(unknown.isError());
        assertEquals("REMOTE", unknown.errorKind());
    }

    @Test
    void diagnoseAuthAndListTargets() {
        Call ok = shared.call("diagnose_auth", args());
        assertFalse(ok.isError(), ok.toString());
        assertEquals(0L, ok.get("exitCode"));
        assertEquals("login works", ((Map<?, ?>) ok.get("verdict")).get("outcome"), ok.toString());
        assertFalse(((List<?>) ok.get("checks")).isEmpty());

        Call refused = shared.call("diagnose_auth", args("target", "nobody@127.0.0.1:" + vps.port));
        assertEquals(1L, refused.get("exitCode"), refused.toString());

        shared.call("exec", args("command", "true"));
        List<?> targets = (List<?>) shared.call("list_targets", args()).get("targets");
        Map<?, ?> first = (Map<?, ?>) targets.get(0);
        assertEquals("127.0.0.1", first.get("name"));
        assertEquals(true, first.get("default"));
        assertEquals(true, first.get("connected"));
        Map<?, ?> alias = (Map<?, ?>) targets.get(1);
        assertEquals("vps-alice", alias.get("name"));
        assertEquals("alice", alias.get("user"));
        assertEquals(2, targets.size(), "wildcard Host patterns are not names: " + targets);
    }

    @Test
    void withoutADefaultTargetACallMustNameOne() {
        try (Session none = new Session(List.of("--known-hosts", vps.knownHosts.toString()))) {
            Call r = none.call("exec", args("command", "true"));
            assertTrue(r.isError());
            assertEquals("CONFIG", r.errorKind());
            assertTrue(r.text().contains("hint: pass \"target\""), r.text());
            Call named = none.call("exec", args("command", "whoami", "target", "vps-alice"));
            assertEquals("alice\n", named.get("stdout"), named.toString());
        }
    }

    @Test
    void aCallDuringACutFailsWithoutRerunningAndTheNextOneReconnects() throws Exception {
        try (TcpProxy proxy = new TcpProxy(vps.port)) {
            List<String> viaProxy = List.of("-H", "127.0.0.1", "-p", Integer.toString(proxy.port()), "-u", "root", "-i", vps.key.toString(),
                    "--host-key", vps.hostKeyFingerprint, "--known-hosts", dir.resolve("kh-proxy").toString());
            try (Session session = new Session(viaProxy)) {
                assertEquals("warm\n", session.call("exec", args("command", "echo warm")).get("stdout"));
                vps.exec("rm -f /root/cut-runs /root/cut-job-started /root/cut-job");
                ExecutorService pool = Executors.newSingleThreadExecutor();
                Future<Call> during = pool.submit(() -> session.call("exec", args("command", "echo run >> /root/cut-runs; sleep 5", "detach_after", "0")));
                vps.await("cat /root/cut-runs 2>/dev/null", "run");
                proxy.cutAll();
                Call cut = during.get(60, TimeUnit.SECONDS);
                pool.shutdown();
                assertTrue(cut.isError(), cut.toString());
                assertEquals("NETWORK", cut.errorKind());
                assertTrue(cut.text().contains("NOT run again"), cut.text());

                Call next = session.call("exec", args("command", "echo back"));
                assertFalse(next.isError(), next.toString());
                assertEquals("back\n", next.get("stdout"));
                assertEquals("run\n", vps.exec("cat /root/cut-runs"), "the interrupted command ran once, never twice");
                assertTrue(session.stderr.stream().anyMatch(l -> l.contains("reconnect")), String.join("\n", session.stderr));

                // Run as a job (the default), the command even outlives the cut and can be waited for.
                Future<Call> asJob = Executors.newSingleThreadExecutor().submit(() -> session.call("exec",
                        args("command", "touch /root/cut-job-started; sleep 3; echo survived > /root/cut-job")));
                vps.await("test -e /root/cut-job-started && echo yes", "yes");
                proxy.cutAll();
                Call lost = asJob.get(60, TimeUnit.SECONDS);
                assertEquals("NETWORK", lost.errorKind(), lost.toString());
                String job = (String) lost.get("job");
                assertNotNull(job, lost.toString());
                assertTrue(lost.text().contains("job_wait with id " + job), lost.text());
                Call waited = session.call("job_wait", args("id", job, "max", "20s"));
                assertEquals("exited", waited.get("status"), waited.toString());
                assertEquals("survived\n", vps.exec("cat /root/cut-job"));
            }
        }
    }

    /**
     * 100 calls in flight at once. The SDK's async client sends them (its stdio transport takes one
     * sender at a time); the server runs them concurrently on one connection.
     */
    @Test
    void hundredConcurrentCallsCompleteOnOneConnection() {
        List<String> args = new ArrayList<>(List.of("-Duser.home=" + dir, "-Djdk.net.hosts.file=" + System.getProperty("jdk.net.hosts.file"),
                "-cp", System.getProperty("java.class.path"), "McpServer"));
        args.addAll(vps.target("root"));
        ServerParameters params = ServerParameters.builder(Path.of(System.getProperty("java.home"), "bin", "java").toString())
                .args(args).env(Map.of("VPS_SSH_CONFIG", sshConfig.toString(), "VPS_TOOLKIT_HOME", dir.resolve("toolkit").toString())).build();
        McpAsyncClient client = McpClient.async(new StdioClientTransport(params, McpJsonDefaults.getMapper()))
                .requestTimeout(Duration.ofSeconds(150)).initializationTimeout(Duration.ofSeconds(60)).build();
        try {
            client.initialize().block(Duration.ofSeconds(60));
            client.callTool(new McpSchema.CallToolRequest("exec", args("command", "true"))).block(Duration.ofSeconds(60));
            long loginsBefore = vps.logins();
            List<Call> calls = Flux.range(0, 100)
                    .flatMapSequential(i -> client.callTool(new McpSchema.CallToolRequest(i % 4 == 3 ? "read_file" : "exec",
                            i % 4 == 3 ? args("path", "/etc/debian_version") : args("command", "echo call-" + i))).map(Call::new), 100)
                    .collectList().block(Duration.ofSeconds(180));
            assertEquals(100, calls.size());
            for (int i = 0; i < 100; i++) {
                Call c = calls.get(i);
                assertFalse(c.isError(), "call " + i + ": " + c);
                if (i % 4 != 3) {
                    assertEquals("call-" + i + "\n", c.get("stdout"));
                } else {
                    assertTrue(((String) c.get("content")).startsWith("12."), c.toString());
                }
            }
            assertEquals(loginsBefore, vps.logins(), "no new login: every call used the warm connection");
        } finally {
            client.closeGracefully().block(Duration.ofSeconds(30));
        }
    }

    /** Only JSON-RPC lines on stdout, whatever happens, and the server ends when its stdin closes. */
    @Test
    void stdoutCarriesOnlyProtocolMessages() throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Duser.home=" + dir,
                "-Djdk.net.hosts.file=" + System.getProperty("jdk.net.hosts.file"), "-cp", System.getProperty("java.class.path"), "McpServer", "-v"));
        cmd.addAll(vps.target("root"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(dir.resolve("raw-stderr").toFile());
        pb.environment().put("VPS_SSH_CONFIG", sshConfig.toString());
        Process server = pb.start();
        java.util.concurrent.ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor();
        watchdog.schedule(server::destroyForcibly, 90, TimeUnit.SECONDS);   // bounds the blocking reads below
        try (OutputStream in = server.getOutputStream()) {
            in.write(("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
                    + "\"clientInfo\":{\"name\":\"raw\",\"version\":\"1\"}}}\n"
                    + "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n"
                    + "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"exec\",\"arguments\":{\"command\":\"echo hi\"}}}\n"
                    + "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"exec\",\"arguments\":{\"command\":\"true\",\"target\":\"no-such-host.invalid\"}}}\n")
                    .getBytes(StandardCharsets.UTF_8));
            in.flush();
            BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
            Set<Object> answered = new java.util.HashSet<>();
            while (answered.size() < 3) {
                String line = out.readLine();
                assertNotNull(line, "the server answered all three requests");
                Map<?, ?> message = Json.read(line, Map.class);
                assertEquals("2.0", message.get("jsonrpc"), line);
                answered.add(message.get("id"));
            }
        }
        assertTrue(server.waitFor(30, TimeUnit.SECONDS), "the server ends when its stdin closes");
        watchdog.shutdownNow();
        assertEquals(0, server.exitValue());
        String stderr = Files.readString(dir.resolve("raw-stderr"));
        assertTrue(stderr.contains("debug: "), "-v logs the protocol, on stderr");
    }

    /**
     * `echo 'not json' | mcp-server`: a line that is no JSON-RPC message is answered with a parse
     * error (valid JSON that is no request: invalid request, with its id when it has one), the next
     * requests are served, and the server ends when its stdin closes. No target: nothing is reached.
     */
    @Test
    void aLineThatIsNoMessageIsAnsweredAndTheSessionGoesOn() throws Exception {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Duser.home=" + dir,
                "-cp", System.getProperty("java.class.path"), "McpServer");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(dir.resolve("garbage-stderr").toFile());
        pb.environment().put("VPS_SSH_CONFIG", "/dev/null");
        pb.environment().put("VPS_TOOLKIT_HOME", dir.resolve("toolkit").toString());
        pb.environment().remove("VPS_HOST");
        Process server = pb.start();
        java.util.concurrent.ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor();
        watchdog.schedule(server::destroyForcibly, 90, TimeUnit.SECONDS);   // bounds the blocking reads below
        try (OutputStream in = server.getOutputStream()) {
            in.write(("not json\n"
                    + "{\"jsonrpc\":\"2.0\",\"id\":7}\r\n"
                    + "\n"
                    + "[1, 2]\n"
                    + "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
                    + "\"clientInfo\":{\"name\":\"raw\",\"version\":\"1\"}}}\n"
                    + "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n"
                    + "{oops\n"
                    + "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
            BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
            List<String> lines = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                String line = out.readLine();
                assertNotNull(line, "answer " + (i + 1) + " of 6 came; so far: " + lines);
                lines.add(line);
            }
            assertEquals("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Parse error\"}}", lines.get(0));
            assertEquals("{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32600,\"message\":\"Invalid Request\"}}", lines.get(1));
            assertEquals("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":\"Invalid Request\"}}", lines.get(2));
            // The SDK answers the requests in its own threads: the rest comes in any order.
            List<String> rest = lines.subList(3, 6);
            assertTrue(rest.contains("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Parse error\"}}"), rest.toString());
            Map<Object, Map<?, ?>> byId = new HashMap<>();
            rest.stream().map(l -> Json.read(l, Map.class)).forEach(m -> byId.put(m.get("id"), m));
            assertTrue(String.valueOf(byId.get(1L)).contains("protocolVersion"), "initialize after garbage is answered: " + rest);
            assertTrue(String.valueOf(byId.get(2L)).contains("job_wait"), "and the next request too: " + rest);
        }
        assertTrue(server.waitFor(30, TimeUnit.SECONDS), "the server ends when its stdin closes");
        watchdog.shutdownNow();
        assertEquals(0, server.exitValue());
        String stderr = Files.readString(dir.resolve("garbage-stderr"));
        assertTrue(stderr.startsWith("mcp-server " + Cli.VERSION + " serving "), stderr);
        assertTrue(stderr.lines().noneMatch(l -> l.startsWith("vps: ")), "no line that reads as a failure (vps: KIND:) when nothing failed: " + stderr);
    }
}

