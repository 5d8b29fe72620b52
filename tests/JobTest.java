import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Detached jobs on a real OpenSSH server: they survive the client, run once per id, and report exactly. */
class JobTest extends VpsTestBase {
    static Runs.Result job(List<String> target, String... args) {
        List<String> all = new ArrayList<>();
        all.add(args[0]);
        all.addAll(target);
        all.addAll(List.of(args).subList(1, args.length));
        return Runs.run(all, new byte[0], (out, err, in) -> new JobCommand(out, err));
    }

    static Runs.Result job(String... args) {
        return job(vps.target("root"), args);
    }

    @Test
    void startWaitAndReadTheCompleteLogs() {
        Runs.Result start = job("start", "--id", "basic", "--", "echo one; sleep 1; echo two >&2; exit 3");
        assertEquals(0, start.exit(), start.toString());
        assertEquals("basic\n", start.stdout());
        Runs.Result wait = job("wait", "basic", "--max", "20s");
        assertEquals(3, wait.exit(), wait.toString());
        assertEquals("one\n", job("logs", "basic").stdout());
        assertEquals("two\n", job("logs", "basic", "--stderr").stdout());
        Map<?, ?> status = job("status", "basic", "--json").json();
        assertEquals("exited", status.get("status"));
        assertEquals("basic", status.get("job"));
        assertEquals(3L, status.get("exitCode"));
    }

    @Test
    void theSameIdFromRacingClientsRunsOnce() throws Exception {
        vps.exec("rm -f /root/race-count");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<Runs.Result>> starts = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            starts.add(pool.submit(() -> job("start", "--id", "race", "--json", "--", "echo run >> /root/race-count")));
        }
        int created = 0;
        for (Future<Runs.Result> f : starts) {
            Runs.Result r = f.get(60, TimeUnit.SECONDS);
            assertEquals(0, r.exit(), r.toString());
            created += Boolean.TRUE.equals(r.json().get("created")) ? 1 : 0;
        }
        pool.shutdown();
        assertEquals(0, job("wait", "race").exit());
        assertEquals(1, created, "exactly one client created the job");
        assertEquals("run\n", vps.exec("cat /root/race-count"), "the command ran once");
        job("start", "--id", "race", "--", "echo run >> /root/race-count");
        assertEquals("run\n", vps.exec("cat /root/race-count"), "a later start with the same id does not run it again");
    }

    @Test
    void survivesACutConnectionAndAKilledClient(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        try (TcpProxy proxy = new TcpProxy(vps.port)) {
            List<String> viaProxy = List.of("-H", "127.0.0.1", "-p", Integer.toString(proxy.port()), "-u", "root", "-i", vps.key.toString(),
                    "--host-key", vps.hostKeyFingerprint, "--known-hosts", dir.resolve("kh").toString());
            assertEquals(0, job(viaProxy, "start", "--id", "survivor", "--", "for i in 1 2 3; do echo line $i; sleep 1; done").exit());
            proxy.cutAll();
        }
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "JobCommand", "logs"));
        cmd.addAll(vps.target("root"));
        cmd.addAll(List.of("survivor", "--follow"));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("VPS_SSH_CONFIG", "/dev/null");
        Process client = pb.redirectErrorStream(true).start();
        Thread.sleep(1500);
        client.destroyForcibly();   // kill -9 of the local client
        client.waitFor(10, TimeUnit.SECONDS);
        assertEquals(0, job("wait", "survivor", "--max", "20s").exit());
        assertEquals("line 1\nline 2\nline 3\n", job("logs", "survivor").stdout());
    }

    @Test
    void killStopsEveryChildProcess() {
        job("start", "--id", "victim", "--", "sleep 3101 & sleep 3102 & sleep 3103");
        assertTrue(!vps.exec("pgrep -f 'sleep 310[123]' || true").isBlank());
        Runs.Result kill = job("kill", "victim", "--json");
        assertEquals(0, kill.exit(), kill.toString());
        assertEquals("killed", kill.json().get("status"));
        assertEquals("", vps.exec("pgrep -f 'sleep 310[123]' || true").trim(), "no child survived");
    }

    @Test
    void waitWithMaxSaysStillRunning() {
        job("start", "--id", "slow", "--", "sleep 30");
        Runs.Result wait = job("wait", "slow", "--max", "1s", "--json");
        assertEquals(75, wait.exit(), wait.toString());
        assertEquals("running", wait.json().get("status"));
        job("kill", "slow");
    }

    @Test
    void logsFromOffsetsHaveNoGapAndNoDuplicate() {
        job("start", "--id", "counter", "--", "for i in $(seq 1 40); do echo $i; sleep 0.05; done");
        StringBuilder all = new StringBuilder();
        long from = 0;
        for (int round = 0; round < 60; round++) {
            Map<?, ?> r = job("logs", "counter", "--from", Long.toString(from), "--json").json();
            all.append((String) r.get("stdout"));
            from = ((Number) r.get("next")).longValue();
            if (!"running".equals(r.get("status"))) {
                Map<?, ?> rest = job("logs", "counter", "--from", Long.toString(from), "--json").json();
                all.append((String) rest.get("stdout"));
                break;
            }
        }
        StringBuilder expected = new StringBuilder();
        for (int i = 1; i <= 40; i++) {
            expected.append(i).append('\n');
        }
        assertEquals(expected.toString(), all.toString());
    }

    @Test
    void awkwardCommandsRunExactly() {
        String cmd = "printf '%s\\n' \"it's\" '\"quoted\"' '$(not run)' 'ünïcödé 日本'\necho second line";
        job("start", "--id", "awkward", "--", cmd);
        assertEquals(0, job("wait", "awkward").exit());
        assertEquals("it's\n\"quoted\"\n$(not run)\nünïcödé 日本\nsecond line\n", job("logs", "awkward").stdout());
    }

    @Test
    void listAndGc() {
        job("start", "--id", "old-one", "--", "true");
        job("wait", "old-one");
        Map<?, ?> list = job("list", "--json").json();
        assertTrue(((List<?>) list.get("jobs")).stream().anyMatch(j -> "old-one".equals(((Map<?, ?>) j).get("job"))));
        Runs.Result gc = job("gc", "--older-than", "0s", "--json");
        assertTrue(((List<?>) gc.json().get("removed")).contains("old-one"), gc.stdout());
        assertEquals(1, job("status", "old-one").exit());
    }

    @Test
    void aRestartedServerTurnsARunningJobIntoLost() {
        try (VpsServer own = new VpsServer()) {
            Runs.Result start = job(own.target("root"), "start", "--id", "doomed", "--", "sleep 600");
            assertEquals(0, start.exit(), start.toString());
            own.container.getDockerClient().restartContainerCmd(own.container.getContainerId()).withTimeout(5).exec();
            Runs.Result status = null;
            for (int i = 0; i < 50; i++) {
                status = job(own.target("root"), "status", "doomed", "--json");
                if (status.exit() == 0) {
                    break;
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return;
                }
            }
            assertEquals("lost", status.json().get("status"), status.toString());
        }
    }

    @SafeVarargs
    static List<String> words(List<String>... parts) {
        return java.util.Arrays.stream(parts).flatMap(List::stream).toList();
    }

    static Runs.Result jobAsTyped(List<String> args) {
        return Runs.run(args, new byte[0], (out, err, in) -> new JobCommand(out, err));
    }

    /** As README, AGENTS.md and job --help teach it: `job -H HOST list`, and as picocli users expect: `job list -H HOST`. */
    @Test
    void targetOptionsAndJsonWorkBeforeAndAfterTheSubcommand() {
        assertEquals(0, job("start", "--id", "placed", "--", "true").exit());
        List<String> target = vps.target("root");
        List<List<String>> orders = List.of(
                words(target, List.of("list", "--json")),
                words(List.of("list", "--json"), target),
                words(target, List.of("--json", "list")),
                words(target.subList(0, 4), List.of("list"), target.subList(4, target.size()), List.of("--json")));
        for (List<String> args : orders) {
            Runs.Result r = jobAsTyped(args);
            assertEquals(0, r.exit(), "job " + String.join(" ", args) + "\n" + r);
            List<?> jobs = (List<?>) r.json().get("jobs");
            assertTrue(jobs.stream().anyMatch(j -> "placed".equals(((Map<?, ?>) j).get("job"))), r.stdout());
        }
        Runs.Result wait = jobAsTyped(words(target, List.of("wait", "placed", "--max", "20s")));
        assertEquals(0, wait.exit(), wait.toString());
    }

    @Test
    void everySubcommandPrintsItsOwnHelp() {
        for (String sub : List.of("start", "status", "logs", "wait", "kill", "list", "gc")) {
            Runs.Result r = jobAsTyped(List.of(sub, "--help"));
            assertEquals(0, r.exit(), "job " + sub + " --help\n" + r);
            assertTrue(r.stdout().startsWith("Usage: job " + sub + " "), r.stdout());
            assertTrue(r.stdout().contains("--host=HOST"), "the target options are listed: " + r.stdout());
            assertEquals("", r.stderr());
        }
    }

    @Test
    void aUsageErrorPointsAtAHelpThatWorks() {
        Runs.Result bad = jobAsTyped(List.of("list", "--no-such-option"));
        assertEquals(2, bad.exit(), bad.toString());
        String hint = bad.stderr().lines().filter(l -> l.startsWith("hint: see ")).findFirst().orElseThrow(() -> new AssertionError(bad.stderr()));
        assertEquals("hint: see job list --help", hint);
        List<String> words = List.of(hint.substring("hint: see job ".length()).split(" "));
        Runs.Result help = jobAsTyped(words);
        assertEquals(0, help.exit(), help.toString());
        assertTrue(help.stdout().startsWith("Usage: job list "), help.stdout());
    }

    @Test
    void unknownJobIsARemoteError() {
        Runs.Result r = job("status", "no-such-job");
        assertEquals(1, r.exit());
        assertTrue(r.stderr().startsWith("vps: REMOTE: no job 'no-such-job'"), r.stderr());
    }

    /** Reads a remote file until it holds something (at most 10 s): what a job's runner writes as it starts. */
    static String awaitFile(String path) throws InterruptedException {
        for (int i = 0; i < 100; i++) {
            String text = vps.exec("cat " + path + " 2>/dev/null; true").trim();
            if (!text.isEmpty()) {
                return text;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(path + " stayed empty for 10 s");
    }

    /**
     * The runner dies (kill -9) while the command runs on: the job is running and orphaned, with the
     * command's pid; job kill still ends it (its process group lives on without the runner).
     */
    @Test
    void aJobWhoseRunnerDiedIsRunningOrphanedAndJobKillEndsIt() throws Exception {
        job("start", "--id", "orphan", "--", "sleep 3301");
        String folder = "/root/.vps-toolkit/jobs/orphan";
        String runner = awaitFile(folder + "/pid");
        String commandPid = "";
        for (int i = 0; i < 100 && commandPid.isEmpty(); i++) {
            JobCommand.sleep(100);
            commandPid = vps.exec("pgrep -f 'sleep 330[1]' || true").trim();
        }
        try {
            assertTrue(commandPid.matches("[0-9]+"), "the command runs: " + commandPid);
            vps.exec("kill -9 " + runner);
            for (int i = 0; i < 100 && vps.exec("[ -e /proc/" + runner + " ] && echo alive; true").contains("alive"); i++) {
                Thread.sleep(100);   // until PID 1 (sshd) has reaped it
            }
            Runs.Result status = job("status", "orphan", "--json");
            assertEquals(0, status.exit(), status.toString());
            assertEquals("running", status.json().get("status"), status.toString());
            assertEquals(true, status.json().get("orphaned"), status.toString());
            assertEquals(Long.valueOf(commandPid), status.json().get("pid"), status.toString());
            Runs.Result line = job("status", "orphan");
            assertTrue(line.stdout().contains("running (orphaned: its runner died; pid " + commandPid + ")"), line.toString());
            assertEquals(75, job("wait", "orphan", "--max", "1s").exit(), "wait says it still runs");

            Runs.Result kill = job("kill", "orphan", "--json");
            assertEquals(0, kill.exit(), kill.toString());
            assertEquals("killed", kill.json().get("status"), kill.toString());
            assertEquals("", vps.exec("pgrep -f 'sleep 330[1]' || true").trim(), "the command ended");
        } finally {
            vps.exec("pkill -9 -f 'sleep 330[1]'; true");
        }
    }

    /** A job ended by job kill (TERM) says so as exec says it of a command killed by TERM: no exit code, the signal, exit 143. */
    @Test
    void aJobKilledByTermReportsTheSignalAsExecDoes() {
        Map<?, ?> exec = Runs.exec(withTarget("--json", "--", "kill -TERM $$")).json();
        assertEquals("TERM", exec.get("signal"), exec.toString());
        assertEquals(null, exec.get("exitCode"));

        job("start", "--id", "termed", "--", "sleep 3401");
        Runs.Result kill = job("kill", "termed");
        assertEquals(0, kill.exit(), kill.toString());
        assertTrue(kill.stdout().startsWith("termed  killed (signal TERM)  started "), "the status line, on stdout: " + kill);
        Runs.Result status = job("status", "termed", "--json");
        assertEquals("killed", status.json().get("status"), status.toString());
        assertEquals(exec.get("signal"), status.json().get("signal"), status.toString());
        assertEquals(exec.get("exitCode"), status.json().get("exitCode"), status.toString());
        Runs.Result wait = job("wait", "termed");
        assertEquals(143, wait.exit(), "as exec-command exits: " + wait);
        assertTrue(wait.stdout().startsWith("termed  killed (signal TERM)"), "wait prints the status line on stdout as status does: " + wait);
        assertEquals("", wait.stderr(), wait.toString());
        Map<?, ?> listed = (Map<?, ?>) ((List<?>) job("list", "--json").json().get("jobs")).stream()
                .filter(j -> "termed".equals(((Map<?, ?>) j).get("job"))).findFirst().orElseThrow();
        assertEquals("TERM", listed.get("signal"), listed.toString());
    }

    /** What job status, wait and list show is the user's command, never the wrapper that carries its --env values. */
    @Test
    void jobsShowTheUsersCommandAndNoValue() {
        String command = "sleep 3501; echo \"$TOKEN\"";
        Runs.Result detached = Runs.exec(withTarget("--detach-after", "1s", "--env", "TOKEN=s3cret-value", "--json", "--", command));
        assertEquals(75, detached.exit(), detached.toString());
        String id = (String) detached.json().get("job");
        try {
            List<Runs.Result> shown = List.of(job("status", id), job("status", id, "--json"), job("wait", id, "--max", "1s"),
                    job("wait", id, "--max", "1s", "--json"), job("list"), job("list", "--json"));
            for (Runs.Result r : shown) {
                assertTrue(!r.stdout().contains("s3cret") && !r.stderr().contains("s3cret"), "no value shown: " + r);
            }
            assertTrue(shown.get(0).stdout().trim().endsWith("  " + command), shown.get(0).toString());
            assertTrue(shown.get(2).stdout().trim().endsWith("  " + command), shown.get(2).toString());
            Map<?, ?> listed = (Map<?, ?>) ((List<?>) shown.get(5).json().get("jobs")).stream()
                    .filter(j -> id.equals(((Map<?, ?>) j).get("job"))).findFirst().orElseThrow();
            assertEquals(command, listed.get("command"));
            assertEquals(command, shown.get(1).json().get("command"), "status --json names the job's command: " + shown.get(1));
            assertEquals(command, shown.get(3).json().get("command"), "wait --json names the job's command: " + shown.get(3));
            String folder = "/root/.vps-toolkit/jobs/" + id;
            for (int i = 0; i < 100 && vps.exec("[ -e " + folder + "/input ] && echo there; true").contains("there"); i++) {
                JobCommand.sleep(100);   // the runner removes the values' file as it starts the command
            }
            assertEquals("", vps.exec("grep -rl s3cret " + folder + " || true").trim(), "no value in the job's files");
        } finally {
            job("kill", id);
        }
    }

    static List<String> withTarget(String... args) {
        List<String> all = new ArrayList<>(vps.target("root"));
        all.addAll(List.of(args));
        return all;
    }
}

