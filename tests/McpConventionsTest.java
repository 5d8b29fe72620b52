import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.networknt.schema.InputFormat;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.json.TypeRef;
import io.modelcontextprotocol.spec.McpClientTransport;
import io.modelcontextprotocol.spec.McpSchema;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import reactor.core.publisher.Mono;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * mcp-server and the MCP conventions of issue 23: a lifetime bound to its client, structured
 * results, cancellation, progress, resources; driven by raw JSON-RPC lines, the SDK's client and
 * the official Inspector CLI, against the OpenSSH container.
 */
class McpConventionsTest extends VpsTestBase {
    static Path dir;

    @BeforeAll
    static void folders() throws IOException {
        dir = Files.createTempDirectory("mcp-conventions");
        Files.writeString(dir.resolve("ssh_config"), "");
    }

    /** The java command line that starts mcp-server with SERVER_ARGS, as McpServerTest's sessions do. */
    static List<String> serverCommand(List<String> serverArgs) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Duser.home=" + dir, "-cp", System.getProperty("java.class.path"), "McpServer"));
        cmd.addAll(serverArgs);
        return cmd;
    }

    static ProcessBuilder withServerEnvironment(ProcessBuilder pb) {
        pb.environment().put("VPS_TOOLKIT_HOME", dir.resolve("toolkit").toString());
        pb.environment().put("VPS_SSH_CONFIG", dir.resolve("ssh_config").toString());
        return pb;
    }

    /** JSON-RPC lines: initialize, initialized, then CALLS (tool name and arguments), ids 1.. */
    static String session(List<Map<String, Object>> calls) {
        StringBuilder s = new StringBuilder();
        s.append(Json.write(Map.of("jsonrpc", "2.0", "id", 0, "method", "initialize", "params", Map.of("protocolVersion", "2025-06-18",
                "capabilities", Map.of(), "clientInfo", Map.of("name", "conventions-test", "version", "1"))))).append('\n');
        s.append(Json.write(Map.of("jsonrpc", "2.0", "method", "notifications/initialized"))).append('\n');
        int id = 1;
        for (Map<String, Object> call : calls) {
            s.append(Json.write(Map.of("jsonrpc", "2.0", "id", id++, "method", "tools/call", "params", call))).append('\n');
        }
        return s.toString();
    }

    /** A shell command that prints how many processes run exactly `sleep SECONDS` (their command lines, from /proc). */
    static String sleepsCommand(int seconds) {
        return "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done | grep -c '^sleep " + seconds + " $'";
    }

    /** How many processes in the container run exactly `sleep SECONDS`. */
    static int remoteSleeps(int seconds) {
        String out = vps.exec(sleepsCommand(seconds) + " || true");
        return Integer.parseInt(out.trim());
    }

    /** Polls (every 100 ms, at most MS) until CONDITION holds; whether it did. */
    static boolean within(long ms, java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + ms * 1_000_000;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(100);
        }
        return true;
    }

    @Test
    void aClientKilledWithAnswersUnreadLeavesNoServerBehind() throws Exception {
        int seconds = 3000 + ThreadLocalRandom.current().nextInt(900);
        List<Map<String, Object>> calls = new ArrayList<>();
        for (int i = 0; i < 18; i++) {   // 18 answers of 200 kB each: far more than a pipe holds, and nobody reads them
            calls.add(Map.of("name", "exec", "arguments", Map.of("command", "head -c 200000 /dev/zero | tr '\\0' x")));
        }
        calls.add(Map.of("name", "exec", "arguments", Map.of("command", "sleep " + seconds)));   // a job (detach_after 45s)
        calls.add(Map.of("name", "exec", "arguments", Map.of("command", "sleep " + seconds, "detach_after", "0")));   // a plain exec
        Path requests = Files.writeString(dir.resolve("killed-client.jsonl"), session(calls));
        Path log = dir.resolve("killed-client.log");
        // The client: a shell whose pipeline outlives it. Its first member keeps mcp-server's stdin open,
        // its last holds stdout and never reads it; then the shell itself is killed.
        List<String> sh = new ArrayList<>(List.of("sh", "-c", "{ cat \"$1\"; exec sleep 600; } | { shift 2; exec \"$@\"; } 2>\"$2\" | exec sleep 600",
                "client", requests.toString(), log.toString()));
        sh.addAll(serverCommand(vps.target("root")));
        Process client = withServerEnvironment(new ProcessBuilder(sh)).redirectErrorStream(true).start();
        List<ProcessHandle> family = new ArrayList<>();
        try {
            vps.await(sleepsCommand(seconds), "2");
            family.addAll(client.descendants().toList());
            ProcessHandle server = family.stream().filter(p -> p.info().command().map(c -> c.endsWith("/java")).orElse(false))
                    .findFirst().orElseThrow(() -> new AssertionError("no mcp-server among the client's processes"));
            assertEquals(client.pid(), server.parent().map(ProcessHandle::pid).orElse(-1L), "mcp-server is the client shell's child");

            client.destroyForcibly();   // SIGKILL: nothing of the client says goodbye
            boolean ended = within(5_000, () -> !server.isAlive());
            assertTrue(ended, "mcp-server still runs 5 s after its client was killed; its log:\n" + Files.readString(log));
            assertTrue(within(1_000, () -> remoteSleeps(seconds) == 0), "the calls' sleeps were left running on the server");
            assertTrue(Files.readString(log).contains("the client went away (its parent process"), Files.readString(log));
        } finally {
            client.destroyForcibly();
            family.forEach(ProcessHandle::destroyForcibly);
            vps.exec("pkill -x -f 'sleep " + seconds + "' || true");
        }
    }

    @Test
    void stdinAtItsEndStopsTheCallsInFlightAndEndsTheServer() throws Exception {
        int seconds = 3000 + ThreadLocalRandom.current().nextInt(900);
        String lines = session(List.of(Map.of("name", "exec", "arguments", Map.of("command", "sleep " + seconds))));
        Process server = withServerEnvironment(new ProcessBuilder(serverCommand(vps.target("root"))))
                .redirectError(dir.resolve("stdin-end.log").toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            server.getOutputStream().write(lines.getBytes(StandardCharsets.UTF_8));
            server.getOutputStream().flush();
            vps.await(sleepsCommand(seconds), "1");
            server.getOutputStream().close();
            assertTrue(within(5_000, () -> !server.isAlive()), "mcp-server still runs 5 s after its stdin ended");
            assertEquals(0, remoteSleeps(seconds), "the call's job was left running");
        } finally {
            server.destroyForcibly();
            vps.exec("pkill -x -f 'sleep " + seconds + "' || true");
        }
    }

    @Test
    void aStdoutNobodyCanReadEndsTheServer() throws Exception {
        int seconds = 3000 + ThreadLocalRandom.current().nextInt(900);
        Process server = withServerEnvironment(new ProcessBuilder(serverCommand(vps.target("root"))))
                .redirectError(dir.resolve("stdout-broken.log").toFile()).start();
        try {
            // The client closes its end of stdout but keeps stdin open and lives on: only the failed write tells.
            server.getInputStream().close();
            server.getOutputStream().write(session(List.of(Map.of("name", "exec", "arguments", Map.of("command", "sleep " + seconds))))
                    .getBytes(StandardCharsets.UTF_8));
            server.getOutputStream().flush();
            assertTrue(within(60_000, () -> !server.isAlive()), "mcp-server still runs a minute after its stdout broke");
            assertTrue(Files.readString(dir.resolve("stdout-broken.log")).contains("the client went away (stdout broke"),
                    Files.readString(dir.resolve("stdout-broken.log")));
            assertTrue(within(5_000, () -> remoteSleeps(seconds) == 0), "the call's command was left running");
        } finally {
            server.destroyForcibly();
            vps.exec("pkill -x -f 'sleep " + seconds + "' || true");
        }
    }

    @Test
    void aConfirmationAsksForNothingAndShowsNoSecret() throws Exception {
        Path policy = Files.writeString(dir.resolve("confirm-policy.yaml"), "default:\n  mode: confirm\n");
        String secret = "s3cret-" + ThreadLocalRandom.current().nextInt(1_000_000);
        String envValue = "env-" + secret;
        String file = "/tmp/confirm-" + ThreadLocalRandom.current().nextInt(1_000_000);
        List<McpSchema.ElicitFormRequest> asked = java.util.Collections.synchronizedList(new ArrayList<>());
        try (Client c = new Client(vps.target("root"), Map.of("VPS_POLICY", policy.toString(), "MCP_TEST_SECRET", secret), request -> {
            asked.add(request);
            return new McpSchema.ElicitResult(McpSchema.ElicitResult.Action.ACCEPT, Map.of());
        })) {
            McpSchema.CallToolResult exec = c.client.callTool(request("exec", "command", "printf %s \"$TOKEN\" > " + file, "env", Map.of("TOKEN", envValue)));
            assertEquals(false, exec.isError(), String.valueOf(exec.structuredContent()));
            assertEquals(envValue, vps.exec("cat " + file), "the confirmed command ran");
            String session = (String) ((Map<?, ?>) c.client.callTool(request("session_open", "command", "cat > " + file)).structuredContent()).get("session");
            McpSchema.CallToolResult sent = c.client.callTool(request("session_send", "id", session, "send_env", "MCP_TEST_SECRET"));
            assertEquals(false, sent.isError(), String.valueOf(sent.structuredContent()));
            c.client.callTool(request("session_close", "id", session));

            assertTrue(asked.size() >= 2, "the confirm rule asked for the exec and the send: " + asked);
            assertTrue(asked.stream().anyMatch(r -> r.message().contains("(the value of MCP_TEST_SECRET)")), asked.toString());
            for (McpSchema.ElicitFormRequest r : asked) {
                assertFalse(r.toString().contains(secret), "an elicitation showed a secret: " + r);
                Map<?, ?> properties = (Map<?, ?>) r.requestedSchema().get("properties");
                assertEquals(Set.of("target", "command"), properties.keySet(), "it asks only to confirm the target and the command: " + r);
                properties.values().forEach(p -> assertEquals(null, ((Map<?, ?>) p).get("format"), "no secret input: " + p));
            }
        } finally {
            vps.exec("rm -f " + file);
        }
    }

    /** A session of the SDK's client with mcp-server, the container's root as the default target. */
    static McpServerTest.Session rootSession() {
        return new McpServerTest.Session(dir, dir.resolve("ssh_config"), vps.target("root"), Map.of());
    }

    /** Validates STRUCTURED against SCHEMA with an independent validator (networknt, JSON Schema 2020-12); the errors, empty when valid. */
    static List<String> violations(Map<String, Object> schema, Object structured) {
        return SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(Json.write(schema))
                .validate(Json.write(structured), InputFormat.JSON).stream().map(Object::toString).toList();
    }

    @Test
    void everyToolDeclaresItsOutputAndEveryResultMatchesIt() throws IOException {
        Path local = Files.writeString(dir.resolve("up.txt"), "uploaded\n");
        String remote = "/tmp/conventions-" + ThreadLocalRandom.current().nextInt(1_000_000);
        try (McpServerTest.Session s = rootSession()) {
            Map<String, McpSchema.Tool> tools = s.client.listTools().tools().stream().collect(Collectors.toMap(McpSchema.Tool::name, Function.identity()));
            for (McpSchema.Tool t : tools.values()) {
                assertNotNull(t.outputSchema(), t.name() + " declares an outputSchema");
                assertNotNull(t.title(), t.name() + " has a title");
                McpSchema.ToolAnnotations a = t.annotations();
                assertNotNull(a.readOnlyHint(), t.name());
                assertNotNull(a.destructiveHint(), t.name());
                assertNotNull(a.idempotentHint(), t.name());
                assertNotNull(a.openWorldHint(), t.name());
                assertFalse(a.readOnlyHint() && a.destructiveHint(), t.name() + ": a read-only tool destroys nothing");
            }
            for (String reads : List.of("read_file", "job_status", "job_logs", "job_wait", "job_list", "session_read", "list_targets", "diagnose_auth")) {
                assertTrue(tools.get(reads).annotations().readOnlyHint(), reads + " is read-only");
            }
            for (String changes : List.of("exec", "write_file", "upload", "download", "job_start", "job_kill", "session_open", "session_send", "session_close",
                    "tunnel_start", "tunnel_stop")) {
                assertFalse(tools.get(changes).annotations().readOnlyHint(), changes + " changes something");
            }
            assertFalse(tools.get("list_targets").annotations().openWorldHint(), "list_targets reads only this server's own settings");

            List<String> called = new ArrayList<>();
            Function<McpSchema.CallToolRequest, McpSchema.CallToolResult> call = request -> {
                McpSchema.CallToolResult r = s.client.callTool(request);
                called.add(request.name());
                String text = ((McpSchema.TextContent) r.content().get(0)).text();
                assertNotNull(r.structuredContent(), request.name() + " returns structuredContent: " + text);
                assertEquals(Json.read(text, Map.class), Json.read(Json.write(r.structuredContent()), Map.class), request.name() + ": the text is the same JSON, for older clients");
                assertEquals(List.of(), violations(tools.get(request.name()).outputSchema(), r.structuredContent()), request.name() + ": " + text);
                return r;
            };
            Function<McpSchema.CallToolResult, Map<?, ?>> json = r -> (Map<?, ?>) r.structuredContent();
            assertEquals("hi\n", json.apply(call.apply(request("exec", "command", "echo hi"))).get("stdout"));
            call.apply(request("exec", "command", "echo hi", "dry_run", true));
            call.apply(request("exec", "command", "echo hi", "targets", List.of("127.0.0.1")));
            McpSchema.CallToolResult failed = call.apply(request("exec", "command", "echo hi", "target", "nobody@127.0.0.1:1"));
            assertTrue(failed.isError(), "a failure is a tool error, and its structuredContent matches the schema too");
            call.apply(request("write_file", "path", remote + "/w.txt", "content", "written\n", "mkdir", true));
            assertEquals("written\n", json.apply(call.apply(request("read_file", "path", remote + "/w.txt"))).get("content"));
            call.apply(request("upload", "local", local.toString(), "remote", remote + "/up.txt"));
            call.apply(request("upload", "local", local.toString(), "remote", remote + "/up.txt", "dry_run", true));
            call.apply(request("download", "remote", remote + "/up.txt", "local", dir.resolve("down.txt").toString()));
            String job = (String) json.apply(call.apply(request("job_start", "command", "echo job; sleep 60"))).get("job");
            call.apply(request("job_status", "id", job));
            call.apply(request("job_logs", "id", job));
            call.apply(request("job_list"));
            call.apply(request("job_kill", "id", job));
            call.apply(request("job_wait", "id", job, "max", "5s"));
            String session = (String) json.apply(call.apply(request("session_open", "command", "sh -i"))).get("session");
            call.apply(request("session_send", "id", session, "text", "echo said-$((1+1))\n"));
            call.apply(request("session_read", "id", session, "wait_for", "said-2"));
            call.apply(request("session_close", "id", session));
            call.apply(request("list_targets"));
            call.apply(request("diagnose_auth"));
            // No such user on the server: a cause on its side, so fix_script gives the console script that creates it and adds the key.
            Path sshConfig = dir.resolve("ssh_config");
            String before = Files.exists(sshConfig) ? Files.readString(sshConfig) : null;
            Files.writeString(sshConfig, "Host ghost\n  HostName 127.0.0.1\n  Port " + vps.port + "\n  User ghost\n  IdentityFile " + vps.key + "\n");
            Map<?, ?> fix = (Map<?, ?>) json.apply(call.apply(request("diagnose_auth", "target", "ghost", "fix_script", true))).get("fix");
            assertTrue(String.valueOf(fix.get("script")).contains("useradd"), String.valueOf(fix));
            assertTrue(String.valueOf(fix.get("script")).contains(Files.readString(Path.of(vps.key + ".pub")).trim().split(" ")[1]), "the key to authorize: " + fix);
            if (before == null) {
                Files.delete(sshConfig);
            } else {
                Files.writeString(sshConfig, before);
            }
            // A forward to sshd's own port: any listening port on the server's loopback will do.
            String tunnel = (String) json.apply(call.apply(request("tunnel_start", "local", "0:127.0.0.1:" + vps.port))).get("tunnel");
            try {
                call.apply(request("tunnel_status", "id", tunnel));
                call.apply(request("tunnel_status"));
            } finally {
                call.apply(request("tunnel_stop", "id", tunnel));
            }
            assertEquals(tools.keySet(), Set.copyOf(called), "a call of every tool");
        } finally {
            vps.exec("rm -rf " + remote);
        }
    }

    @Test
    void diagnoseAuthRecordsNoHostKeyUnlessAsked() throws IOException {
        Path knownHosts = Files.writeString(dir.resolve("fresh_known_hosts"), "");
        Path config = Files.writeString(dir.resolve("fresh_ssh_config"), "Host fresh\n  HostName 127.0.0.1\n  Port " + vps.port + "\n  User root\n  IdentityFile "
                + vps.key + "\n  UserKnownHostsFile " + knownHosts + "\n  StrictHostKeyChecking accept-new\n");
        try (McpServerTest.Session s = new McpServerTest.Session(dir, config, List.of(), Map.of())) {
            McpSchema.CallToolResult looked = s.client.callTool(request("diagnose_auth", "target", "fresh"));
            assertEquals("", Files.readString(knownHosts), "diagnose_auth wrote known_hosts unasked: " + looked.structuredContent());
            assertTrue(String.valueOf(looked.structuredContent()).contains("not known yet"), String.valueOf(looked.structuredContent()));

            s.client.callTool(request("diagnose_auth", "target", "fresh", "accept_new", true));
            assertTrue(Files.readString(knownHosts).contains("ssh-ed25519"), "accept_new: true records the key");
        }
    }

    static McpSchema.CallToolRequest request(String tool, Object... pairs) {
        Map<String, Object> arguments = new java.util.LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            arguments.put((String) pairs[i], pairs[i + 1]);
        }
        return new McpSchema.CallToolRequest(tool, arguments);
    }

    /**
     * The SDK's client over stdio, with what it has no API for: the JSON-RPC ids of its tools/call
     * requests (seen on the way out) and notifications/cancelled sent for one of them; progress
     * and resource updates are collected.
     */
    static final class Client implements AutoCloseable {
        final McpSyncClient client;
        final List<Object> callIds = java.util.Collections.synchronizedList(new ArrayList<>());
        final BlockingQueue<McpSchema.ProgressNotification> progress = new LinkedBlockingQueue<>();
        final BlockingQueue<List<McpSchema.ResourceContents>> updates = new LinkedBlockingQueue<>();
        final List<String> stderr = java.util.Collections.synchronizedList(new ArrayList<>());
        private final McpClientTransport transport;

        Client(List<String> serverArgs) {
            this(serverArgs, Map.of(), null);
        }

        /** With EXTRA variables in the server's environment, and a client that answers elicitations with ELICITATION (null: it cannot). */
        Client(List<String> serverArgs, Map<String, String> extra, Function<McpSchema.ElicitFormRequest, McpSchema.ElicitResult> elicitation) {
            List<String> cmd = serverCommand(serverArgs);
            Map<String, String> env = new java.util.HashMap<>(extra);
            env.put("VPS_TOOLKIT_HOME", dir.resolve("toolkit").toString());
            env.put("VPS_SSH_CONFIG", dir.resolve("ssh_config").toString());
            ServerParameters params = ServerParameters.builder(cmd.get(0)).args(cmd.subList(1, cmd.size())).env(env).build();
            StdioClientTransport stdio = new StdioClientTransport(params, McpJsonDefaults.getMapper());
            stdio.setStdErrorHandler(stderr::add);
            transport = new Recording(stdio, callIds);
            McpClient.SyncSpec spec = McpClient.sync(transport).requestTimeout(Duration.ofSeconds(120)).initializationTimeout(Duration.ofSeconds(60))
                    .progressConsumer(progress::add).resourcesUpdateConsumer(updates::add);
            if (elicitation != null) {
                spec = spec.capabilities(McpSchema.ClientCapabilities.builder().elicitation().build()).elicitation(elicitation);
            }
            client = spec.build();
            client.initialize();
        }

        /** Calls TOOL on a thread of its own; the call's JSON-RPC id is the next of callIds. */
        CompletableFuture<McpSchema.CallToolResult> start(McpSchema.CallToolRequest request) {
            return CompletableFuture.supplyAsync(() -> client.callTool(request));
        }

        /** The id of the INDEXth tools/call sent, once it was sent (at most 30 s). */
        Object callId(int index) throws InterruptedException {
            assertTrue(within(30_000, () -> callIds.size() > index), "the call was never sent");
            return callIds.get(index);
        }

        void cancel(Object requestId) {
            transport.sendMessage(new McpSchema.JSONRPCNotification("2.0", "notifications/cancelled",
                    Map.of("requestId", requestId, "reason", "the test cancels it"))).block(Duration.ofSeconds(10));
        }

        @Override
        public void close() {
            client.closeGracefully();
        }
    }

    private record Recording(McpClientTransport delegate, List<Object> callIds) implements McpClientTransport {
        @Override
        public Mono<Void> connect(java.util.function.Function<Mono<McpSchema.JSONRPCMessage>, Mono<McpSchema.JSONRPCMessage>> handler) {
            return delegate.connect(handler);
        }

        @Override
        public Mono<Void> sendMessage(McpSchema.JSONRPCMessage message) {
            if (message instanceof McpSchema.JSONRPCRequest r && r.method().equals("tools/call")) {
                callIds.add(r.id());
            }
            return delegate.sendMessage(message);
        }

        @Override
        public Mono<Void> closeGracefully() {
            return delegate.closeGracefully();
        }

        @Override
        public <T> T unmarshalFrom(Object data, TypeRef<T> type) {
            return delegate.unmarshalFrom(data, type);
        }

        @Override
        public List<String> protocolVersions() {
            return delegate.protocolVersions();
        }
    }

    @Test
    void cancellingASleepStopsItOnTheServerAndItsJobIsReportedKilled() throws Exception {
        int seconds = 3000 + ThreadLocalRandom.current().nextInt(900);
        try (Client c = new Client(vps.target("root"))) {
            // As a job (detach_after's default), then as a plain exec.
            for (String detachAfter : List.of("45s", "0")) {
                int index = c.callIds.size();
                CompletableFuture<McpSchema.CallToolResult> call = c.start(request("exec", "command", "sleep " + seconds, "detach_after", detachAfter));
                vps.await(sleepsCommand(seconds), "1");
                c.cancel(c.callId(index));
                assertTrue(within(5_000, () -> remoteSleeps(seconds) == 0), "sleep still runs 5 s after the cancel (detach_after " + detachAfter + ")");
                Map<?, ?> result = (Map<?, ?>) call.get(30, TimeUnit.SECONDS).structuredContent();
                assertEquals("INTERRUPTED", ((Map<?, ?>) result.get("error")).get("kind"), String.valueOf(result));
                if (!detachAfter.equals("0")) {
                    Map<?, ?> job = (Map<?, ?>) c.client.callTool(request("job_status", "id", result.get("job"))).structuredContent();
                    assertEquals("killed", job.get("status"), "the cancelled call's job: " + job);
                }
            }
        } finally {
            vps.exec("pkill -x -f 'sleep " + seconds + "' || true");
        }
    }

    @Test
    void cancellingAnUploadStopsItAndItsProgressShowedItRunning() throws Exception {
        Path big = dir.resolve("big.bin");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(2L << 30);   // 2 GiB, sparse: longer to send than this test waits
        }
        String remote = "/tmp/cancelled-upload-" + ThreadLocalRandom.current().nextInt(1_000_000);
        List<String> serverArgs = new ArrayList<>(vps.target("root"));
        serverArgs.addAll(List.of("--heartbeat", "1s"));
        try (Client c = new Client(serverArgs)) {
            CompletableFuture<McpSchema.CallToolResult> call = c.start(McpSchema.CallToolRequest.builder().name("upload").progressToken("up-1")
                    .arguments(Map.of("local", big.toString(), "remote", remote + "/big.bin", "mkdir", true)).build());
            McpSchema.ProgressNotification first = c.progress.poll(60, TimeUnit.SECONDS);
            assertNotNull(first, "no progress notification from the upload within 60 s");
            assertEquals(2.0 * (1L << 30), first.total(), "the transfer's total: " + first);
            assertTrue(first.progress() > 0 && first.progress() < first.total() && first.message().contains(" sent"), first.toString());
            c.cancel(c.callId(0));
            Map<?, ?> result = (Map<?, ?>) call.get(5, TimeUnit.SECONDS).structuredContent();   // stopped within 5 s of the cancel
            assertEquals("INTERRUPTED", ((Map<?, ?>) result.get("error")).get("kind"), String.valueOf(result));
            assertEquals("no\n", vps.exec("[ -e " + remote + "/big.bin ] && echo yes || echo no"), "the cancelled upload never completed the file");
        } finally {
            vps.exec("rm -rf " + remote);
            Files.deleteIfExists(big);
        }
    }

    @Test
    void aSilentCommandSendsProgressAtTheHeartbeat() throws Exception {
        silentCommandGetsProgress(List.of("--heartbeat", "1s"), 3);
    }

    /** The case as shipped: 40 s of silence at the default heartbeat (20s) bring two notifications. */
    @Test
    void aFortySecondSilentCommandGetsProgressAtTheDefaultHeartbeat() throws Exception {
        silentCommandGetsProgress(List.of(), 2);
    }

    /** A command that prints one line, then nothing until the test opens its barrier: COUNT notifications after that line must come first. */
    private static void silentCommandGetsProgress(List<String> options, int count) throws Exception {
        String barrier = "/tmp/progress-" + ThreadLocalRandom.current().nextInt(1_000_000);
        List<String> serverArgs = new ArrayList<>(vps.target("root"));
        serverArgs.addAll(options);
        try (Client c = new Client(serverArgs)) {
            McpSchema.CallToolRequest silent = McpSchema.CallToolRequest.builder().name("exec").progressToken("silent-1")
                    .arguments(Map.of("command", "echo started; " + VpsServer.waitForFile(barrier) + "; echo ended")).build();
            CompletableFuture<McpSchema.CallToolResult> call = c.start(silent);
            List<McpSchema.ProgressNotification> got = new ArrayList<>();
            // The first may come while the command still starts, before its line.
            long deadline = System.nanoTime() + 80_000_000_000L;
            while (got.stream().filter(n -> n.message().endsWith("last line: started")).count() < count) {
                McpSchema.ProgressNotification n = c.progress.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                assertNotNull(n, "not " + count + " progress notifications within 80 s of silence; got " + got);
                got.add(n);
            }
            assertFalse(call.isDone(), "the command still waits at its barrier");
            vps.exec("touch " + barrier);
            assertEquals("started\nended\n", ((Map<?, ?>) call.get(60, TimeUnit.SECONDS).structuredContent()).get("stdout"));
            for (int i = 0; i < got.size(); i++) {
                McpSchema.ProgressNotification n = got.get(i);
                assertEquals("silent-1", n.progressToken());
                assertTrue(i == 0 || n.progress() > got.get(i - 1).progress(), "progress (the seconds elapsed) grows: " + got);
                assertTrue(n.message().startsWith("the command still running after ") && n.message().contains(" of output so far"), n.message());
            }
        } finally {
            vps.exec("rm -f " + barrier);
        }
    }

    @Test
    void aJobsLogAndASessionsBufferAreResourcesAClientFollows() throws Exception {
        String barrier = "/tmp/resource-" + ThreadLocalRandom.current().nextInt(1_000_000);
        try (Client c = new Client(vps.target("root"))) {
            assertEquals(List.of("vps://{target}/jobs/{id}/log", "vps://{target}/sessions/{id}/buffer"),
                    c.client.listResourceTemplates().resourceTemplates().stream().map(McpSchema.ResourceTemplate::uriTemplate).sorted().toList());
            String job = (String) ((Map<?, ?>) c.client.callTool(request("job_start", "command",
                    "echo one; " + VpsServer.waitForFile(barrier) + "; echo two")).structuredContent()).get("job");
            String log = "vps://127.0.0.1/jobs/" + job + "/log";
            assertTrue(within(30_000, () -> text(c.client.readResource(new McpSchema.ReadResourceRequest(log))).equals("one\n")), "the job's first line");
            c.client.subscribeResource(new McpSchema.SubscribeRequest(log));
            vps.exec("touch " + barrier);   // only now does the job write more: the update cannot come before the subscription
            assertEquals("one\ntwo\n", awaitUpdate(c, log), "notifications/resources/updated, and the client read the new output");

            String session = (String) ((Map<?, ?>) c.client.callTool(request("session_open", "command", "sh")).structuredContent()).get("session");
            String buffer = "vps://127.0.0.1/sessions/" + session + "/buffer";
            assertEquals("", text(c.client.readResource(new McpSchema.ReadResourceRequest(buffer))));
            c.client.subscribeResource(new McpSchema.SubscribeRequest(buffer));
            c.client.callTool(request("session_send", "id", session, "text", "echo said-$((2+3))\n"));
            assertEquals("said-5\n", awaitUpdate(c, buffer));
            c.client.callTool(request("session_close", "id", session));
        } finally {
            vps.exec("rm -f " + barrier);
        }
    }

    private static String text(McpSchema.ReadResourceResult r) {
        return ((McpSchema.TextResourceContents) r.contents().get(0)).text();
    }

    /** The contents of the first update of URI the client got (at most 30 s, 100 updates). */
    private static String awaitUpdate(Client c, String uri) throws InterruptedException {
        for (int i = 0; i < 100; i++) {
            List<McpSchema.ResourceContents> update = c.updates.poll(30, TimeUnit.SECONDS);
            assertNotNull(update, "no notifications/resources/updated for " + uri + " within 30 s; the server said: " + String.join("\n", c.stderr));
            if (update.get(0).uri().equals(uri)) {
                return ((McpSchema.TextResourceContents) update.get(0)).text();
            }
        }
        throw new AssertionError("no update of " + uri + " among 100");
    }

    @Test
    void theOfficialInspectorListsTheToolsAndCallsExec() throws Exception {
        String bin = System.getenv("VPS_TEST_INSPECTOR");
        assertNotNull(bin, "tests/run installs the MCP Inspector (tests/inspector-up) and names its bin folder in VPS_TEST_INSPECTOR");
        Inspected list = inspector(bin, List.of("--method", "tools/list", "--strict"));
        assertEquals(0, list.exit(), "tools/list --strict: " + list);
        assertFalse(list.stderr().contains("Warning:"), "the Inspector finds no portability problem in the schemas: " + list.stderr());
        List<?> tools = (List<?>) Json.read(list.stdout(), Map.class).get("tools");
        assertEquals(20, tools.size(), list.stdout());
        for (Object tool : tools) {
            assertNotNull(((Map<?, ?>) tool).get("outputSchema"), "the Inspector sees an outputSchema: " + tool);
        }

        Inspected exec = inspector(bin, List.of("--method", "tools/call", "--tool-name", "exec", "--tool-arg", "command=echo from-inspector"));
        assertEquals(0, exec.exit(), exec.toString());
        Map<?, ?> result = Json.read(exec.stdout(), Map.class);
        assertEquals(false, result.get("isError"), exec.stdout());
        Map<?, ?> structured = (Map<?, ?>) result.get("structuredContent");
        assertNotNull(structured, "structuredContent reaches the Inspector: " + exec.stdout());
        assertEquals("from-inspector\n", structured.get("stdout"));
        assertEquals("exited", structured.get("status"));
    }

    private record Inspected(int exit, String stdout, String stderr) {}

    /** Runs the Inspector's CLI with ARGS against mcp-server (root on the container as its default target), at most 3 minutes. */
    private static Inspected inspector(String bin, List<String> args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(bin, "mcp-inspector").toString(), "--cli", "--connect-timeout", "120000",
                "-e", "VPS_TOOLKIT_HOME=" + dir.resolve("toolkit"), "-e", "VPS_SSH_CONFIG=" + dir.resolve("ssh_config")));
        cmd.addAll(args);
        cmd.add("--");
        cmd.addAll(serverCommand(vps.target("root")));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(dir.resolve("inspector.err").toFile());
        pb.environment().put("PATH", bin + java.io.File.pathSeparator + System.getenv("PATH"));   // its node (22), before any older one
        pb.environment().put("MCP_CATALOG_PATH", dir.resolve("inspector-catalog.json").toString());   // nothing written to ~/.mcp-inspector
        Process p = pb.start();
        p.getOutputStream().close();
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        try {
            assertTrue(p.waitFor(180, TimeUnit.SECONDS), "the Inspector did not end within 3 minutes");
            return new Inspected(p.exitValue(), out.get(30, TimeUnit.SECONDS), Files.readString(dir.resolve("inspector.err")));
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new AssertionError("the Inspector's output could not be read", e);
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }
}
