import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The audit log against the real OpenSSH container: a line for every kind of remote action with its
 * fields, no secret in any audit file, `audit verify` finding an edited, inserted or removed line,
 * rotation and two writing processes keeping the chain, and --audit-remote reaching the server's syslog.
 */
class AuditTest extends VpsTestBase {
    static final String TOKEN = "tok-s3cret-1";
    static final String MARKED = "marked-s3cret-2";
    static final String SENT = "sent-s3cret-3";
    static final String LOGIN_PASSWORD = "login-s3cret-4";

    private static Runs.Result run(Runs.Factory factory, List<String> target, String... args) {
        return Runs.run(TestSupport.args(target, args), new byte[0], factory);
    }

    private static Runs.Result job(String... args) {
        List<String> all = new ArrayList<>(List.of(args[0]));
        all.addAll(vps.target("root"));
        all.addAll(List.of(args).subList(1, args.length));
        return Runs.run(all, new byte[0], (out, err, in) -> new JobCommand(out, err));
    }

    private static Runs.Result session(String... args) {
        List<String> all = new ArrayList<>(List.of(args[0]));
        all.addAll(vps.target("root"));
        all.addAll(List.of(args).subList(1, args.length));
        return Runs.run(all, new byte[0], (out, err, in) -> new SessionCommand(out, err));
    }

    private static Runs.Result audit(String... args) {
        return Runs.run(List.of(args), new byte[0], (out, err, in) -> new AuditCommand(out, err));
    }

    private static Path auditDir() {
        return Path.of(Environment.get("VPS_TOOLKIT_HOME")).resolve("audit");
    }

    private static List<Map<String, Object>> lines(Path dir) throws IOException {
        List<Map<String, Object>> all = new ArrayList<>();
        for (AuditLog.Line l : new AuditLog(dir).lines()) {
            all.add(AuditLog.parse(l.text()));
        }
        return all;
    }

    private static Map<String, Object> only(List<Map<String, Object>> lines, String action) {
        List<Map<String, Object>> found = lines.stream().filter(l -> action.equals(l.get("action"))).toList();
        assertEquals(1, found.size(), action + " lines: " + lines);
        return found.get(0);
    }

    @Test
    void everyKindOfActionWritesOneLineWithItsFields(@TempDir Path dir) throws IOException {
        TestSupport.freshEnvironment(Map.of("VPS_PASSWORD", LOGIN_PASSWORD, "SENDME", SENT));
        Runs.Result exec = Runs.exec(TestSupport.args(vps.target("root"), "--env", "API_TOKEN=" + TOKEN, "--env", "PLAIN=" + MARKED,
                "--secret-env", "PLAIN", "--env", "COLOR=blue", "--", "echo " + TOKEN + " " + MARKED + " " + LOGIN_PASSWORD + "; exit 3"));
        assertEquals(3, exec.exit(), exec.toString());
        Path local = Files.writeString(dir.resolve("up.txt"), "twelve bytes");
        assertEquals(0, run((o, e, i) -> new SftpPut(o, e, i), vps.target("root"), local.toString(), "/tmp/audit-up.txt").exit());
        assertEquals(0, run((o, e, i) -> new SftpGet(o, e, i), vps.target("root"), "/tmp/audit-up.txt", dir.resolve("down.txt").toString()).exit());
        assertEquals(0, job("start", "--id", "audit-job", "--", "echo started; sleep 30").exit());
        assertEquals(0, job("status", "audit-job").exit());
        assertEquals(0, job("logs", "audit-job").exit());
        assertEquals(0, job("list").exit());
        assertEquals(0, job("kill", "audit-job").exit());
        job("wait", "audit-job", "--max", "20s");   // killed: its exit says so
        String id = session("open", "--", "cat").stdout().strip();
        assertEquals(0, session("send", id, "hello\\n").exit());
        assertEquals(0, session("send", id, "--send-env", "SENDME").exit());
        assertEquals(0, session("read", id, "--wait-for", "hello", "--max", "10s").exit());
        assertEquals(0, session("close", id).exit());

        List<Map<String, Object>> all = lines(auditDir());
        for (Map<String, Object> l : all) {
            assertEquals("cli", l.get("caller"), l.toString());
            assertEquals(System.getProperty("user.name"), l.get("user"));
            assertEquals(vps.hostKeyFingerprint, l.get("hostKey"), l.toString());
            Map<?, ?> target = (Map<?, ?>) l.get("target");
            assertEquals("127.0.0.1", target.get("host"));
            assertEquals((long) vps.port, target.get("port"));
            assertEquals("root", target.get("user"));
            // "allow" where the owner's policy was asked (no policy file: everything is allowed); null for what it does not judge (job status, ...).
            assertTrue(l.containsKey("policy") && (l.get("policy") == null || "allow".equals(l.get("policy"))), "the policy's word: " + l);
            assertTrue(l.get("durationMs") instanceof Number && l.get("time") instanceof String && l.get("cwd") instanceof String, l.toString());
        }
        Map<String, Object> e = only(all, "exec");
        assertEquals("exited", e.get("status"));
        assertEquals(3L, e.get("exitCode"));
        assertEquals("echo *** *** ***; exit 3", e.get("command"));
        assertEquals(Map.of("API_TOKEN", "***", "PLAIN", "***", "COLOR", "blue"), e.get("env"));
        assertEquals((long) (TOKEN.length() + MARKED.length() + LOGIN_PASSWORD.length() + 3), e.get("bytes"), "the bytes of output");
        Map<String, Object> up = only(all, "upload");
        assertEquals(12L, up.get("bytes"));
        assertEquals(Map.of("sources", List.of(local.toString()), "destination", "/tmp/audit-up.txt"), up.get("paths"));
        assertEquals("ok", up.get("status"));
        assertEquals(12L, only(all, "download").get("bytes"));
        assertEquals("echo started; sleep 30", only(all, "job_start").get("command"));
        for (String a : List.of("job_wait", "job_status", "job_logs", "job_kill")) {
            assertEquals("audit-job", only(all, a).get("id"), a);
        }
        only(all, "job_list");
        assertEquals("cat", only(all, "session_open").get("command"));
        List<Object> inputs = all.stream().filter(l -> "session_send".equals(l.get("action"))).map(l -> l.get("input")).toList();
        assertEquals(List.of("hello\\n", "--send-env SENDME"), inputs);
        assertEquals(id, only(all, "session_read").get("id"));
        assertEquals(id, only(all, "session_close").get("id"));

        assertNoSecretIn(auditDir(), TOKEN, MARKED, SENT, LOGIN_PASSWORD);
        Runs.Result verify = audit("verify");
        assertEquals(0, verify.exit(), verify.toString());
        assertTrue(verify.stdout().contains("intact, " + all.size() + " line(s)"), verify.stdout());
        Runs.Result show = audit("show", "--target", "127.0.0.1", "--since", "1h", "--json");
        assertEquals((long) all.size(), show.json().get("count"), show.toString());
        assertEquals(0L, audit("show", "--target", "elsewhere", "--json").json().get("count"));
    }

    /** A login that fails is an attempt the owner sees too: one exec line, status failed, the error's kind, the target. */
    @Test
    void aFailedLoginIsAuditedToo() throws IOException {
        int closed = VpsServer.freePort();
        List<String> target = new ArrayList<>(vps.target("root"));
        target.set(target.indexOf("-p") + 1, Integer.toString(closed));
        Runs.Result r = Runs.exec(TestSupport.args(target, "--", "echo never"));
        assertEquals(255, r.exit(), r.toString());
        Map<String, Object> line = lines(auditDir()).stream().filter(l -> "echo never".equals(l.get("command"))).findFirst()
                .orElseThrow(() -> new AssertionError("no line for the failed login"));
        assertEquals("failed", line.get("status"));
        assertEquals("NETWORK", line.get("error"));
        assertEquals((long) closed, ((Map<?, ?>) line.get("target")).get("port"));

        // A transfer whose login fails names its target too (it had none before: the line came from the missing connection).
        Path local = Files.writeString(Files.createTempDirectory("audit").resolve("never.txt"), "x");
        assertEquals(255, run((o, e, i) -> new SftpPut(o, e, i), target, local.toString(), "/tmp/audit-never.txt").exit());
        Map<String, Object> upload = lines(auditDir()).stream().filter(l -> "upload".equals(l.get("action"))
                        && String.valueOf(l.get("paths")).contains("audit-never.txt")).findFirst()
                .orElseThrow(() -> new AssertionError("no line for the failed upload"));
        assertEquals("failed", upload.get("status"));
        assertEquals((long) closed, ((Map<?, ?>) upload.get("target")).get("port"), upload.toString());
    }

    @Test
    void theSudoPasswordNeverReachesTheLog() throws IOException {
        TestSupport.freshEnvironment(Map.of("VPS_SUDO_PASSWORD", VpsServer.BOB_PASSWORD));
        Runs.Result r = Runs.exec(TestSupport.args(vps.target("bob"), "--sudo", "--", "echo " + VpsServer.BOB_PASSWORD + "; id -u"));
        assertEquals(0, r.exit(), r.toString());
        Map<String, Object> line = only(lines(auditDir()), "exec");
        assertEquals("echo ***; id -u", line.get("command"));
        assertNoSecretIn(auditDir(), VpsServer.BOB_PASSWORD);
    }

    @Test
    void anMcpExecIsAuditedWithTheClientsName(@TempDir Path home) throws IOException {
        Path toolkit = home.resolve("toolkit");
        List<String> args = new ArrayList<>(List.of("-Duser.home=" + home, "-Djdk.net.hosts.file=" + System.getProperty("jdk.net.hosts.file"),
                "-cp", System.getProperty("java.class.path"), "McpServer"));
        args.addAll(vps.target("root"));
        // A password that only its env file holds (offered with --password-auth; the key logs in first) is as secret as one in its environment.
        args.addAll(List.of("--password-auth", "--env-file", Files.writeString(home.resolve("vps.env"), "VPS_PASSWORD=dotenv-pass-s3cret\n").toString()));
        Map<String, String> env = new HashMap<>(Map.of("VPS_SSH_CONFIG", Files.writeString(home.resolve("ssh_config"), "").toString(),
                "VPS_TOOLKIT_HOME", toolkit.toString(), "VPS_SUDO_PASSWORD", "mcp-sudo-s3cret"));
        ServerParameters params = ServerParameters.builder(Path.of(System.getProperty("java.home"), "bin", "java").toString()).args(args).env(env).build();
        McpSyncClient client = McpClient.sync(new StdioClientTransport(params, McpJsonDefaults.getMapper()))
                .clientInfo(new McpSchema.Implementation("audit-test", "1.0")).requestTimeout(Duration.ofSeconds(90))
                .initializationTimeout(Duration.ofSeconds(60)).build();
        try {
            client.initialize();
            McpSchema.CallToolResult r = client.callTool(new McpSchema.CallToolRequest("exec",
                    Map.of("command", "echo " + TOKEN + " mcp-sudo-s3cret dotenv-pass-s3cret", "env", Map.of("DEPLOY_TOKEN", TOKEN))));
            assertFalse(Boolean.TRUE.equals(r.isError()), r.toString());
        } finally {
            client.closeGracefully();
        }
        Map<String, Object> line = only(lines(toolkit.resolve("audit")), "exec");
        assertEquals("mcp:audit-test", line.get("caller"));
        assertEquals(vps.hostKeyFingerprint, line.get("hostKey"));
        assertEquals("echo *** *** ***", line.get("command"));
        assertEquals(Map.of("DEPLOY_TOKEN", "***"), line.get("env"));
        assertEquals(0L, line.get("exitCode"));
        assertEquals("127.0.0.1", ((Map<?, ?>) line.get("target")).get("host"));
        assertNoSecretIn(toolkit.resolve("audit"), TOKEN, "mcp-sudo-s3cret", "dotenv-pass-s3cret");
    }

    @Test
    void verifyNamesAnEditedAnInsertedAndARemovedLine(@TempDir Path dir) throws IOException {
        Path logDir = dir.resolve("audit");
        AuditLog log = new AuditLog(logDir);
        for (int i = 0; i < 5; i++) {
            log.append(Map.of("action", "exec", "command", "echo " + i));
        }
        TestSupport.freshEnvironment(Map.of("VPS_TOOLKIT_HOME", dir.toString()));
        assertEquals(0, audit("verify").exit());
        Path file = logDir.resolve(AuditLog.FILE);
        byte[] original = Files.readAllBytes(file);
        List<String> lines = Files.readAllLines(file);
        int offset = 0;
        for (int n = 1; n <= lines.size(); n++) {
            byte[] edited = original.clone();
            int at = offset + lines.get(n - 1).indexOf("echo ") + 5;
            edited[at] = (byte) (edited[at] == '9' ? '8' : edited[at] + 1);   // one byte of line n: the digit of its command
            Files.write(file, edited);
            Runs.Result r = audit("verify");
            assertEquals(1, r.exit(), "line " + n + ": " + r);
            assertTrue(r.stderr().contains(file + ":" + n + ": edited"), "line " + n + ": " + r.stderr());
            offset += lines.get(n - 1).length() + 1;
        }
        for (int n = 1; n <= lines.size(); n++) {
            List<String> fewer = new ArrayList<>(lines);
            fewer.remove(n - 1);
            Files.write(file, (String.join("\n", fewer) + "\n").getBytes(StandardCharsets.UTF_8));
            Runs.Result r = audit("verify");
            assertEquals(1, r.exit(), "without line " + n + ": " + r);
            assertTrue(r.stderr().contains("removed"), "without line " + n + ": " + r.stderr());
        }
        for (int n = 1; n <= lines.size(); n++) {
            List<String> more = new ArrayList<>(lines);
            more.add(n, lines.get(n - 1));   // a copy of line n after it
            Files.write(file, (String.join("\n", more) + "\n").getBytes(StandardCharsets.UTF_8));
            Runs.Result r = audit("verify");
            assertEquals(1, r.exit(), "a copy after line " + n + ": " + r);
            assertTrue(r.stderr().contains(file + ":" + (n + 1) + ": inserted"), "a copy after line " + n + ": " + r.stderr());
        }
        Files.write(file, original);
        assertEquals(0, audit("verify").exit());
    }

    @Test
    void rotationKeepsFiveFilesAndTheChain(@TempDir Path dir) throws IOException {
        AuditLog log = new AuditLog(dir, 400);
        for (int i = 0; i < 40; i++) {
            log.append(Map.of("action", "exec", "command", "echo " + i));
        }
        List<Path> files = log.files();
        assertEquals(6, files.size(), "audit.jsonl and .1 .. .5: " + files);
        assertFalse(Files.exists(dir.resolve(AuditLog.FILE + ".6")));
        AuditLog.Verdict v = log.verify();
        assertNull(v.problem(), v.toString());
        assertTrue(v.start().startsWith(dir.resolve(AuditLog.FILE + ".5") + ":1 (older lines were rotated away)"), v.start());
        assertEquals(40L, AuditLog.parse(Files.readAllLines(dir.resolve(AuditLog.FILE)).get(Files.readAllLines(dir.resolve(AuditLog.FILE)).size() - 1)).get("seq"));
        Path middle = dir.resolve(AuditLog.FILE + ".3");
        String text = Files.readString(middle);
        Files.writeString(middle, text.replaceFirst("echo ", "echO "));
        assertTrue(log.verify().problem().startsWith(middle + ":1: edited"), log.verify().toString());
    }

    @Test
    void twoProcessesAppendingAtOnceKeepTheChain(@TempDir Path dir) throws Exception {
        int each = 40;
        List<Process> writers = new ArrayList<>();
        for (int w = 0; w < 2; w++) {
            writers.add(new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", System.getProperty("java.class.path"),
                    "AuditTest$Appender", dir.toString(), "writer" + w, Integer.toString(each)).redirectErrorStream(true).start());
        }
        // The barrier: both writers are ready before either may write.
        for (int i = 0; i < 600 && !(Files.exists(dir.resolve("ready-writer0")) && Files.exists(dir.resolve("ready-writer1"))); i++) {
            Thread.sleep(100);
        }
        assertTrue(Files.exists(dir.resolve("ready-writer0")) && Files.exists(dir.resolve("ready-writer1")), "both writers started");
        Files.createFile(dir.resolve("go"));
        for (Process p : writers) {
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "a writer ended");
            assertEquals(0, p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        }
        AuditLog log = new AuditLog(dir.resolve("audit"));
        AuditLog.Verdict v = log.verify();
        assertNull(v.problem(), v.toString());
        assertEquals(2 * each, v.lines());
        List<Map<String, Object>> all = lines(dir.resolve("audit"));
        assertEquals(each, all.stream().filter(l -> "writer0".equals(l.get("command"))).count());
        assertEquals(each, all.stream().filter(l -> "writer1".equals(l.get("command"))).count());
    }

    /** A writer process for the test above: ready, waits for "go", then appends N lines as fast as it can. */
    static final class Appender {
        public static void main(String[] args) throws Exception {
            Path dir = Path.of(args[0]);
            Files.createFile(dir.resolve("ready-" + args[1]));
            for (int i = 0; i < 600 && !Files.exists(dir.resolve("go")); i++) {
                Thread.sleep(50);
            }
            AuditLog log = new AuditLog(dir.resolve("audit"));
            for (int i = 0; i < Integer.parseInt(args[2]); i++) {
                log.append(Map.of("action", "exec", "command", args[1]));
            }
        }
    }

    @Test
    void auditRemoteWritesALineToTheServersSyslog() {
        // The image runs no syslog daemon: a zsh listening on /dev/log (a stream socket, which logger falls back to) stands in.
        // sshd logs there too: each connection's first message is read, until the one from vps-toolkit (at most 50, 60 s).
        vps.exec("rm -f /dev/log /tmp/audit-syslog; (timeout 60 zsh -c 'zmodload zsh/net/socket zsh/system; zsocket -l /dev/log; l=$REPLY; n=0;"
                + " while [ $n -lt 50 ]; do n=$((n+1)); zsocket -a $l || break; a=$REPLY; buf=; sysread -t 10 -i $a buf; exec {a}>&-;"
                + " case $buf in *vps-toolkit:*) print -r -- \"$buf\" > /tmp/audit-syslog.part; mv /tmp/audit-syslog.part /tmp/audit-syslog; break;; esac; done'"
                + " >/dev/null 2>&1 &); i=0; while [ ! -S /dev/log ] && [ $i -lt 100 ]; do i=$((i+1)); sleep 0.1; done");
        try {
            TestSupport.freshEnvironment(Map.of("DB_PASSWORD", "remote-s3cret"));
            Runs.Result r = Runs.exec(TestSupport.args(vps.target("root"), "--audit-remote", "--env", "DB_PASSWORD",
                    "--", "echo 'it''s' remote-s3cret"));
            assertEquals(0, r.exit(), r.toString());
            String said = vps.exec("i=0; while [ ! -f /tmp/audit-syslog ] && [ $i -lt 100 ]; do i=$((i+1)); sleep 0.1; done; cat /tmp/audit-syslog");
            assertTrue(said.contains("vps-toolkit: user=") && said.contains("action=\"exec\"") && said.contains("command=\"echo 'it''s' ***\"")
                    && said.contains("exitCode=0"), said);
            assertFalse(said.contains("remote-s3cret"), said);
        } finally {
            vps.exec("rm -f /dev/log /tmp/audit-syslog /tmp/audit-syslog.part");
        }
    }

    @Test
    void aServerWithoutLoggerIsAWarningNotAFailure() {
        vps.exec("mv /usr/bin/logger /usr/bin/logger.hidden");
        try {
            Runs.Result r = Runs.exec(TestSupport.args(vps.target("root"), "--audit-remote", "--", "true"));
            assertEquals(0, r.exit(), r.toString());
            assertTrue(r.stderr().contains("warning: the server's syslog did not get the audit line: the server has no logger program"), r.stderr());
        } finally {
            vps.exec("mv /usr/bin/logger.hidden /usr/bin/logger");
        }
    }

    static void assertNoSecretIn(Path dir, String... secrets) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                String text = Files.readString(f);
                for (String s : secrets) {
                    assertFalse(text.contains(s), f + " holds a secret: " + s);
                }
            }
        }
    }
}
