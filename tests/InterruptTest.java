import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Ctrl-C (SIGINT) to a real client process (issue 16, item 4): exec-command stops the remote
 * command and says so (exit 130, one JSON object with --json, also through --reuse); sftp-put and
 * job wait / job logs --follow say that the transfer or job goes on and how to continue.
 */
class InterruptTest extends VpsTestBase {
    private Path home;

    @BeforeEach
    void privateHome() {
        home = TestSupport.freshEnvironment();
    }

    /** A client JVM running MAIN_CLASS with ARGS, its output in files under DIR. */
    record Client(Process process, Path out, Path err) {
        String stdout() throws IOException {
            return Files.readString(out, StandardCharsets.UTF_8);
        }

        String stderr() throws IOException {
            return Files.readString(err, StandardCharsets.UTF_8);
        }

        /** Sends SIGINT, as Ctrl-C in a terminal does, and returns the exit status. */
        int interrupt() throws Exception {
            Process kill = new ProcessBuilder("kill", "-INT", Long.toString(process.pid())).inheritIO().start();
            assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -INT was sent");
            if (!Processes.waitOrKill(process, Duration.ofSeconds(30))) {
                throw new AssertionError("the client did not end within 30 s of SIGINT; stderr: " + stderr());
            }
            return process.exitValue();
        }

        @Override
        public String toString() {
            try {
                return "--- stdout\n" + stdout() + "\n--- stderr\n" + stderr();
            } catch (IOException e) {
                return e.toString();
            }
        }
    }

    private Client start(Path dir, String mainClass, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), mainClass));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("VPS_SSH_CONFIG", "/dev/null");
        pb.environment().put("VPS_TOOLKIT_HOME", home.toString());
        Path out = dir.resolve("stdout");
        Path err = dir.resolve("stderr");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        return new Client(p, out, err);
    }

    /** Starts exec-command with a remote command that touches MARKER, then sleeps SECONDS; returns once it provably runs. */
    private Client execRunning(Path dir, String marker, int seconds, String... options) throws IOException {
        vps.exec("rm -f " + marker);
        List<String> args = new ArrayList<>(vps.target("root"));
        args.addAll(List.of(options));
        args.addAll(List.of("--", "echo before; touch " + marker + "; sleep " + seconds + "; echo after"));
        Client c = start(dir, "ExecCommand", args);
        vps.await("test -e " + marker + " && echo started", "started");
        return c;
    }

    /** True when no process on the server runs `sleep SECONDS` (the pattern's brackets keep pgrep from finding itself). */
    private static void assertNoSleep(int seconds) {
        String s = Integer.toString(seconds);
        String pattern = "sleep " + s.substring(0, s.length() - 1) + "[" + s.charAt(s.length() - 1) + "]";
        vps.await("pgrep -f '" + pattern + "' > /dev/null && echo running || echo gone", "gone");
    }

    @Test
    void ctrlCOnExecCommandSaysTheRemoteCommandWasStopped(@TempDir Path dir) throws Exception {
        Client c = execRunning(dir, "/tmp/interrupt-plain.started", 3171);
        assertEquals(130, c.interrupt(), c.toString());
        assertTrue(c.stderr().contains("vps: interrupted: the remote command was stopped\nhint: "), c.toString());
        assertFalse(c.stderr().contains("killed by signal"), c.toString());
        assertEquals(1, c.stderr().split("vps: ", -1).length - 1, "one report: " + c);
        assertEquals("before\n", c.stdout());
        assertNoSleep(3171);
    }

    @Test
    void ctrlCOnACommandWithATerminalStopsItToo(@TempDir Path dir) throws Exception {
        Client c = execRunning(dir, "/tmp/interrupt-pty.started", 3174, "--pty");
        awaitStdout(c, "before\r\n");
        assertEquals(130, c.interrupt(), c.toString());
        assertTrue(c.stderr().contains("vps: interrupted: the remote command was stopped\nhint: "), c.toString());
        assertEquals("before\r\n", c.stdout());
        assertNoSleep(3174);
    }

    @Test
    void ctrlCWithJsonPrintsItsOneObject(@TempDir Path dir) throws Exception {
        Client c = execRunning(dir, "/tmp/interrupt-json.started", 3172, "--json");
        assertEquals(130, c.interrupt(), c.toString());
        String stdout = c.stdout().trim();
        assertTrue(stdout.startsWith("{") && stdout.endsWith("}") && stdout.lines().count() == 1, "one JSON object: " + c);
        Map<?, ?> j = Json.read(stdout, Map.class);
        assertEquals("failed", j.get("status"));
        assertEquals(null, j.get("exitCode"));
        assertEquals("before\n", j.get("stdout"));
        Map<?, ?> error = (Map<?, ?>) j.get("error");
        assertEquals("INTERRUPTED", error.get("kind"));
        assertEquals("interrupted: the remote command was stopped", error.get("message"));
        assertTrue(c.stderr().contains("vps: interrupted: the remote command was stopped"), c.toString());
        assertNoSleep(3172);
    }

    @Test
    void ctrlCThroughReuseStopsAndSaysSo(@TempDir Path dir) throws Exception {
        Client c = execRunning(dir, "/tmp/interrupt-reuse.started", 3173, "--reuse");
        awaitStdout(c, "before\n");
        assertEquals(130, c.interrupt(), c.toString());
        assertTrue(c.stderr().contains("vps: interrupted: the remote command was stopped\nhint: "), c.toString());
        assertEquals("before\n", c.stdout());
        assertNoSleep(3173);
    }

    @Test
    void ctrlCWhileFollowingADetachableCommandSaysItsJobGoesOn(@TempDir Path dir) throws Exception {
        Client c = execRunning(dir, "/tmp/interrupt-detach.started", 3176, "--detach-after", "10m");
        awaitStdout(c, "before\n");   // the 7 bytes the hint's --from counts have reached the client
        assertEquals(130, c.interrupt(), c.toString());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("vps: interrupted: the command goes on running on the server as job (\\S+)\n"
                + "hint: continue with: job logs \\1 --from 7 ").matcher(c.stderr());
        assertTrue(m.find(), c.toString());
        assertFalse(c.stderr().contains("remote command was stopped"), c.toString());
        assertEquals("running", JobTest.job("status", m.group(1), "--json").json().get("status"), "the job goes on");
        JobTest.job("kill", m.group(1));
        assertNoSleep(3176);
    }

    @Test
    void ctrlCWithJsonWhileFollowingADetachableCommandPrintsItsOneObjectNamingTheJob(@TempDir Path dir) throws Exception {
        Client c = execRunning(dir, "/tmp/interrupt-detach-json.started", 3177, "--detach-after", "10m", "--json");
        assertEquals(130, c.interrupt(), c.toString());
        String stdout = c.stdout().trim();
        assertTrue(stdout.startsWith("{") && stdout.endsWith("}") && stdout.lines().count() == 1, "one JSON object: " + c);
        Map<?, ?> error = (Map<?, ?>) Json.read(stdout, Map.class).get("error");
        assertEquals("INTERRUPTED", error.get("kind"), c.toString());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("interrupted: the command goes on running on the server as job (\\S+)")
                .matcher((String) error.get("message"));
        assertTrue(m.matches(), c.toString());
        assertTrue(((String) error.get("hint")).startsWith("continue with: job logs " + m.group(1) + " --from "), c.toString());
        assertEquals("running", JobTest.job("status", m.group(1), "--json").json().get("status"), "the job goes on");
        JobTest.job("kill", m.group(1));
        assertNoSleep(3177);
    }

    @Test
    void ctrlCOnSftpPutSaysTheRerunResumes(@TempDir Path dir) throws Exception {
        byte[] data = TransferTest.random(12 << 20, 41);
        Path src = Files.write(dir.resolve("int-up.bin"), data);
        String target = "/tmp/int-up.bin";
        vps.exec("rm -f /tmp/.int-up.bin.vps-partial* " + target);
        try (TcpProxy proxy = new TcpProxy(vps.port)) {
            proxy.bytesPerSecond = 1 << 20;   // about 12 s for the whole file: interrupted well before its end
            List<String> args = new ArrayList<>(List.of("-H", "127.0.0.1", "-p", Integer.toString(proxy.port()), "-u", "root",
                    "-i", vps.key.toString(), "--host-key", vps.hostKeyFingerprint, "--known-hosts", dir.resolve("kh").toString()));
            args.addAll(List.of(src.toString(), target));
            Client c = start(dir, "SftpPut", args);
            vps.await("[ \"$(cat /tmp/.int-up.bin.vps-partial.* 2>/dev/null | wc -c)\" -ge 2097152 ] && echo sent || echo not-yet", "sent");
            assertEquals(130, c.interrupt(), c.toString());
            assertTrue(c.stderr().contains("vps: interrupted: the transfer stopped; each unfinished file stays in its partial file"), c.toString());
            assertTrue(c.stderr().contains("hint: continue by running the same sftp-put again"), c.toString());
        }
        assertEquals("", vps.exec("ls " + target + " 2>/dev/null"), "the target was not touched");
        Runs.Result rerun = TransferTest.put("--json", src.toString(), target);
        assertEquals(0, rerun.exit(), rerun.toString());
        Map<?, ?> file = (Map<?, ?>) ((List<?>) rerun.json().get("files")).get(0);
        assertTrue(((Number) file.get("resumedFrom")).longValue() > 0, "the rerun resumed, as the hint says: " + file);
    }

    @Test
    void ctrlCOnJobWaitSaysTheJobGoesOn(@TempDir Path dir) throws Exception {
        assertEquals(0, JobTest.job("start", "--id", "int-wait", "--", "sleep 3174").exit());
        List<String> args = new ArrayList<>(List.of("wait"));
        args.addAll(vps.target("root"));
        args.addAll(List.of("int-wait", "--max", "5m", "--heartbeat", "1s", "--json"));
        Client c = start(dir, "JobCommand", args);
        awaitStderr(c);   // a heartbeat line: the client is in its wait
        assertEquals(130, c.interrupt(), c.toString());
        assertTrue(c.stderr().contains("vps: interrupted: job int-wait goes on running on the server\nhint: continue with: job wait int-wait"), c.toString());
        Map<?, ?> j = Json.read(c.stdout().trim(), Map.class);
        assertEquals("int-wait", j.get("job"), "the one JSON object names the job: " + c);
        assertEquals("127.0.0.1", j.get("host"), c.toString());
        assertEquals("INTERRUPTED", ((Map<?, ?>) j.get("error")).get("kind"), c.toString());
        assertEquals("running", JobTest.job("status", "int-wait", "--json").json().get("status"), "the job goes on");
        JobTest.job("kill", "int-wait");
    }

    @Test
    void ctrlCOnJobLogsFollowSaysWhereToContinue(@TempDir Path dir) throws Exception {
        assertEquals(0, JobTest.job("start", "--id", "int-follow", "--", "echo first; sleep 3175").exit());
        List<String> args = new ArrayList<>(List.of("logs"));
        args.addAll(vps.target("root"));
        args.addAll(List.of("int-follow", "--follow"));
        Client c = start(dir, "JobCommand", args);
        for (long end = System.nanoTime() + 30_000_000_000L; !c.stdout().equals("first\n") && System.nanoTime() < end; ) {
            Thread.sleep(100);
        }
        assertEquals("first\n", c.stdout(), "the client follows the log");
        assertEquals(130, c.interrupt(), c.toString());
        assertTrue(c.stderr().contains("vps: interrupted: job int-follow goes on running on the server; its output was printed up to byte 6"
                + "\nhint: continue with: job logs int-follow --from 6 --follow"), c.toString());
        assertEquals("running", JobTest.job("status", "int-follow", "--json").json().get("status"), "the job goes on");
        JobTest.job("kill", "int-follow");
    }

    /** Waits (at most 30 s) until the client has printed EXPECTED: what the server sent has reached it. */
    private static void awaitStdout(Client c, String expected) throws Exception {
        for (long end = System.nanoTime() + 30_000_000_000L; !c.stdout().equals(expected) && System.nanoTime() < end; ) {
            Thread.sleep(50);
        }
        assertEquals(expected, c.stdout(), c.toString());
    }

    private static void awaitStderr(Client c) throws Exception {
        for (long end = System.nanoTime() + 30_000_000_000L; c.stderr().isEmpty() && System.nanoTime() < end; ) {
            Thread.sleep(100);
        }
        assertFalse(c.stderr().isEmpty(), "the client printed its first heartbeat");
    }
}
