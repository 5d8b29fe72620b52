import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whole commands run in-process, many at once, each as a call with its own environment, working
 * folder, terminals and interrupt (issue 17: what a long-lived engine JVM does for every client).
 */
class CallScopeTest extends VpsTestBase {
    private static final Environment.Terminals NO_TERMINALS = new Environment.Terminals(false, false, false);

    /** The test's private environment, plus EXTRA: what a caller's shell would hand over. */
    private static Map<String, String> callerEnv(Map<String, String> extra) {
        Map<String, String> env = new HashMap<>(Environment.all());
        env.putAll(extra);
        return env;
    }

    /** A caller that names the shared server's USER at PORT through VPS_* variables only. */
    private static Map<String, String> targetEnv(String user, int port, Path knownHosts) {
        return callerEnv(Map.of("VPS_HOST", "127.0.0.1", "VPS_PORT", Integer.toString(port), "VPS_USER", user,
                "VPS_KEY", vps.key.toString(), "VPS_KNOWN_HOSTS", knownHosts.toString()));
    }

    /** Runs one call of exec-command (or FACTORY's command) on this thread inside its scopes. */
    private static Runs.Result call(Map<String, String> env, Path folder, Environment.Terminals terminals,
                                    Interrupts.Scope interrupts, List<String> args, byte[] stdin, Runs.Factory factory) {
        try (Environment.Scope e = Environment.enter(env, folder, terminals); Interrupts.Registration i = Interrupts.enter(interrupts)) {
            return Runs.run(args, stdin, factory);
        }
    }

    private static Runs.Result exec(Map<String, String> env, Path folder, Interrupts.Scope interrupts, String... args) {
        return call(env, folder, NO_TERMINALS, interrupts, List.of(args), new byte[0], (out, err, in) -> new ExecCommand(out, err, in));
    }

    /** WORK on a thread of its own, started now. */
    private static <T> FutureTask<T> onThread(String name, Callable<T> work) {
        FutureTask<T> task = new FutureTask<>(work);
        new Thread(task, name).start();
        return task;
    }

    private static String marker(String name) {
        return "/tmp/call-scope-" + name + "-" + System.nanoTime();
    }

    @Test
    void twoConcurrentCallsEachReachTheTargetTheirOwnEnvironmentNames(@TempDir Path dir) throws Exception {
        // The process's own environment names a third user: neither call may fall back to it.
        TestSupport.freshEnvironment(Map.of("VPS_HOST", "127.0.0.1", "VPS_PORT", Integer.toString(vps.port), "VPS_USER", "bob"));
        int otherPort = vps.extraSshd();
        Path knownHosts = Files.writeString(dir.resolve("known_hosts"),
                vps.knownHostsLine(vps.port) + "\n" + vps.knownHostsLine(otherPort) + "\n");
        String go = marker("go");
        String started = marker("started");
        String remote = "touch " + started + ".$(id -un); " + VpsServer.waitForFile(go) + "; echo \"$(id -un) on $SSH_CONNECTION\"";
        Interrupts.Scope a = Interrupts.newScope();
        Interrupts.Scope b = Interrupts.newScope();
        FutureTask<Runs.Result> alice = onThread("call-alice", () -> exec(targetEnv("alice", vps.port, knownHosts), dir, a, "--", remote));
        FutureTask<Runs.Result> root = onThread("call-root", () -> exec(targetEnv("root", otherPort, knownHosts), dir, b, "--", remote));
        // Both run on the server at once before either may finish.
        vps.await("test -e " + started + ".alice && test -e " + started + ".root && echo both", "both");
        vps.exec("touch " + go);
        Runs.Result ra = alice.get(60, TimeUnit.SECONDS);
        Runs.Result rr = root.get(60, TimeUnit.SECONDS);
        assertEquals(0, ra.exit(), ra.toString());
        assertEquals(0, rr.exit(), rr.toString());
        assertTrue(ra.stdout().startsWith("alice on ") && ra.stdout().trim().endsWith(" " + vps.port), ra.toString());
        assertTrue(rr.stdout().startsWith("root on ") && rr.stdout().trim().endsWith(" " + otherPort), rr.toString());
        assertEquals("bob", Environment.get("VPS_USER"), "outside the calls the process's environment is unchanged");
    }

    @Test
    void relativePathsStartInTheCallersFolderAndAreShownAsWritten(@TempDir Path dir) throws Exception {
        Path folder = Files.createDirectory(dir.resolve("caller"));
        assertFalse(Files.exists(Path.of("data.bin")) || Files.exists(Path.of("s.sh")), "the JVM's own folder has none of these files");
        Files.copy(vps.key, folder.resolve("key"));
        Files.copy(vps.knownHosts, folder.resolve("known_hosts"));
        Files.writeString(folder.resolve("s.sh"), "echo script-ran-as-$(id -un)\n");
        byte[] data = "bytes from the caller's folder\n".getBytes(StandardCharsets.UTF_8);
        Files.write(folder.resolve("data.bin"), data);
        // Named by relative options only: key, known_hosts, script, sources and destination.
        Map<String, String> env = callerEnv(Map.of());
        List<String> target = List.of("-H", "127.0.0.1", "-p", Integer.toString(vps.port), "-u", "alice",
                "-i", "./key", "--known-hosts", "./known_hosts");
        String remoteDir = "/tmp/call-scope-put-" + System.nanoTime() + "/";

        Runs.Result script = call(env, folder, NO_TERMINALS, Interrupts.newScope(), TestSupport.args(target, "--json", "--script", "./s.sh"),
                new byte[0], (out, err, in) -> new ExecCommand(out, err, in));
        assertEquals(0, script.exit(), script.toString());
        assertEquals("script-ran-as-alice\n", script.json().get("stdout"), script.toString());
        assertEquals("--script ./s.sh", script.json().get("command"), script.toString());

        Runs.Result put = call(env, folder, NO_TERMINALS, Interrupts.newScope(), TestSupport.args(target, "--json", "--mkdir", "./data.bin", remoteDir),
                new byte[0], (out, err, in) -> new SftpPut(out, err, in));
        assertEquals(0, put.exit(), put.toString());
        Map<?, ?> sent = (Map<?, ?>) ((List<?>) put.json().get("files")).get(0);
        assertEquals("./data.bin", sent.get("local"), put.toString());
        assertEquals(new String(data, StandardCharsets.UTF_8), vps.exec("cat " + remoteDir + "data.bin"));

        Runs.Result get = call(env, folder, NO_TERMINALS, Interrupts.newScope(), TestSupport.args(target, "--json", remoteDir + "data.bin", "./back/"),
                new byte[0], (out, err, in) -> new SftpGet(out, err, in));
        assertEquals(0, get.exit(), get.toString());
        Map<?, ?> received = (Map<?, ?>) ((List<?>) get.json().get("files")).get(0);
        assertEquals("./back/data.bin", received.get("local"), get.toString());
        assertTrue(java.util.Arrays.equals(data, Files.readAllBytes(folder.resolve("back/data.bin"))), "written in the caller's folder");
        assertFalse(Files.exists(Path.of("back")), "nothing written in the JVM's own folder");
    }

    @Test
    void interruptingOneCallStopsItsCommandAndReportsOnItsStreamsWhileAnotherCallCompletes(@TempDir Path dir) throws Exception {
        String stoppedStarted = marker("stopped");
        String otherStarted = marker("other");
        String go = marker("go-on");
        Interrupts.Scope stopped = Interrupts.newScope();
        Interrupts.Scope other = Interrupts.newScope();
        Map<String, String> env = targetEnv("root", vps.port, vps.knownHosts);
        FutureTask<Runs.Result> first = onThread("call-stopped", () -> exec(env, dir, stopped, "--json", "--",
                "echo before; touch " + stoppedStarted + "; sleep 3191; echo after"));
        FutureTask<Runs.Result> second = onThread("call-other", () -> exec(env, dir, other, "--",
                "touch " + otherStarted + "; " + VpsServer.waitForFile(go) + "; echo finished"));
        vps.await("test -e " + stoppedStarted + " && test -e " + otherStarted + " && echo both", "both");

        stopped.interrupt();
        Runs.Result r = first.get(60, TimeUnit.SECONDS);
        assertEquals(Interrupts.EXIT, r.exit(), r.toString());
        assertTrue(r.stdout().trim().lines().count() == 1, "one JSON object: " + r);
        Map<?, ?> error = (Map<?, ?>) r.json().get("error");
        assertEquals("INTERRUPTED", error.get("kind"), r.toString());
        assertEquals("before\n", r.json().get("stdout"), r.toString());
        assertTrue(r.stderr().contains("vps: interrupted: the remote command was stopped\nhint: "), r.toString());
        assertEquals(1, r.stderr().split("vps: ", -1).length - 1, "one report: " + r);
        vps.await("pgrep -f 'sleep 319[1]' > /dev/null && echo running || echo gone", "gone");
        assertFalse(Interrupts.happened(), "the process's own scope was not interrupted");

        vps.exec("touch " + go);
        Runs.Result o = second.get(60, TimeUnit.SECONDS);
        assertEquals(0, o.exit(), o.toString());
        assertEquals("finished\n", o.stdout(), o.toString());
        assertFalse(o.stderr().contains("interrupted"), o.toString());
    }

    @Test
    void aCallInterruptedBeforeItsCommandStartedStartsNothingAndReportsOnce(@TempDir Path dir) {
        String ran = marker("never");
        Interrupts.Scope scope = Interrupts.newScope();
        scope.interrupt();
        Runs.Result r = exec(targetEnv("root", vps.port, vps.knownHosts), dir, scope, "--", "touch " + ran);
        assertEquals(Interrupts.EXIT, r.exit(), r.toString());
        assertEquals("vps: interrupted: no command was started", r.stderr().lines().findFirst().orElse(""), r.toString());
        assertEquals(1, r.stderr().split("vps: ", -1).length - 1, "one report: " + r);
        assertEquals("absent", vps.exec("test -e " + ran + " && echo present || echo absent").trim());
    }

    @Test
    void theCallersTerminalsReachTheCodeThatAsks(@TempDir Path dir) {
        Environment.Terminals stdinIsATerminal = new Environment.Terminals(true, false, false);
        Map<String, String> env = targetEnv("root", vps.port, vps.knownHosts);
        Runs.Result script = call(env, dir, stdinIsATerminal, Interrupts.newScope(), List.of("--script", "-"),
                "echo piped".getBytes(StandardCharsets.UTF_8), (out, err, in) -> new ExecCommand(out, err, in));
        assertEquals(2, script.exit(), script.toString());
        assertTrue(script.stderr().startsWith("vps: CONFIG: --script - reads stdin, which is your terminal here"), script.toString());

        Runs.Result put = call(env, dir, stdinIsATerminal, Interrupts.newScope(), List.of("-", "/tmp/never-written"),
                new byte[0], (out, err, in) -> new SftpPut(out, err, in));
        assertEquals(2, put.exit(), put.toString());
        assertTrue(put.stderr().startsWith("vps: CONFIG: '-' reads stdin, which is your terminal here"), put.toString());

        Runs.Result piped = call(env, dir, NO_TERMINALS, Interrupts.newScope(), List.of("--script", "-"),
                "echo piped".getBytes(StandardCharsets.UTF_8), (out, err, in) -> new ExecCommand(out, err, in));
        assertEquals(0, piped.exit(), piped.toString());
        assertEquals("piped\n", piped.stdout(), piped.toString());

        // --help is colored as picocli colors it for a terminal: the caller's, not this JVM's (which has none).
        Runs.Result colored = call(env, dir, new Environment.Terminals(false, true, false), Interrupts.newScope(), List.of("--help"),
                new byte[0], (out, err, in) -> new ExecCommand(out, err, in));
        assertEquals(0, colored.exit(), colored.toString());
        assertTrue(colored.stdout().contains("\u001B["), colored.toString());
        Runs.Result plain = call(env, dir, NO_TERMINALS, Interrupts.newScope(), List.of("--help"),
                new byte[0], (out, err, in) -> new ExecCommand(out, err, in));
        assertEquals(0, plain.exit(), plain.toString());
        assertFalse(plain.stdout().contains("\u001B["), plain.toString());
    }
}
