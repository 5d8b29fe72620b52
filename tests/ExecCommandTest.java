import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** exec-command against a real OpenSSH server in a Debian container. */
class ExecCommandTest extends VpsTestBase {
    private static Runs.Result exec(String... more) {
        return Runs.exec(TestSupport.args(vps.target("root"), more));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 7, 255})
    void remoteExitStatusPassesThrough(int code) {
        Runs.Result r = exec("--", "exit " + code);
        assertEquals(code, r.exit(), r.toString());
        Runs.Result j = exec("--json", "--", "exit " + code);
        assertEquals(code, j.exit());
        assertEquals(code, ((Number) j.json().get("exitCode")).intValue());
        assertEquals("exited", j.json().get("status"));
    }

    @Test
    void stdoutAndStderrArriveSeparatelyAndExactly() {
        Runs.Result r = exec("--", "echo out; echo err >&2; printf 'no newline'");
        assertEquals(0, r.exit(), r.toString());
        assertEquals("out\nno newline", r.stdout());
        assertEquals("err\n", r.stderr());
    }

    @Test
    void wordsAreJoinedLikeSsh() {
        Runs.Result r = exec("--", "echo", "a", "b");
        assertEquals("a b\n", r.stdout());
    }

    @Test
    void jsonHasTheDesignShape() {
        Runs.Result r = exec("--json", "--", "echo hi; echo oops >&2; exit 3");
        Map<?, ?> j = r.json();
        assertEquals(List.of("host", "command", "status", "exitCode", "signal", "stdout", "stderr", "truncated",
                "durationMs", "job", "error", "outputFiles"), List.copyOf(j.keySet()));
        assertEquals("127.0.0.1", j.get("host"));
        assertEquals("hi\n", j.get("stdout"));
        assertEquals("oops\n", j.get("stderr"));
        assertEquals(false, j.get("truncated"));
        assertNull(j.get("error"));
        assertEquals(3, r.exit());
    }

    @Test
    void nonUtf8BytesPassThroughExactlyAndJsonStaysValid() {
        byte[] expected = {(byte) 0xff, (byte) 0xfe, 'x', (byte) 0xc3, '\n'};
        Runs.Result r = exec("--", "printf '\\377\\376x\\303\\n'");
        assertArrayEquals(expected, r.stdoutBytes());
        Runs.Result j = exec("--json", "--", "printf '\\377\\376x\\303\\n'");
        assertEquals("\uFFFD\uFFFDx\uFFFD\n", j.json().get("stdout"));
    }

    @Test
    void deathBySignalIsReported() {
        Runs.Result r = exec("--", "kill -9 $$");
        assertEquals(137, r.exit(), r.toString());
        assertTrue(r.stderr().contains("vps: REMOTE: the command was killed by signal KILL"), r.stderr());
        Map<?, ?> j = exec("--json", "--", "kill -TERM $$").json();
        assertEquals("TERM", j.get("signal"));
        assertNull(j.get("exitCode"));
    }

    @Test
    void stdinIsClosedByDefault() {
        Runs.Result r = exec("--timeout", "20s", "--", "cat; echo done");
        assertEquals("done\n", r.stdout());
        assertTrue(r.millis() < 10_000, r.toString());
    }

    @Test
    void stdinIsForwardedOnRequest() {
        byte[] input = "line one\nline two\n".getBytes(StandardCharsets.UTF_8);
        Runs.Result r = Runs.exec(TestSupport.args(vps.target("root"), "--stdin", "--", "cat"), input);
        assertArrayEquals(input, r.stdoutBytes());
    }

    @Test
    void timeoutKillsTheWholeProcessGroupAndExits124() {
        Runs.Result r = exec("--timeout", "2s", "--", "sleep 3001 & sleep 3002; echo never");
        assertEquals(124, r.exit(), r.toString());
        assertTrue(r.millis() < 10_000, "ended within 10 s: " + r.millis());
        assertTrue(r.stderr().startsWith("vps: TIMEOUT: "), r.stderr());
        assertTrue(r.stderr().contains("\nhint: "), r.stderr());
        assertEquals("", vps.exec("pgrep -f 'sleep 300[12]' || true").trim(), "no sleep survived");
        Map<?, ?> j = exec("--json", "--timeout", "1s", "--", "sleep 3003").json();
        assertEquals("timed_out", j.get("status"));
        assertEquals("TIMEOUT", ((Map<?, ?>) j.get("error")).get("kind"));
    }

    @Test
    void envValuesArriveExactlyWhateverTheirCharacters() {
        String awkward = "it's \"quoted\" $(touch /tmp/pwned) `id` \\ é\nsecond line";
        Runs.Result r = exec("--env", "AWKWARD=" + awkward, "--env", "EMPTY=", "--", "printf '%s|%s' \"$AWKWARD\" \"${EMPTY-unset}\"");
        assertEquals(awkward + "|", r.stdout(), r.toString());
        assertEquals("", vps.exec("ls /tmp/pwned 2>/dev/null || true").trim());
    }

    @Test
    void badEnvNameIsAConfigError() {
        Runs.Result r = exec("--env", "1BAD=x", "--", "true");
        assertEquals(2, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: CONFIG: "), r.stderr());
    }

    @Test
    void cwdChangesDirectoryAndAMissingOneFails() {
        vps.exec("mkdir -p '/tmp/dir with space'");
        assertEquals("/tmp/dir with space\n", exec("--cwd", "/tmp/dir with space", "--", "pwd").stdout());
        Runs.Result missing = exec("--cwd", "/no/such/dir", "--", "echo should-not-run");
        assertEquals(1, missing.exit());
        assertTrue(!missing.stdout().contains("should-not-run"));
        assertTrue(missing.stderr().contains("/no/such/dir"), missing.stderr());
    }

    @Test
    void nonInteractiveEnvironmentByDefault() {
        Runs.Result r = exec("--", "echo $DEBIAN_FRONTEND $PAGER $GIT_TERMINAL_PROMPT; tty || true");
        assertEquals("noninteractive cat 0\nnot a tty\n", r.stdout());
    }

    @Test
    void sudoRunsAsRootWhenPasswordless() {
        Runs.Result r = Runs.exec(TestSupport.args(vps.target("alice"), "--sudo", "--env", "X=y", "--", "id -u; echo $X"));
        assertEquals("0\ny\n", r.stdout(), r.toString());
    }

    @Test
    void sudoThatWantsAPasswordFailsAtOnceWithAClearMessage() {
        Runs.Result r = Runs.exec(TestSupport.args(vps.target("bob"), "--sudo", "--", "id -u"));
        assertEquals(255, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: AUTH: sudo on 127.0.0.1 needs a password for bob"), r.stderr());
        assertTrue(r.millis() < 10_000);
    }

    @Test
    void severalCommandsStopAtTheFirstFailure() {
        Runs.Result r = exec("-c", "echo one", "-c", "exit 4", "-c", "echo three");
        assertEquals(4, r.exit());
        assertEquals("one\n", r.stdout());
        Runs.Result all = exec("--keep-going", "-c", "echo one", "-c", "exit 4", "-c", "echo three");
        assertEquals(4, all.exit());
        assertEquals("one\nthree\n", all.stdout());
        Map<?, ?> j = exec("--json", "-c", "echo a", "-c", "echo b").json();
        assertEquals(2, ((List<?>) j.get("steps")).size());
        assertEquals("a\nb\n", j.get("stdout"));
    }

    @Test
    void severalCommandsShareOneConnection() {
        long before = vps.logins();
        Runs.Result r = exec("-c", "true", "-c", "true", "-c", "true", "-c", "echo done");
        assertEquals(0, r.exit(), r.toString());
        assertEquals("done\n", r.stdout());
        long logins = vps.logins() - before;
        if (EngineRuns.on()) {
            assertTrue(logins <= 1, "through the engine: at most one login for the four (none when one is warm): " + logins);
        } else {
            assertEquals(1, logins, "one login for four commands");
        }
    }

    @Test
    void scriptFileRunsWithItsInterpreter(@TempDir Path dir) throws Exception {
        Path script = Files.writeString(dir.resolve("s.sh"), "#!/bin/bash\nset -e\narr=(x y z)\necho \"${arr[1]}\" \"$0\"\nexit 5\n");
        Runs.Result r = exec("--script", script.toString());
        assertEquals(5, r.exit(), r.toString());
        assertTrue(r.stdout().startsWith("y "), r.stdout());
    }

    @Test
    void cwdWorksWithAScriptsOwnInterpreter(@TempDir Path dir) throws Exception {
        Path script = Files.writeString(dir.resolve("where.pl"), "#!/usr/bin/perl\nuse Cwd; print getcwd(), \"\\n\";\n");
        Runs.Result r = exec("--cwd", "/tmp", "--script", script.toString());
        assertEquals("/tmp\n", r.stdout(), r.toString());
    }

    @Test
    void jsonWithUnlimitedOutputIsRefused() {
        Runs.Result r = exec("--json", "--max-output", "0", "--", "true");
        assertEquals(2, r.exit(), r.toString());
    }

    @Test
    void scriptFromStdin() {
        Runs.Result r = Runs.exec(TestSupport.args(vps.target("root"), "--script", "-"),
                "echo from-stdin\nwhoami\n".getBytes(StandardCharsets.UTF_8));
        assertEquals("from-stdin\nroot\n", r.stdout());
    }

    @Test
    void maxOutputKeepsHeadAndTailAndTheFullTextLocally() throws Exception {
        Map<?, ?> j = exec("--json", "--max-output", "200", "--", "seq 1 100000").json();
        assertEquals(true, j.get("truncated"));
        String stdout = (String) j.get("stdout");
        assertTrue(stdout.startsWith("1\n2\n3\n"), stdout);
        assertTrue(stdout.endsWith("99999\n100000\n"), stdout);
        assertTrue(stdout.length() < 400, "bounded: " + stdout.length());
        Path full = Path.of((String) ((List<?>) j.get("outputFiles")).get(0));
        List<String> lines = Files.readAllLines(full);
        assertEquals(100000, lines.size());
        assertEquals("100000", lines.get(lines.size() - 1));
    }

    @Test
    void hugeOutputInJsonModeDoesNotExhaustMemory() throws Exception {
        // A separate JVM with a 64 MiB heap receives 100 MB: only a bounded part may stay in memory.
        Path home = Files.createTempDirectory("vps-huge");
        List<String> cmd = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx64m", "-cp", System.getProperty("java.class.path"), "ExecCommand", "--json"));
        cmd.addAll(vps.target("root"));
        cmd.addAll(List.of("--", "head -c 100000000 /dev/zero | tr '\\0' x; echo; echo tail-marker"));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("VPS_TOOLKIT_HOME", home.toString());
        pb.environment().put("VPS_SSH_CONFIG", "/dev/null");
        Path stderr = home.resolve("stderr");
        Process p = pb.redirectError(stderr.toFile()).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertEquals(0, p.waitFor(), () -> readQuietly(stderr));
        Map<?, ?> j = Json.read(new String(out, StandardCharsets.UTF_8), Map.class);
        assertEquals(true, j.get("truncated"));
        assertTrue(((String) j.get("stdout")).endsWith("tail-marker\n"));
        Path full = Path.of((String) ((List<?>) j.get("outputFiles")).get(0));
        assertEquals(100_000_000L + 1 + 12, Files.size(full));
    }

    @Test
    void killingTheClientStopsTheRemoteCommand() throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "ExecCommand"));
        cmd.addAll(vps.target("root"));
        cmd.addAll(List.of("--", "echo started; sleep 3004"));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("VPS_SSH_CONFIG", "/dev/null");
        pb.environment().put("VPS_TOOLKIT_HOME", Files.createTempDirectory("vps-int").toString());
        Process p = pb.redirectError(ProcessBuilder.Redirect.DISCARD).start();
        java.io.BufferedReader out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream()));
        assertEquals("started", out.readLine());
        assertTrue(!vps.exec("pgrep -f 'sleep [3]004' || true").isBlank(), "running before the client dies");
        p.destroy();   // SIGTERM, as a closing terminal or an agent's tool timeout sends
        assertTrue(p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS));
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!vps.exec("pgrep -f 'sleep [3]004' || true").isBlank() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertEquals("", vps.exec("pgrep -f 'sleep [3]004' || true").trim(), "the remote command was stopped");
    }

    @Test
    void verboseLogsTheProtocolToStderrOnly() {
        Runs.Result r = exec("-v", "--", "echo quiet");
        assertEquals("quiet\n", r.stdout());
        assertTrue(r.stderr().contains("debug: Remote version string: SSH-2.0-OpenSSH"), r.stderr());
    }

    private static String readQuietly(Path file) {
        try {
            return Files.readString(file);
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }

    @Test
    void hugeOutputStreamsThroughInPlainMode() {
        Runs.Result r = exec("--", "head -c 20000000 /dev/zero | tr '\\0' y");
        assertEquals(0, r.exit());
        assertEquals(20_000_000, r.stdoutBytes().length);
    }
}
