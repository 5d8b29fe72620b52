import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Another user of the server (bob) lists every process with `ps -eo args` while a command runs:
 * no --env value, no sudo line and no lock wrapper may be in it. The command waits on a FIFO that
 * the test opens only after its snapshot, so the snapshot is taken while it runs, every time.
 */
class ProcessListTest extends VpsTestBase {
    private static final String SECRET = "s3cr3t-value-4711";

    /** Runs ARGS (exec-command) with a command that says it started, waits on a FIFO, then prints its SECRET_ISH; returns bob's view meanwhile. */
    private static String psWhileRunning(String user, String tag, String... args) throws Exception {
        String fifo = "/tmp/pl-" + tag + ".fifo";
        String ready = "/tmp/pl-" + tag + ".ready";
        vps.exec("rm -f " + fifo + " " + ready + "; mkfifo -m 666 " + fifo);
        List<String> all = new java.util.ArrayList<>(List.of(args));
        all.addAll(List.of("--env", "SECRET_ISH=" + SECRET, "--timeout", "60s", "--",
                "touch " + ready + "; read go < " + fifo + "; printenv SECRET_ISH"));
        CompletableFuture<Runs.Result> run = CompletableFuture.supplyAsync(() -> Runs.exec(TestSupport.args(vps.target(user), all.toArray(String[]::new))));
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!vps.exec("[ -e " + ready + " ] && echo yes || true").contains("yes")) {
            assertTrue(System.nanoTime() < deadline && !run.isDone(), () -> "the command did not start: " + (run.isDone() ? run.join() : "still waiting"));
            Thread.sleep(50);
        }
        String ps = vps.exec("runuser -u bob -- ps -eo args");
        vps.exec("timeout 10 sh -c 'echo go > " + fifo + "'");
        Runs.Result r = run.get(60, TimeUnit.SECONDS);
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.stdout().endsWith(SECRET + "\n"), "the command got the value: " + r);
        assertTrue(ps.contains("read go < " + fifo), "the snapshot shows the running command itself (as ssh would):\n" + ps);
        return ps;
    }

    private static void assertNothingPrivate(String ps) {
        assertFalse(ps.contains(SECRET), "bob sees the --env value:\n" + ps);
        assertFalse(ps.contains("SECRET_ISH="), "bob sees the --env assignment:\n" + ps);
        assertFalse(ps.contains("DEBIAN_FRONTEND"), "bob sees the toolkit's environment line:\n" + ps);
        assertFalse(ps.contains("flock") || ps.contains(".vps-toolkit/locks"), "bob sees the lock wrapper:\n" + ps);
        assertFalse(ps.contains("sudo -n -- env"), "bob sees the sudo line:\n" + ps);
    }

    /**
     * The login shell itself, held in zed's .zshenv (zsh reads it for every `zsh -c`) before it runs
     * what the toolkit sent: its argv is the exec request, which must hold no value.
     */
    @Test
    void theLoginShellsCommandLineHoldsNoValue() throws Exception {
        String fifo = "/tmp/pl-rc.fifo";
        vps.exec("rm -f " + fifo + " /tmp/pl-rc.waiting; mkfifo -m 666 " + fifo + "; runuser -u zed -- touch /tmp/pl-rc.armed;"
                + " printf '%s\\n' 'if [ -e /tmp/pl-rc.armed ]; then rm -f /tmp/pl-rc.armed; touch /tmp/pl-rc.waiting; read x < " + fifo + "; fi'"
                + " > /home/zed/.zshenv; chown zed /home/zed/.zshenv");
        try {
            CompletableFuture<Runs.Result> run = CompletableFuture.supplyAsync(() -> Runs.exec(TestSupport.args(vps.target("zed"),
                    "--env", "SECRET_ISH=" + SECRET, "--cwd", "/tmp", "--timeout", "60s", "--", "printenv SECRET_ISH")));
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (!vps.exec("[ -e /tmp/pl-rc.waiting ] && echo yes || true").contains("yes")) {
                assertTrue(System.nanoTime() < deadline && !run.isDone(), () -> "the login shell did not start: " + (run.isDone() ? run.join() : "still waiting"));
                Thread.sleep(50);
            }
            String ps = vps.exec("runuser -u bob -- ps -eo args");
            vps.exec("timeout 10 sh -c 'echo go > " + fifo + "'");
            Runs.Result r = run.get(60, TimeUnit.SECONDS);
            assertEquals(0, r.exit(), r.toString());
            assertEquals(SECRET + "\n", r.stdout());
            assertTrue(ps.contains("zsh -c"), "the snapshot shows the waiting login shell:\n" + ps);
            assertNothingPrivate(ps);
        } finally {
            vps.exec("rm -f /home/zed/.zshenv /tmp/pl-rc.armed");
        }
    }

    @Test
    void aCommandWithEnvShowsNoValue() throws Exception {
        assertNothingPrivate(psWhileRunning("root", "plain", "--cwd", "/tmp"));
    }

    @Test
    void sudoAndALockShowNoValueAndNoWrapper() throws Exception {
        String ps = psWhileRunning("alice", "sudo", "--sudo", "--lock", "pl-lock");
        assertNothingPrivate(ps);
    }

    @Test
    void aDetachedJobShowsNoValueAndKeepsItInNoReadableFile() throws Exception {
        String ps = psWhileRunning("root", "job", "--detach-after", "50s", "--lock", "pl-job-lock");
        assertNothingPrivate(ps);
        assertEquals("700", vps.exec("stat -c %a /root/.vps-toolkit/jobs").trim());
        String holders = vps.exec("grep -rl " + SECRET + " /root/.vps-toolkit/jobs/*/ 2>/dev/null | grep -v '/stdout$' || true").trim();
        for (String file : holders.isEmpty() ? List.<String>of() : List.of(holders.split("\n"))) {
            assertEquals("600", vps.exec("stat -c %a '" + file + "'").trim(), file + " holds the value");
        }
    }

    @Test
    void theLocalCommandLineCanLeaveTheValueOut() {
        TestSupport.freshEnvironment(java.util.Map.of("SECRET_ISH", SECRET));
        Runs.Result r = Runs.exec(TestSupport.args(vps.target("root"), "--env", "SECRET_ISH", "--", "printenv SECRET_ISH"));
        assertEquals(0, r.exit(), r.toString());
        assertEquals(SECRET + "\n", r.stdout());
        Runs.Result missing = Runs.exec(TestSupport.args(vps.target("root"), "--env", "NOT_SET_HERE", "--", "true"));
        assertEquals(2, missing.exit(), missing.toString());
        assertTrue(missing.stderr().startsWith("vps: CONFIG: --env NOT_SET_HERE: there is no local variable"), missing.stderr());
    }
}
