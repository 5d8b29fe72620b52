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
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * sudo with a password, --sudo-user and su against the real OpenSSH container. bob's sudo wants
 * his password, set here to a value found nowhere else, so that "it appears nowhere" can be checked:
 * while the command waits on a barrier the test opens, another user's `ps -eo args`, every
 * process's argv and environment, and every file under /var/log, /tmp, /home and /root hold no
 * trace of it (searched as root, with the pattern in a file so that grep's own argv is clean).
 */
class PrivilegeTest extends VpsTestBase {
    private static final String PASSWORD = "pw-7Hq2-bob's $secret";
    private static final String PATTERN_FILE = "/etc/vps-test-pattern";

    @BeforeAll
    static void bobsPassword() {
        vps.exec("printf '%s\\n' 'bob:" + PASSWORD.replace("'", "'\\''") + "' | chpasswd && printf %s '"
                + PASSWORD.replace("'", "'\\''") + "' > " + PATTERN_FILE + " && chmod 600 " + PATTERN_FILE);
    }

    @AfterAll
    static void bobsOldPassword() {
        vps.exec("echo 'bob:" + VpsServer.BOB_PASSWORD + "' | chpasswd; rm -f " + PATTERN_FILE + " /tmp/pv-*");
    }

    private static void withSudoPassword(String password) {
        TestSupport.freshEnvironment(Map.of("VPS_SUDO_PASSWORD", password));
    }

    /** Where the password shows up on the server right now: files, argv and environments of every process, another user's ps. */
    private static String tracesOfThePassword() {
        return vps.exec("grep -rlaF -f " + PATTERN_FILE + " /var/log /tmp /home /root 2>/dev/null;"
                + " for f in /proc/[0-9]*/cmdline /proc/[0-9]*/environ; do grep -qaF -f " + PATTERN_FILE + " \"$f\" 2>/dev/null && echo \"$f\"; done;"
                + " runuser -u alice -- ps -eo args | grep -aF -f " + PATTERN_FILE + "; true").trim();
    }

    /**
     * Starts RUN with a COMMAND that touches READY, then waits for GO; notes the traces seen while it
     * waits in TRACES[0], lets it go and returns RUN's result. RUN may return before (a job start).
     */
    private static <T> T whileWaiting(String tag, java.util.function.Function<String, T> run, String[] traces) throws Exception {
        String ready = "/tmp/pv-" + tag + ".ready";
        String go = "/tmp/pv-" + tag + ".go";
        vps.exec("rm -f " + ready + " " + go);
        CompletableFuture<T> result = CompletableFuture.supplyAsync(() -> run.apply("touch " + ready + "; " + VpsServer.waitForFile(go) + "; id -u"));
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!vps.exec("[ -e " + ready + " ] && echo yes || true").contains("yes")) {
            assertTrue(System.nanoTime() < deadline, () -> "the command did not start: " + (result.isDone() ? result.join() : "still waiting"));
            Thread.sleep(50);
        }
        traces[0] = tracesOfThePassword();
        vps.exec("touch " + go);
        return result.get(90, TimeUnit.SECONDS);
    }

    @Test
    void sudoWithAPasswordRunsAsRootAndThePasswordIsNowhereOnTheServer() throws Exception {
        withSudoPassword(PASSWORD);
        String[] traces = {null};
        Runs.Result r = whileWaiting("exec", cmd -> Runs.exec(TestSupport.args(vps.target("bob"), "--sudo", "--lock", "pv-exec-lock", "--timeout", "80s", "--", cmd)), traces);
        assertEquals(0, r.exit(), r.toString());
        assertEquals("0\n", r.stdout());
        assertEquals("", r.stderr(), "nothing of sudo's in the output");
        assertEquals("", traces[0], "the password was found on the server while the command ran");
        assertEquals("", vps.exec("ls -A /home/bob/.vps-toolkit/run").trim(), "the askpass helper removed itself");
    }

    @Test
    void aWrongPasswordIsAuthAtOnceWithOneAttemptAndNoSecondPrompt() {
        String wrong = "wrong-" + PASSWORD;
        withSudoPassword(wrong);
        Runs.Result r = Runs.exec(TestSupport.args(vps.target("bob"), "--sudo", "--json", "--", "touch /tmp/pv-wrong-ran"));
        assertEquals(255, r.exit(), r.toString());
        assertTrue(r.millis() < 10_000, "AUTH within 10 s: " + r);
        assertTrue(r.stderr().startsWith("vps: AUTH: sudo on 127.0.0.1 did not accept the password of bob; the command did not run"), r.stderr());
        assertTrue(r.stderr().contains("1 incorrect password attempt"), "one try only: " + r.stderr());
        assertTrue(r.stderr().contains("\nhint: set VPS_SUDO_PASSWORD"), r.stderr());
        Map<?, ?> error = (Map<?, ?>) r.json().get("error");
        assertEquals("AUTH", error.get("kind"), r.stdout());
        assertFalse((r.stdout() + r.stderr()).contains(wrong), "the password is in the output: " + r);
        assertEquals("", vps.exec("ls /tmp/pv-wrong-ran 2>/dev/null; ls -A /home/bob/.vps-toolkit/run").trim());
    }

    @Test
    void sudoUserRunsAsThatUserAndAPasswordFileWorksToo() throws Exception {
        TestSupport.freshEnvironment();
        Path file = Files.createTempFile("sudo-pw", "");
        Files.writeString(file, PASSWORD + "\n");
        Runs.Result r = Runs.exec(TestSupport.args(vps.target("bob"), "--sudo-user", "alice", "--sudo-password-file", file.toString(),
                "--env", "X=y", "--cwd", "/tmp", "--", "echo $(id -un) $X $(pwd)"));
        assertEquals(0, r.exit(), r.toString());
        assertEquals("alice y /tmp\n", r.stdout());
    }

    @Test
    void aPasswordNobodyAsksForIsSkippedAndForwardedStdinStaysIntact() {
        withSudoPassword(PASSWORD);   // alice's sudo is NOPASSWD: the askpass helper never runs
        Runs.Result r = Runs.exec(TestSupport.args(vps.target("alice"), "--sudo", "--stdin", "--", "id -u; cat"),
                "line one\nline two\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(0, r.exit(), r.toString());
        assertEquals("0\nline one\nline two\n", r.stdout());
        assertEquals("", vps.exec("ls -A /home/alice/.vps-toolkit/run").trim(), "the unused helper was removed");
    }

    /** Under --pty the askpass reads the password from the terminal, which is raw until the command runs: never echoed. */
    @Test
    void sudoWithAPasswordWorksUnderATerminal() {
        withSudoPassword(PASSWORD);
        Runs.Result r = Runs.exec(TestSupport.args(vps.target("bob"), "--sudo", "--pty", "--json", "--", "id -u; tty"));
        assertEquals(0, r.exit(), r.toString());
        String stdout = (String) r.json().get("stdout");
        assertTrue(stdout.startsWith("0\r\n/dev/pts/"), stdout);
        assertFalse(r.stdout().contains(PASSWORD) || r.stderr().contains(PASSWORD), r.toString());
        assertFalse(stdout.contains("***"), "nothing was echoed to mask: " + stdout);
    }

    @Test
    void withoutAPasswordSudoStillFailsAtOnceAndNamesTheVariable() {
        TestSupport.freshEnvironment();
        Runs.Result r = Runs.exec(TestSupport.args(vps.target("bob"), "--sudo", "--", "id -u"));
        assertEquals(255, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: AUTH: sudo on 127.0.0.1 needs a password for bob"), r.stderr());
        assertTrue(r.stderr().contains("hint: set VPS_SUDO_PASSWORD"), r.stderr());
    }

    /**
     * The job's files are caught while they wait for a lock another job holds (the start writes them,
     * then waits for the lock, then starts the runner): they hold the command and its scripts, not the
     * password; nor does anything while the job runs.
     */
    @Test
    void aJobStartedWithSudoKeepsThePasswordOffTheDisk() throws Exception {
        withSudoPassword(PASSWORD);
        vps.exec("rm -rf /tmp/pv-holder.go /home/bob/.vps-toolkit/jobs/pv-holder /home/bob/.vps-toolkit/jobs/pv-job");
        Runs.Result holder = JobTest.job(vps.target("bob"), "start", "--id", "pv-holder", "--lock", "pv-lock", "--", VpsServer.waitForFile("/tmp/pv-holder.go"));
        assertEquals(0, holder.exit(), holder.toString());
        String[] traces = {null};
        String[] filesBeforeTheStart = {null};
        Runs.Result start = whileWaiting("job", cmd -> {
            CompletableFuture<Runs.Result> started = CompletableFuture.supplyAsync(() -> JobTest.job(vps.target("bob"),
                    "start", "--id", "pv-job", "--sudo", "--lock", "pv-lock", "--lock-wait", "60s", "--", cmd));
            vps.await("[ -e /home/bob/.vps-toolkit/jobs/pv-job/input2 ] && echo yes", "yes");
            filesBeforeTheStart[0] = tracesOfThePassword() + vps.exec("grep -c vps-toolkit-started /home/bob/.vps-toolkit/jobs/pv-job/input; ls /home/bob/.vps-toolkit/jobs/pv-job");
            vps.exec("touch /tmp/pv-holder.go");
            return started.join();
        }, traces);
        assertEquals(0, start.exit(), start.toString());
        assertTrue(filesBeforeTheStart[0].startsWith("0\n") && filesBeforeTheStart[0].contains("input2"),
                "the job's files, caught before its runner started, hold no password: " + filesBeforeTheStart[0]);
        assertEquals("", traces[0], "the password was found on the server while the job ran");
        Runs.Result wait = JobTest.job(vps.target("bob"), "wait", "pv-job", "--max", "60s");
        assertEquals(0, wait.exit(), wait.toString());
        assertEquals("0\n", JobTest.job(vps.target("bob"), "logs", "pv-job").stdout());
        assertEquals("", JobTest.job(vps.target("bob"), "logs", "pv-job", "--stderr").stdout());
        assertEquals("", tracesOfThePassword());
    }

    /** The search itself finds the password where it is: a planted copy in a file and in a process's argv. */
    @Test
    void theSearchFindsThePasswordWhereItIs() {
        vps.exec("cp " + PATTERN_FILE + " /tmp/pv-planted; sh -c 'sleep 30' \"$(cat " + PATTERN_FILE + ")\" >/dev/null 2>&1 & echo $! > /tmp/pv-planted.pid");
        try {
            String traces = tracesOfThePassword();
            assertTrue(traces.contains("/tmp/pv-planted"), traces);
            assertTrue(traces.contains("/cmdline"), traces);
        } finally {
            vps.exec("p=$(cat /tmp/pv-planted.pid); pkill -P $p; kill $p; rm -f /tmp/pv-planted /tmp/pv-planted.pid");
        }
    }

    @Test
    void aJobWithAWrongPasswordIsRefusedBeforeItStarts() {
        withSudoPassword("wrong-" + PASSWORD);
        Runs.Result start = JobTest.job(vps.target("bob"), "start", "--id", "pv-job-wrong", "--sudo", "--", "id -u");
        assertEquals(255, start.exit(), start.toString());
        assertTrue(start.stderr().startsWith("vps: AUTH: sudo on 127.0.0.1 did not accept the password of bob"), start.stderr());
        assertEquals("", vps.exec("ls -d /home/bob/.vps-toolkit/jobs/pv-job-wrong 2>/dev/null").trim(), "no job was made");
    }

    @Test
    void detachAfterWithSudoKeepsThePasswordOffTheDisk() throws Exception {
        withSudoPassword(PASSWORD);
        String[] traces = {null};
        Runs.Result r = whileWaiting("detach", cmd -> Runs.exec(TestSupport.args(vps.target("bob"), "--sudo", "--detach-after", "80s", "--", cmd)), traces);
        assertEquals(0, r.exit(), r.toString());
        assertEquals("0\n", r.stdout());
        assertEquals("", r.stderr());
        assertEquals("", traces[0], "the password was found on the server while the detached command ran");
    }

    @Test
    void aTimeoutEndsTheRootCommand() {
        withSudoPassword(PASSWORD);
        Runs.Result r = Runs.exec(TestSupport.args(vps.target("bob"), "--sudo", "--timeout", "2s", "--", "echo $(id -u); exec sleep 60"));
        assertEquals(124, r.exit(), r.toString());
        assertEquals("0\n", r.stdout());
        assertTrue(r.stderr().startsWith("vps: TIMEOUT:"), r.stderr());
        assertEquals("", vps.exec("pgrep -u root -a -x sleep | grep -F \"sleep 60\" || true").trim(), "the root command was killed");
    }

    @Test
    void aCommandThatPrintsThePasswordShowsItMasked() {
        withSudoPassword(PASSWORD);
        Runs.Result r = Runs.exec(TestSupport.args(vps.target("bob"), "--sudo", "--json", "--", "cat " + PATTERN_FILE + "; echo; cat " + PATTERN_FILE + " >&2"));
        assertEquals(0, r.exit(), r.toString());
        assertFalse(r.stdout().contains(PASSWORD), r.stdout());
        assertEquals("***\n", r.json().get("stdout"));
        assertEquals("***", r.json().get("stderr"));
        Runs.Result streamed = Runs.exec(TestSupport.args(vps.target("bob"), "--sudo", "--", "echo \"<$(cat " + PATTERN_FILE + ")>\""));
        assertEquals("<***>\n", streamed.stdout(), streamed.toString());
    }

    /** A secret split over several writes, or half of it at the end, comes out right. */
    @Test
    void theMaskCatchesASecretSplitAcrossWrites() throws Exception {
        java.io.ByteArrayOutputStream sink = new java.io.ByteArrayOutputStream();
        java.io.OutputStream mask = SecretRedactor.of(sink, "s3cret");
        for (String piece : List.of("a s3", "c", "ret b ss3cr", "et s3c", "re")) {
            mask.write(piece.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        SecretRedactor.finish(mask);
        assertEquals("a *** b s*** s3cre", sink.toString(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void sudoAndSuTogetherAreAUsageError() {
        TestSupport.freshEnvironment(Map.of("VPS_SU_PASSWORD", "x"));
        Runs.Result r = Runs.exec(TestSupport.args(vps.target("bob"), "--sudo", "--su", "--", "id -u"));
        assertEquals(2, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: CONFIG: --su and --sudo"), r.stderr());
    }

    @Test
    void mcpExecAndJobStartTakeSudoWithThePasswordFromTheServersEnvFile() throws Exception {
        Path dir = Files.createTempDirectory("pv-mcp");
        Path envFile = Files.writeString(dir.resolve("server.env"), "VPS_SUDO_PASSWORD=\"" + PASSWORD + "\"\n");
        List<String> args = new ArrayList<>(List.of("-Duser.home=" + dir, "-cp", System.getProperty("java.class.path"), "McpServer"));
        args.addAll(vps.target("bob"));
        args.addAll(List.of("--env-file", envFile.toString()));
        ServerParameters params = ServerParameters.builder(Path.of(System.getProperty("java.home"), "bin", "java").toString())
                .args(args).env(Map.of("VPS_TOOLKIT_HOME", dir.resolve("toolkit").toString(), "VPS_SSH_CONFIG", Files.writeString(dir.resolve("ssh_config"), "").toString()))
                .build();
        McpSyncClient client = McpClient.sync(new StdioClientTransport(params, McpJsonDefaults.getMapper()))
                .requestTimeout(Duration.ofSeconds(90)).initializationTimeout(Duration.ofSeconds(60)).build();
        try {
            client.initialize();
            Supplier<McpSchema.Tool> exec = () -> client.listTools().tools().stream().filter(t -> t.name().equals("exec")).findFirst().orElseThrow();
            assertTrue(((Map<?, ?>) exec.get().inputSchema().get("properties")).keySet().containsAll(List.of("sudo", "sudo_user", "su")));
            Map<?, ?> direct = call(client, "exec", Map.of("command", "id -u", "sudo", true, "detach_after", "0"));
            assertEquals("0\n", direct.get("stdout"), direct.toString());
            Map<?, ?> asJob = call(client, "exec", Map.of("command", "id -un", "sudo_user", "alice"));
            assertEquals("alice\n", asJob.get("stdout"), asJob.toString());
            Map<?, ?> job = call(client, "job_start", Map.of("command", "id -u", "sudo", true, "id", "pv-mcp-job"));
            assertEquals("pv-mcp-job", job.get("job"), job.toString());
            Map<?, ?> waited = call(client, "job_wait", Map.of("id", "pv-mcp-job", "max", "60s"));
            assertEquals(0, ((Number) waited.get("exitCode")).intValue(), waited.toString());
            assertEquals("0\n", call(client, "job_logs", Map.of("id", "pv-mcp-job")).get("stdout"));
            assertEquals("", tracesOfThePassword());
        } finally {
            client.closeGracefully();
        }
    }

    private static Map<?, ?> call(McpSyncClient client, String tool, Map<String, Object> arguments) {
        McpSchema.CallToolResult r = client.callTool(new McpSchema.CallToolRequest(tool, arguments));
        String text = ((McpSchema.TextContent) r.content().get(0)).text();
        assertFalse(Boolean.TRUE.equals(r.isError()), text);
        assertFalse(text.contains(PASSWORD), text);
        return Json.read(text, Map.class);
    }

    /** A second container from the same image with sudo removed: --su with root's password is the way up. */
    @Test
    void suWithVpsSuPasswordWhereThereIsNoSudo() {
        String rootPassword = "root-pw-" + System.nanoTime();
        try (VpsServer noSudo = new VpsServer()) {
            noSudo.exec("rm -f /usr/bin/sudo && printf '%s\\n' 'root:" + rootPassword + "' | chpasswd");
            TestSupport.freshEnvironment(Map.of("VPS_SU_PASSWORD", rootPassword));
            Runs.Result r = Runs.exec(TestSupport.args(noSudo.target("bob"), "--su", "--stdin", "--env", "X=y", "--", "echo $(id -u) $X; cat"),
                    "piped\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            assertEquals(0, r.exit(), r.toString());
            assertEquals("0 y\npiped\n", r.stdout());
            assertEquals("", r.stderr(), "su's Password: prompt is not the command's output");
            Runs.Result pty = Runs.exec(TestSupport.args(noSudo.target("bob"), "--su", "--pty", "--timeout", "20s", "--", "id -u; tty"));
            assertEquals(0, pty.exit(), pty.toString());
            assertTrue(pty.stdout().startsWith("0\r\n/dev/pts/"), "su under a terminal: " + pty);
            Runs.Result errors = Runs.exec(TestSupport.args(noSudo.target("bob"), "--su", "--", "echo to-stderr >&2; exit 3"));
            assertEquals(3, errors.exit(), errors.toString());
            assertEquals("to-stderr\n", errors.stderr(), "the command's own stderr is kept");

            Runs.Result start = JobTest.job(noSudo.target("bob"), "start", "--id", "pv-su-job", "--su", "--", "id -u");
            assertEquals(0, start.exit(), start.toString());
            assertEquals(0, JobTest.job(noSudo.target("bob"), "wait", "pv-su-job", "--max", "60s").exit());
            assertEquals("0\n", JobTest.job(noSudo.target("bob"), "logs", "pv-su-job").stdout());
            assertEquals("", JobTest.job(noSudo.target("bob"), "logs", "pv-su-job", "--stderr").stdout(), "no Password: prompt in the job's log");

            TestSupport.freshEnvironment(Map.of("VPS_SU_PASSWORD", "wrong-" + rootPassword));
            Runs.Result wrong = Runs.exec(TestSupport.args(noSudo.target("bob"), "--su", "--", "id -u"));
            assertEquals(255, wrong.exit(), wrong.toString());
            assertTrue(wrong.millis() < 10_000, "AUTH within 10 s: " + wrong);
            assertTrue(wrong.stderr().startsWith("vps: AUTH: su on 127.0.0.1 did not accept the password for root"), wrong.stderr());
            assertFalse(wrong.stderr().contains(rootPassword), wrong.stderr());

            TestSupport.freshEnvironment();
            Runs.Result noSudoHere = Runs.exec(TestSupport.args(noSudo.target("bob"), "--sudo", "--", "id -u"));
            assertEquals(1, noSudoHere.exit(), noSudoHere.toString());
            assertTrue(noSudoHere.stderr().startsWith("vps: REMOTE: sudo is not installed on 127.0.0.1"), noSudoHere.stderr());
            assertTrue(noSudoHere.stderr().contains("hint: use --su with VPS_SU_PASSWORD"), noSudoHere.stderr());
            Runs.Result none = Runs.exec(TestSupport.args(noSudo.target("bob"), "--su", "--", "id -u"));
            assertEquals(2, none.exit(), none.toString());
            assertTrue(none.stderr().startsWith("vps: CONFIG: --su needs root's password and VPS_SU_PASSWORD is not set"), none.stderr());
        }
    }
}
