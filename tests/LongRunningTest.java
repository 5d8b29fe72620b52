import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** exec-command --detach-after, --lock and heartbeats against a real OpenSSH server. */
class LongRunningTest extends VpsTestBase {
    static Runs.Result exec(String... args) {
        List<String> all = new ArrayList<>(vps.target("root"));
        all.addAll(List.of(args));
        return Runs.exec(all);
    }

    @Test
    void detachAfterThenLogsFromReturnsTheRestWithNoGapAndNoDuplicate() {
        String cmd = "for i in $(seq 1 300); do echo \"line $i\"; [ $((i % 50)) -eq 0 ] && echo \"err $i\" >&2; sleep 0.02; done";
        Runs.Result first = exec("--detach-after", "2s", "--json", "--", cmd);
        assertEquals(75, first.exit(), first.toString());
        Map<?, ?> r = first.json();
        assertEquals("detached", r.get("status"));
        String id = (String) r.get("job");
        assertNotNull(id, first.stdout());
        long next = ((Number) r.get("next")).longValue();
        long nextStderr = ((Number) r.get("nextStderr")).longValue();
        String soFar = (String) r.get("stdout");
        assertEquals(soFar.getBytes(StandardCharsets.UTF_8).length, next, "the offset is what was shown");
        assertTrue(soFar.startsWith("line 1\n") && next > 0, soFar);
        assertTrue(first.stderr().contains("job logs " + id + " --from " + next), first.stderr());

        assertEquals(0, JobTest.job("wait", id, "--max", "60s").exit());
        String rest = JobTest.job("logs", id, "--from", Long.toString(next)).stdout();
        String restErr = JobTest.job("logs", id, "--stderr", "--from", Long.toString(nextStderr)).stdout();
        assertFalse(rest.isEmpty(), "the job was still printing when it was detached");
        StringBuilder expected = new StringBuilder();
        StringBuilder expectedErr = new StringBuilder();
        for (int i = 1; i <= 300; i++) {
            expected.append("line ").append(i).append('\n');
            if (i % 50 == 0) {
                expectedErr.append("err ").append(i).append('\n');
            }
        }
        assertEquals(expected.toString(), soFar + rest);
        assertEquals(expectedErr.toString(), r.get("stderr") + restErr);
    }

    @Test
    void detachAfterStreamsAndReturnsTheExitCodeWhenTheCommandEndsInTime() {
        Runs.Result r = exec("--detach-after", "30s", "--", "echo out; echo \"it's \\\"quoted\\\" \\$(not run) ünï\" >&2; exit 7");
        assertEquals(7, r.exit(), r.toString());
        assertEquals("out\n", r.stdout());
        assertTrue(r.stderr().contains("it's \"quoted\" $(not run) ünï"), r.stderr());
        Map<?, ?> json = exec("--detach-after", "30s", "--json", "--", "echo hi").json();
        assertEquals("exited", json.get("status"));
        assertEquals(0L, json.get("exitCode"));
        assertNotNull(json.get("job"), "the job that ran it is named");
    }

    @Test
    void aCutConnectionWhileFollowingNamesTheJobThatKeepsRunning(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        Runs.Result cut;
        try (TcpProxy proxy = new TcpProxy(vps.port)) {
            List<String> args = new ArrayList<>(List.of("-H", "127.0.0.1", "-p", Integer.toString(proxy.port()), "-u", "root",
                    "-i", vps.key.toString(), "--host-key", vps.hostKeyFingerprint, "--known-hosts", dir.resolve("kh").toString(),
                    "--detach-after", "60s", "--", "touch /root/follow-started; " + VpsServer.waitForFile("/root/follow-go") + "; echo survived"));
            vps.exec("rm -f /root/follow-started /root/follow-go");
            CompletableFuture<Runs.Result> run = CompletableFuture.supplyAsync(() -> Runs.exec(args));
            vps.await("test -e /root/follow-started && echo yes", "yes");
            proxy.cutAll();
            cut = run.get(30, TimeUnit.SECONDS);
            vps.exec("touch /root/follow-go");
        }
        assertEquals(255, cut.exit(), cut.toString());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("as job (\\S+)").matcher(cut.stderr());
        assertTrue(cut.stderr().startsWith("vps: NETWORK: ") && m.find(), cut.stderr());
        assertEquals(0, JobTest.job("wait", m.group(1), "--max", "20s").exit());
        assertEquals("survived\n", JobTest.job("logs", m.group(1)).stdout());
    }

    @Test
    void detachAfterComesFromTheEnvironmentAndRefusesSeveralCommands() {
        TestSupport.freshEnvironment(Map.of("VPS_DETACH_AFTER", "1s"));
        Runs.Result r = exec("--", "sleep 5");
        assertEquals(75, r.exit(), r.toString());
        Runs.Result two = exec("--detach-after", "5s", "-c", "true", "-c", "true");
        assertEquals(2, two.exit(), two.toString());
        assertTrue(two.stderr().contains("--detach-after runs one command"), two.stderr());
    }

    @Test
    void aLockHasOneHolderAtATimeAndABusyLockFailsClearly() throws Exception {
        vps.exec("rm -f /root/lock-b /root/lock-a-held /root/lock-a-release");
        CompletableFuture<Runs.Result> holder = CompletableFuture.supplyAsync(() -> exec("--lock", "apt", "--",
                "touch /root/lock-a-held; " + VpsServer.waitForFile("/root/lock-a-release") + "; echo held"));
        vps.await("test -e /root/lock-a-held && echo yes", "yes");
        Runs.Result busy = exec("--lock", "apt", "--lock-wait", "1s", "--json", "--", "touch /root/lock-b");
        assertEquals(124, busy.exit(), busy.toString());
        Map<?, ?> error = (Map<?, ?>) busy.json().get("error");
        assertEquals("TIMEOUT", error.get("kind"));
        assertTrue(((String) error.get("message")).contains("lock 'apt'") && ((String) error.get("message")).contains("lock-a-held"),
                "names the lock and its holder: " + error);
        assertEquals("", vps.exec("ls /root/lock-b 2>/dev/null || true"), "the command did not run");

        CompletableFuture<Runs.Result> waiting = CompletableFuture.supplyAsync(() -> exec("--lock", "apt", "--lock-wait", "60s", "--", "touch /root/lock-b; echo ran"));
        vps.exec("touch /root/lock-a-release");
        Runs.Result waited = waiting.get(90, TimeUnit.SECONDS);
        assertEquals(0, waited.exit(), waited.toString());
        assertEquals("held\n", holder.get(30, TimeUnit.SECONDS).stdout(), "the holder finished before the waiter ran");
        assertEquals("ran\n", waited.stdout());

        Runs.Result own254 = exec("--lock", "apt", "--", "exit 254");
        assertEquals(254, own254.exit(), "a command's own 254 is not a busy lock: " + own254);
    }

    @Test
    void aJobHoldsItsLockUntilItEndsAndADaemonItStartsDoesNot() {
        // Ids of this run's own: the engine pass runs this test again on the same server, whose job folders remain.
        String holder = "locked-job-" + System.nanoTime();
        String second = "second-" + System.nanoTime();
        assertEquals(0, JobTest.job("start", "--id", holder, "--lock", "deploy", "--", "sleep 3").exit());
        Runs.Result busy = exec("--lock", "deploy", "--lock-wait", "500ms", "--", "true");
        assertEquals(124, busy.exit(), busy.toString());
        assertTrue(busy.stderr().contains("job " + holder), busy.stderr());
        Runs.Result busyJob = JobTest.job("start", "--id", second, "--lock", "deploy", "--lock-wait", "500ms", "--", "true");
        assertEquals(124, busyJob.exit(), busyJob.toString());
        assertEquals(1, JobTest.job("status", second).exit(), "a job that never got its lock is not left behind");
        assertEquals(0, exec("--lock", "deploy", "--lock-wait", "20s", "--", "true").exit(), "free once the job ended");

        assertEquals(0, exec("--lock", "deploy", "--", "sleep 3031 >/dev/null 2>&1 &").exit());
        Runs.Result after = exec("--lock", "deploy", "--lock-wait", "2s", "--", "pkill -f 'sleep 303[1]'; echo free");
        assertEquals("free\n", after.stdout(), "a daemon started under the lock does not keep it: " + after);
    }

    /** Heartbeats from exec-command, job wait and job logs --follow, at the default 20 s, during one silent minute. */
    @Test
    void heartbeatsAppearAtThePromisedIntervalDuringASilentMinute() throws Exception {
        String silent = "silent-" + System.nanoTime();   // this run's own, as above
        assertEquals(0, JobTest.job("start", "--id", silent, "--", "echo job-line; sleep 60").exit());
        long start = System.nanoTime();
        CompletableFuture<List<Line>> execBeats = CompletableFuture.supplyAsync(() -> timedStderr(
                (out, err) -> new ExecCommand(out, err, new ByteArrayInputStream(new byte[0])), args("--", "echo exec-line; sleep 60")));
        CompletableFuture<List<Line>> waitBeats = CompletableFuture.supplyAsync(() -> timedStderr(
                JobCommand::new, jobArgs("wait", silent, "--max", "90s")));
        List<Line> followBeats = timedStderr(JobCommand::new, jobArgs("logs", silent, "--follow", "--max", "90s"));
        for (List<Line> lines : List.of(execBeats.get(120, TimeUnit.SECONDS), waitBeats.get(120, TimeUnit.SECONDS), followBeats)) {
            List<Line> beats = lines.stream().filter(l -> l.text.startsWith("progress: ")).toList();
            assertTrue(beats.size() >= 2 && beats.size() <= 3, "two or three beats in a silent minute: " + lines);
            double first = (beats.get(0).nanos - start) / 1e9;
            assertTrue(first > 17 && first < 24, "first beat after about 20 s, not " + first + ": " + lines);
            for (int i = 1; i < beats.size(); i++) {
                double gap = (beats.get(i).nanos - beats.get(i - 1).nanos) / 1e9;
                assertTrue(gap > 18.5 && gap < 22, "beats 20 s apart, not " + gap + ": " + lines);
            }
            assertTrue(beats.get(0).text.contains("still running after 2") && beats.get(0).text.contains("last line: "), beats.get(0).text);
        }
        assertTrue(execBeats.get().get(0).text.contains("last line: exec-line"), execBeats.get().toString());
        assertTrue(waitBeats.get().get(0).text.contains("last line: job-line"), waitBeats.get().toString());
    }

    private static List<String> args(String... rest) {
        List<String> all = new ArrayList<>(vps.target("root"));
        all.addAll(List.of(rest));
        return all;
    }

    private static List<String> jobArgs(String sub, String... rest) {
        List<String> all = new ArrayList<>(List.of(sub));
        all.addAll(vps.target("root"));
        all.addAll(List.of(rest));
        return all;
    }

    record Line(long nanos, String text) {}

    interface Maker {
        Object make(PrintStream out, PrintStream err);
    }

    /** Runs a command in-process and records when each stderr line arrived. */
    private static List<Line> timedStderr(Maker maker, List<String> args) {
        List<Line> lines = new ArrayList<>();
        OutputStream timed = new OutputStream() {
            final ByteArrayOutputStream current = new ByteArrayOutputStream();

            @Override
            public synchronized void write(int b) {
                if (b == '\n') {
                    lines.add(new Line(System.nanoTime(), current.toString(StandardCharsets.UTF_8)));
                    current.reset();
                } else {
                    current.write(b);
                }
            }
        };
        PrintStream err = new PrintStream(timed, true, StandardCharsets.UTF_8);
        PrintStream out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        Cli.commandLine(maker.make(out, err), out, err).execute(args.toArray(String[]::new));
        synchronized (timed) {
            return new ArrayList<>(lines);
        }
    }
}
