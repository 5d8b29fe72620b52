import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Users whose login shell is not bash: dana (dash), zed (zsh), fin (fish), tom (tcsh), and alice
 * (bash) to compare. Commands, --cwd, --env, --timeout, signals, jobs, locks and transfers work for
 * each; a login shell that runs nothing (nologin, false) is a CONFIG error (exit 2) naming it, never a success.
 */
class LoginShellsTest extends VpsTestBase {
    /** Values a shell would change if it ever parsed them: zsh's =word, command substitution, quotes, history, globs. */
    static final Map<String, String> HOSTILE = Map.of(
            "A", "=x",
            "B", "$(id) `id` ${HOME}",
            "C", "it's \"quoted\" \\ '",
            "D", "!! !$ !-1",
            "E", "two\nlines",
            "F", "*");

    @BeforeAll
    static void sudoForTheOtherShells() {
        // fin and tom get passwordless sudo here, so that the root step is driven from fish and tcsh too.
        vps.exec("for u in fin tom; do echo \"$u ALL=(ALL) NOPASSWD: ALL\" > /etc/sudoers.d/$u; chmod 0440 /etc/sudoers.d/$u; done");
    }

    @AfterAll
    static void noSudoAnyMore() {
        vps.exec("rm -f /etc/sudoers.d/fin /etc/sudoers.d/tom /tmp/ls-stamp-*");
    }

    private static Runs.Result exec(String user, String... more) {
        return Runs.exec(TestSupport.args(vps.target(user), more));
    }

    @ParameterizedTest
    @ValueSource(strings = {"dana", "zed", "fin", "tom", "alice"})
    void cwdAndHostileEnvValuesArriveExactly(String user) {
        vps.exec("mkdir -p '/tmp/shell dir'; chmod 777 '/tmp/shell dir'");
        List<String> args = new java.util.ArrayList<>(List.of("--cwd", "/tmp/shell dir"));
        HOSTILE.forEach((k, v) -> args.addAll(List.of("--env", k + "=" + v)));
        // printenv (not tcsh's builtin of one name): no shell syntax in the command, so that every login shell runs it alike.
        args.addAll(List.of("--", "pwd; /usr/bin/printenv A B C D E F"));
        Runs.Result r = exec(user, args.toArray(String[]::new));
        assertEquals(0, r.exit(), r.toString());
        StringBuilder expected = new StringBuilder("/tmp/shell dir\n");
        for (String k : List.of("A", "B", "C", "D", "E", "F")) {
            expected.append(HOSTILE.get(k)).append('\n');
        }
        assertEquals(expected.toString(), r.stdout(), r.toString());
        assertEquals("", r.stderr(), "nothing of the toolkit's own on stderr");
    }

    @ParameterizedTest
    @ValueSource(strings = {"dana", "zed", "fin", "tom"})
    void theCommandRunsInTheLoginShellAsWithSsh(String user) {
        Runs.Result r = exec(user, "--", "echo $SHELL");
        assertEquals(0, r.exit(), r.toString());
        String shell = vps.exec("getent passwd " + user + " | cut -d: -f7").trim();
        assertEquals(shell + "\n", r.stdout());
    }

    @ParameterizedTest
    @ValueSource(strings = {"dana", "zed", "fin", "tom"})
    void exitCodesAndSignalsPassThrough(String user) {
        assertEquals(7, exec(user, "--", "exit 7").exit());
        assertEquals(0, exec(user, "--", "true").exit());
        Runs.Result killed = exec(user, "--json", "--", "exec sh -c 'kill -TERM $$'");
        assertEquals("TERM", killed.json().get("signal"), killed.toString());
        assertNull(killed.json().get("exitCode"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"dana", "zed", "fin", "tom"})
    void timeoutKillsTheWholeProcessGroup(String user) {
        int n = 3100 + List.of("dana", "zed", "fin", "tom").indexOf(user);
        Runs.Result r = exec(user, "--timeout", "2s", "--", "sleep " + n + " & sleep " + (n + 10));
        assertEquals(124, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: TIMEOUT: "), r.stderr());
        assertEquals("", vps.exec("pgrep -f 'sleep (" + n + "|" + (n + 10) + ")' || true").trim(), "no sleep survived");
    }

    @ParameterizedTest
    @ValueSource(strings = {"fin", "tom"})
    void sudoWithEnvAndStdin(String user) {
        byte[] input = "from stdin\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Runs.Result r = Runs.exec(TestSupport.args(vps.target(user), "--sudo", "--stdin", "--env", "A==x", "--cwd", "/tmp",
                "--", "id -u; pwd; printenv A; cat"), input);
        assertEquals(0, r.exit(), r.toString());
        assertEquals("0\n/tmp\n=x\nfrom stdin\n", r.stdout());
    }

    @ParameterizedTest
    @ValueSource(strings = {"dana", "zed", "fin", "tom"})
    void jobsDetachedRunsAndLocksWork(String user) {
        List<String> t = vps.target(user);
        String id = "shells-" + user;
        Runs.Result start = JobTest.job(t, "start", "--id", id, "--lock", "shells-" + user, "--", "echo out; sh -c 'echo err >&2'; exit 4");
        assertEquals(0, start.exit(), start.toString());
        assertEquals(4, JobTest.job(t, "wait", id, "--max", "20s").exit());
        assertEquals("out\n", JobTest.job(t, "logs", id).stdout());
        assertEquals("err\n", JobTest.job(t, "logs", id, "--stderr").stdout());
        Map<?, ?> status = JobTest.job(t, "status", id, "--json").json();
        assertEquals("exited", status.get("status"), status.toString());
        assertTrue(JobTest.job(t, "list").stdout().contains(id), "job list finds it");

        Runs.Result detached = exec(user, "--detach-after", "30s", "--env", "V=$(id)", "--lock", "shells", "--", "printenv V");
        assertEquals(0, detached.exit(), detached.toString());
        assertEquals("$(id)\n", detached.stdout());

        Runs.Result locked = exec(user, "--lock", "shells", "--timeout", "20s", "--", "echo locked");
        assertEquals(0, locked.exit(), locked.toString());
        assertEquals("locked\n", locked.stdout());
        Runs.Result gc = JobTest.job(t, "gc", "--older-than", "0s");
        assertEquals(0, gc.exit(), gc.toString());
        assertTrue(!JobTest.job(t, "list").stdout().contains(id), "gc removed it");
    }

    @ParameterizedTest
    @ValueSource(strings = {"fin", "tom"})
    void transfersWork(String user, @TempDir Path dir) throws Exception {
        byte[] data = TransferTest.random(300_000, 3);
        Path src = Files.write(dir.resolve("up.bin"), data);
        Runs.Result put = TransferTest.put(vps.target(user), "--json", src.toString(), "/tmp/shells-" + user + ".bin");
        assertEquals(0, put.exit(), put.toString());
        assertEquals(vps.exec("sha256sum < /tmp/shells-" + user + ".bin").substring(0, 64), put.json().get("sha256"));
        Path back = dir.resolve("back.bin");
        Runs.Result get = TransferTest.get(vps.target(user), "--json", "/tmp/shells-" + user + ".bin", back.toString());
        assertEquals(0, get.exit(), get.toString());
        assertTrue(java.util.Arrays.equals(data, Files.readAllBytes(back)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"fin", "tom"})
    void diagnoseAuthReadsTheAccount(String user) {
        Runs.Result r = DiagnoseAuthTest.diagnose(DiagnoseAuthTest.target(vps.port, user, vps.key, vps.knownHosts));
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.stdout().contains("user " + user + ", home /home/" + user), r.stdout());
    }

    private static String userWithShell(String shell) {
        String user = shell.endsWith("nologin") ? "nolog" : "nofalse";
        vps.exec("id " + user + " >/dev/null 2>&1 || useradd -m -s " + shell + " " + user + "; h=/home/" + user
                + "; mkdir -p $h/.ssh && cp /root/.ssh/authorized_keys $h/.ssh/ && chown -R " + user + " $h/.ssh && chmod 700 $h/.ssh");
        return user;
    }

    @ParameterizedTest
    @ValueSource(strings = {"/usr/sbin/nologin", "/bin/false"})
    void aLoginShellThatRunsNothingIsAConfigError(String shell) {
        String user = userWithShell(shell);
        Runs.Result r = exec(user, "--", "echo should-not-say-this");
        assertEquals(2, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: CONFIG: the login shell of " + user + " on 127.0.0.1 did not run the command"), r.stderr());
        assertTrue(r.stderr().contains("chsh -s /bin/bash " + user), r.stderr());
        Runs.Result job = JobTest.job(vps.target(user), "start", "--", "true");
        assertEquals(2, job.exit(), job.toString());
        assertTrue(job.stderr().startsWith("vps: CONFIG: "), job.stderr());
    }

    /** Where SFTP does not need the login shell (internal-sftp), the error names the shell from /etc/passwd. */
    @org.junit.jupiter.api.Test
    void theErrorNamesTheShellWhenSftpCanReadIt(@TempDir Path dir) throws Exception {
        String user = userWithShell("/usr/sbin/nologin");
        int port = VpsServer.freePort();
        vps.exec("sed 's|^Subsystem.*|Subsystem sftp internal-sftp|' /etc/ssh/sshd_config > /etc/ssh/sshd_config_internal_sftp"
                + " && /usr/sbin/sshd -f /etc/ssh/sshd_config_internal_sftp -p " + port + " -o ListenAddress=127.0.0.1 -o PidFile=/run/sshd-internal-sftp.pid");
        try {
            FaultTest.awaitListening(port);
            Path knownHosts = Files.writeString(dir.resolve("kh"), vps.knownHostsLine(port) + "\n");
            Runs.Result r = Runs.exec(List.of("-H", "127.0.0.1", "-p", Integer.toString(port), "-u", user, "-i", vps.key.toString(),
                    "--known-hosts", knownHosts.toString(), "--", "true"));
            assertEquals(2, r.exit(), r.toString());
            assertTrue(r.stderr().startsWith("vps: CONFIG: the login shell of nolog on 127.0.0.1 (/usr/sbin/nologin) did not run the command"), r.stderr());
        } finally {
            vps.exec("kill $(cat /run/sshd-internal-sftp.pid)");
        }
    }
}
