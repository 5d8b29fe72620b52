import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.Pipe;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * mcp-server's bounds (issue 15, item 6): what a call reads, holds and starts on the server is
 * bounded, and an Error in one call never ends the session.
 */
class McpBoundsTest extends VpsTestBase {
    /** How long a call that must be refused at once may take, cold JVM and SFTP channel included. */
    static final Duration PROMPT = Duration.ofSeconds(10);

    static Path dir;
    static McpSyncClient client;

    @BeforeAll
    static void startServer() throws IOException {
        dir = Files.createTempDirectory("mcp-bounds");
        // A modest heap: a build that reads /dev/zero into memory fails its test without taking the machine's memory.
        List<String> args = new ArrayList<>(List.of("-Xmx256m", "-Duser.home=" + dir, "-Djdk.net.hosts.file=" + System.getProperty("jdk.net.hosts.file"),
                "-cp", System.getProperty("java.class.path"), "McpServer"));
        args.addAll(vps.target("root"));
        ServerParameters params = ServerParameters.builder(Path.of(System.getProperty("java.home"), "bin", "java").toString())
                .args(args).env(Map.of("VPS_SSH_CONFIG", Files.writeString(dir.resolve("ssh_config"), "").toString(),
                        "VPS_TOOLKIT_HOME", dir.resolve("toolkit").toString()))
                .build();
        client = McpClient.sync(new StdioClientTransport(params, McpJsonDefaults.getMapper()))
                .requestTimeout(Duration.ofSeconds(60)).initializationTimeout(Duration.ofSeconds(60)).build();
        client.initialize();
        call("exec", Map.of("command", "true"));   // warm: the bounds below time the call, not the login
    }

    @AfterAll
    static void stopServer() {
        if (client != null) {
            client.closeGracefully();
        }
    }

    static McpServerTest.Call call(String tool, Map<String, Object> arguments) {
        return new McpServerTest.Call(client.callTool(new McpSchema.CallToolRequest(tool, arguments)));
    }

    /** The call, which must answer within PROMPT: a bounded wait, so that a call that never answers fails the test. */
    static McpServerTest.Call promptly(String tool, Map<String, Object> arguments) throws Exception {
        var pool = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            return pool.submit(() -> call(tool, arguments)).get(PROMPT.toMillis(), TimeUnit.MILLISECONDS);
        } finally {
            pool.shutdownNow();
        }
    }

    /** The pids of the container's processes that have PATH open (as a file descriptor). */
    static List<String> openers(String path) {
        String out = vps.exec("for f in /proc/[0-9]*/fd/*; do [ \"$(readlink \"$f\" 2>/dev/null)\" = '" + path + "' ] && "
                + "{ p=${f#/proc/}; echo \"${p%%/*}\"; }; done; true");
        return out.lines().filter(l -> !l.isBlank()).distinct().toList();
    }

    /** Ends what an old build left reading PATH (it would hold a core for ever); returns what it found. */
    static List<String> killOpeners(String path) {
        List<String> pids = openers(path);
        pids.forEach(pid -> vps.exec("kill -9 " + pid + " 2>/dev/null; true"));
        return pids;
    }

    @Test
    void readFileRefusesADeviceOrAFifoAtOnceAndLeavesNothingReadingIt() throws Exception {
        vps.exec("rm -f /root/bounds-fifo; mkfifo /root/bounds-fifo; ln -sf /dev/zero /root/bounds-zero-link");
        List<String> before = openers("/dev/zero");
        List<String> left;
        try {
            McpServerTest.Call zero = promptly("read_file", Map.of("path", "/dev/zero"));
            assertTrue(zero.isError(), zero.toString());
            assertEquals("REMOTE", zero.errorKind());
            assertTrue(zero.text().contains("/dev/zero is a character device, not a regular file"), zero.text());

            McpServerTest.Call link = promptly("read_file", Map.of("path", "/root/bounds-zero-link"));
            assertTrue(link.text().contains("is a character device"), "a link is judged by what it points to: " + link.text());

            McpServerTest.Call fifo = promptly("read_file", Map.of("path", "/root/bounds-fifo"));
            assertTrue(fifo.isError(), fifo.toString());
            assertTrue(fifo.text().contains("is a named pipe (FIFO), not a regular file"), fifo.text());

            McpServerTest.Call download = promptly("download", Map.of("remote", "/dev/zero", "local", dir.resolve("zero").toString()));
            assertTrue(download.isError(), download.toString());
            assertTrue(download.text().contains("is a character device, not a regular file or folder"), download.text());
            assertFalse(Files.exists(dir.resolve("zero")), "nothing written locally");
        } finally {
            left = new ArrayList<>(killOpeners("/dev/zero"));
        }
        left.removeAll(before);
        assertEquals(List.of(), left, "no process left reading /dev/zero on the server");
    }

    /** A /proc file says 0 bytes and holds more: the read itself must stop at max_bytes, as for a log that grows meanwhile. */
    @Test
    void readFileStopsAtMaxBytesWhileReadingWhateverTheStatSaid() throws Exception {
        assertEquals("0\n", vps.exec("stat -c %s /proc/version"), "the stat says empty");
        McpServerTest.Call r = promptly("read_file", Map.of("path", "/proc/version", "max_bytes", 10));
        assertTrue(r.isError(), "more than max_bytes came back: " + r);
        assertTrue(r.text().contains("more than 10 bytes when read (stat said 0"), r.text());
        assertEquals(null, r.get("content"));
    }

    /** /proc/self/status is the reader's own: a hash computed on the server by another process could never match it. */
    @Test
    void readFileHashesTheBytesItReturns() throws Exception {
        McpServerTest.Call r = promptly("read_file", Map.of("path", "/proc/self/status", "max_bytes", 65536));
        assertFalse(r.isError(), r.toString());
        String content = (String) r.get("content");
        assertTrue(content.contains("Name:\tsftp-server"), content);
        String local = HexFormat.of().formatHex(Sha256.digest().digest(content.getBytes(StandardCharsets.UTF_8)));
        assertEquals(local, r.get("sha256"));
        assertEquals((long) content.getBytes(StandardCharsets.UTF_8).length, r.get("bytes"));
    }

    @Test
    void maxOutputAboveTheCeilingIsRefusedWithTheCeiling() {
        McpServerTest.Call over = call("exec", Map.of("command", "echo never", "max_output", (8 << 20) + 1));
        assertTrue(over.isError(), over.toString());
        assertEquals("CONFIG", over.errorKind());
        assertTrue(over.text().contains("more than one result holds (8388608 bytes a stream)"), over.text());
        assertTrue(over.text().contains("hint: ask for at most 8388608"), over.text());

        McpServerTest.Call most = call("exec", Map.of("command", "echo fine", "max_output", 8 << 20));
        assertEquals("fine\n", most.get("stdout"), most.toString());
    }

    /**
     * A download that fails at once (no file can be created in /proc, even by root) while the server
     * hashes a 1 TiB sparse file beside it: the hash must end with the call, not hours later.
     */
    @Test
    void aFailedDownloadLeavesNoHelperRunningOnTheServer() throws Exception {
        vps.exec("rm -f /root/bounds-sparse; truncate -s 1T /root/bounds-sparse");
        Path target = Path.of("/proc/sparse-copy");
        try {
            McpServerTest.Call r = call("download", Map.of("remote", "/root/bounds-sparse", "local", target.toString()));
            assertTrue(r.isError(), r.toString());
            assertTrue(r.text().contains("beside /proc/sparse-copy"), r.text());
            // A hasher is started on another thread: look a few times, so that one starting late is seen too.
            for (int look = 0; look < 6; look++) {
                assertEquals(List.of(), openers("/root/bounds-sparse"), "nothing reads the file on the server once the call has ended");
                Thread.sleep(500);
            }
        } finally {
            killOpeners("/root/bounds-sparse");
            vps.exec("rm -f /root/bounds-sparse");
        }
    }

    /**
     * A hostile SFTP server (MINA) whose stat says "a small regular file" and whose open then never
     * answers, as sftp-server's does when a FIFO was put in place after the stat: the read is
     * abandoned after the stall time, with an error that says so.
     */
    @Test
    void aReadThatGetsNoAnswerIsAbandoned() throws Exception {
        Path root = Files.createTempDirectory("hostile-sftp");
        Files.writeString(root.resolve("small.txt"), "hello\n");
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        org.apache.sshd.sftp.server.SftpFileSystemAccessor openNeverAnswers = new org.apache.sshd.sftp.server.SftpFileSystemAccessor() {
            @Override
            public java.nio.channels.SeekableByteChannel openFile(org.apache.sshd.sftp.server.SftpSubsystemProxy subsystem,
                    org.apache.sshd.sftp.server.FileHandle fileHandle, Path file, String handle, java.util.Set<? extends java.nio.file.OpenOption> options,
                    java.nio.file.attribute.FileAttribute<?>... attrs) throws IOException {
                try {
                    release.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                throw new IOException("released by the test");
            }
        };
        org.apache.sshd.server.SshServer server = org.apache.sshd.server.SshServer.setUpDefaultServer();
        server.setHost("127.0.0.1");
        server.setPort(0);
        server.setKeyPairProvider(new org.apache.sshd.server.keyprovider.SimpleGeneratorHostKeyProvider());
        server.setPublickeyAuthenticator(org.apache.sshd.server.auth.pubkey.AcceptAllPublickeyAuthenticator.INSTANCE);
        server.setFileSystemFactory(new org.apache.sshd.common.file.virtualfs.VirtualFileSystemFactory(root));
        server.setSubsystemFactories(List.of(new org.apache.sshd.sftp.server.SftpSubsystemFactory.Builder().withFileSystemAccessor(openNeverAnswers).build()));
        server.start();
        try {
            Target target = new Target("hostile", "127.0.0.1", server.getPort(), "root",
                    new Target.Credentials(List.of(vps.key), null, false, null, false, null),
                    new Target.HostKeyPolicy(root.resolve("known_hosts"), null, true, null), Duration.ofSeconds(10),
                    Target.DEFAULT_ALIVE_INTERVAL, Target.DEFAULT_ALIVE_COUNT_MAX, Map.of(), List.of(), Map.of(), List.of());
            try (VpsConnection c = VpsConnection.open(target, null); RemoteFs fs = RemoteFs.open(c)) {
                VpsException e = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(PROMPT, () -> org.junit.jupiter.api.Assertions.assertThrows(
                        VpsException.class, () -> McpFileTools.readAtMost(fs, "/small.txt", 1000, Duration.ofSeconds(2))));
                assertEquals(VpsException.Kind.REMOTE, e.kind);
                assertTrue(e.getMessage().contains("the server sent nothing for 2s while reading /small.txt"), e.getMessage());
                assertFalse(e.retriable, "not repeated by itself: the same path would stall again");
            }
        } finally {
            release.countDown();
            server.stop(true);
        }
    }

    /** The pids of the container's processes whose command line starts with PREFIX. */
    static List<String> running(String prefix) {
        String out = vps.exec("for c in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < \"$c\" 2>/dev/null | grep -q '^" + prefix + "' && "
                + "{ p=${c#/proc/}; echo \"${p%%/*}\"; }; done; true");
        return out.lines().filter(l -> !l.isBlank()).toList();
    }

    /**
     * The client goes away (closes the server's stdin) while a plain exec runs: the command must
     * end with the server, not run on for minutes. The server is a process of its own here, as a
     * host starts it, since its exit is what is tested.
     */
    @Test
    void aCommandStillRunningWhenTheSessionEndsIsEndedWithIt() throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                "-Duser.home=" + dir, "-Djdk.net.hosts.file=" + System.getProperty("jdk.net.hosts.file"),
                "-cp", System.getProperty("java.class.path"), "McpServer"));
        cmd.addAll(vps.target("root"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(dir.resolve("ending-stderr").toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("VPS_SSH_CONFIG", dir.resolve("ssh_config").toString());
        pb.environment().put("VPS_TOOLKIT_HOME", dir.resolve("toolkit").toString());
        Process server = pb.start();
        try {
            OutputStream in = server.getOutputStream();
            in.write(("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
                    + "\"clientInfo\":{\"name\":\"raw\",\"version\":\"1\"}}}\n"
                    + "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n"
                    + "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"exec\",\"arguments\":"
                    + "{\"command\":\"sleep 321\",\"detach_after\":\"0\"}}}\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
            List<String> sleeping = List.of();
            for (int look = 0; look < 120 && sleeping.isEmpty(); look++) {   // at most 60 s: a cold JVM logs in first
                Thread.sleep(500);
                sleeping = running("sleep 321");
            }
            assertEquals(1, sleeping.size(), "the command runs on the server");
            in.close();   // the client goes away
            assertTrue(server.waitFor(30, TimeUnit.SECONDS), "the server ends when its stdin closes");
            // The kill was sent before the server exited; the process may take a moment to go.
            for (int look = 0; look < 20 && !running("sleep 321").isEmpty(); look++) {
                Thread.sleep(250);
            }
            assertEquals(List.of(), running("sleep 321"), "the command ended with the session");
        } finally {
            server.destroyForcibly();
            running("sleep 321").forEach(pid -> vps.exec("kill -9 " + pid + " 2>/dev/null; true"));
        }
    }

    /**
     * Tools whose handlers throw real Errors, served the way mcp-server serves its own tools (McpTool
     * specifications on the SDK's stdio server through McpSerialTransport), here over in-process
     * pipes. No production tool is known to throw an Error once its inputs are bounded, so these
     * are the test's own.
     */
    @Test
    void anErrorInOneCallBecomesAToolErrorAndTheNextCallsAreServed() throws Exception {
        McpTool.Handler overflow = new McpTool.Handler() {
            @Override
            public Map<String, Object> call(McpArgs args) {
                return call(args);   // unbounded recursion: a real StackOverflowError
            }
        };
        McpTool.Handler noMemory = args -> Map.of("n", new long[Integer.MAX_VALUE].length);   // a real OutOfMemoryError
        McpTool.Handler asserts = args -> {
            throw new AssertionError("a broken invariant");
        };
        McpTool.Handler fine = args -> new java.util.LinkedHashMap<>(Map.of("status", "exited", "answer", 42));
        Map<String, Object> schema = new McpTool.Schema().build();
        try (InProcessServer server = new InProcessServer(List.of(new McpTool("overflow", "recurses for ever", schema, true, overflow),
                new McpTool("no_memory", "asks for 16 GiB", schema, true, noMemory), new McpTool("asserts", "fails an assertion", schema, true, asserts),
                new McpTool("fine", "answers", schema, true, fine)))) {
            int id = 10;
            for (String tool : List.of("overflow", "no_memory", "asserts", "overflow")) {
                Map<?, ?> result = server.call(++id, tool);
                assertEquals(true, result.get("isError"), tool + ": " + result);
                String text = String.valueOf(result.get("content"));
                assertTrue(text.contains("vps: PROTOCOL: internal error in " + tool), text);
                assertEquals(42L, ((Map<?, ?>) Json.read(server.text(server.call(++id, "fine")), Map.class)).get("answer"), "the next call is served");
            }
            assertTrue(String.valueOf(server.call(++id, "no_memory").get("content")).contains("ran out of memory"), "the hint says what to do");
        }
    }

    /** The SDK's stdio server in this JVM, talked to with raw JSON-RPC lines over two pipes. */
    static final class InProcessServer implements AutoCloseable {
        private final OutputStream toServer;
        private final BlockingQueue<String> fromServer = new LinkedBlockingQueue<>();
        private final McpSyncServer server;
        private final Thread reader;

        InProcessServer(List<McpTool> tools) throws IOException {
            Pipe in = Pipe.open();
            Pipe out = Pipe.open();
            toServer = Channels.newOutputStream(in.sink());
            McpSerialTransport transport = McpSerialTransport.stdio(Channels.newInputStream(in.source()), Channels.newOutputStream(out.sink()));
            server = io.modelcontextprotocol.server.McpServer.sync(transport).serverInfo("bounds", "1")
                    .capabilities(McpSchema.ServerCapabilities.builder().tools(false).build())
                    .tools(tools.stream().map(McpTool::specification).toList()).build();
            BufferedReader lines = new BufferedReader(new InputStreamReader(Channels.newInputStream(out.source()), StandardCharsets.UTF_8));
            reader = Daemons.start("bounds-reader", () -> {
                try {
                    for (String l; (l = lines.readLine()) != null; ) {
                        fromServer.add(l);
                    }
                } catch (IOException ended) {
                    // the pipe closed
                }
            });
            send("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
                    + "\"clientInfo\":{\"name\":\"raw\",\"version\":\"1\"}}}");
            assertNotNull(answer(1), "initialized");
            send("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
        }

        private void send(String line) throws IOException {
            toServer.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            toServer.flush();
        }

        /** The response with ID, within PROMPT (null if none came). */
        private Map<?, ?> answer(int id) {
            long until = System.nanoTime() + PROMPT.toNanos();
            try {
                for (String l; (l = fromServer.poll(Math.max(0, until - System.nanoTime()), TimeUnit.NANOSECONDS)) != null; ) {
                    Map<?, ?> m = Json.read(l, Map.class);
                    if (m.get("id") instanceof Number n && n.intValue() == id) {
                        return m;
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return null;
        }

        /** The result of a tools/call of TOOL; fails when the server does not answer, or answers with a JSON-RPC error. */
        Map<?, ?> call(int id, String tool) throws IOException {
            send("{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"" + tool + "\",\"arguments\":{}}}");
            Map<?, ?> response = answer(id);
            assertNotNull(response, tool + " was answered within " + PROMPT);
            assertNotNull(response.get("result"), tool + " answered with a tool result, not a protocol error: " + response);
            return (Map<?, ?>) response.get("result");
        }

        String text(Map<?, ?> result) {
            return (String) ((Map<?, ?>) ((List<?>) result.get("content")).get(0)).get("text");
        }

        @Override
        public void close() throws IOException {
            server.closeGracefully();
            toServer.close();
        }
    }
}
