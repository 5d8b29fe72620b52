import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The warm path as a user runs it: bin/vps (bash and OpenSSH's ssh) hands calls to the engine, a
 * background JVM that keeps logins warm. Real processes, the OpenSSH container as the target.
 */
class EngineTest extends VpsTestBase {
    static final Path ROOT = EndToEndTest.ROOT;
    static Path home;
    static Path folder;
    static final java.util.Set<Path> SANDBOXES = java.util.concurrent.ConcurrentHashMap.newKeySet();

    record Proc(int exit, String stdout, String stderr, long millis) {
        @Override
        public String toString() {
            return "exit " + exit + " after " + millis + " ms\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
        }
    }

    @BeforeAll
    static void engine() throws Exception {
        home = privateTemp("vps-engine-home");
        folder = Files.createTempDirectory("vps-engine-cwd");
        startEngine(home);
    }

    @AfterAll
    static void stopEngines() throws Exception {
        stop(home);
    }

    static Path privateTemp(String prefix) throws IOException {
        return Files.createTempDirectory(prefix, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }

    /** The first call finds no engine: it runs cold and starts one; the test waits until that one answers. */
    static void startEngine(Path toolkitHome) throws Exception {
        Proc first = vps(toolkitHome, null, "exec", "--sandbox", "--", "echo cold");
        assertEquals(0, first.exit(), first.toString());
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);   // a fresh machine compiles the engine first
        while (pid(toolkitHome) == 0 || vps(toolkitHome, null, "connection", "status").exit() != 0) {
            assertTrue(System.nanoTime() < deadline, "no engine answered within 3 minutes; its log:\n" + log(toolkitHome));
            Thread.sleep(200);
        }
    }

    /** Waits until an engine other than NOT_PID serves TOOLKIT_HOME: a successor starts in the background. */
    static long awaitSuccessor(Path toolkitHome, long notPid) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (true) {
            long pid = pid(toolkitHome);
            if (pid != 0 && pid != notPid && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                return pid;
            }
            assertTrue(System.nanoTime() < deadline, "no new engine started within 3 minutes; its log:\n" + log(toolkitHome));
            Thread.sleep(200);
        }
    }

    static void stop(Path toolkitHome) throws Exception {
        long pid = pid(toolkitHome);
        vps(toolkitHome, null, "connection", "stop", "--all");
        if (pid != 0) {
            ProcessHandle.of(pid).ifPresent(p -> {
                p.destroy();
                p.onExit().orTimeout(10, TimeUnit.SECONDS).exceptionally(t -> null).join();
            });
        }
    }

    static long pid(Path toolkitHome) {
        try {
            return Long.parseLong(Files.readString(toolkitHome.resolve("engine/port")).trim().split(" ")[1]);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    static String log(Path toolkitHome) {
        try {
            return Files.readString(toolkitHome.resolve("engine/log"));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    static ProcessBuilder client(Path toolkitHome, String stdin, String... args) {
        if (SANDBOXES.add(toolkitHome)) {
            TestSupport.sandbox(toolkitHome.resolve("sandbox"));   // the sandbox a --sandbox call starts ends with the run
        }
        List<String> command = new ArrayList<>(List.of(ROOT.resolve("bin/vps").toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(folder.toFile());
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("VPS_"));
        env.put("VPS_TOOLKIT_HOME", toolkitHome.toString());
        env.put("VPS_SSH_CONFIG", "/dev/null");
        env.put("VPS_SANDBOX_DIR", toolkitHome.resolve("sandbox").toString());
        pb.redirectInput(stdin == null ? ProcessBuilder.Redirect.from(new File("/dev/null")) : ProcessBuilder.Redirect.PIPE);
        return pb;
    }

    static Proc vps(Path toolkitHome, String stdin, String... args) throws Exception {
        return finish(start(client(toolkitHome, stdin, args), stdin), 120);
    }

    static Proc vps(String... args) throws Exception {
        return vps(home, null, args);
    }

    record Running(Process process, Path out, Path err, long started) {}

    static Running start(ProcessBuilder pb, String stdin) throws IOException {
        Path out = Files.createTempFile("vps-engine", ".out");
        Path err = Files.createTempFile("vps-engine", ".err");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (stdin != null) {
            p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().close();
        }
        return new Running(p, out, err, System.nanoTime());
    }

    static Proc finish(Running r, int seconds) throws Exception {
        if (!Processes.waitOrKill(r.process(), Duration.ofSeconds(seconds))) {
            throw new AssertionError("bin/vps did not end within " + seconds + " s");
        }
        return new Proc(r.process().exitValue(), Files.readString(r.out()), Files.readString(r.err()),
                (System.nanoTime() - r.started()) / 1_000_000);
    }

    static String[] exec(String... more) {
        List<String> all = new ArrayList<>(List.of("exec"));
        all.addAll(vps.target("root"));
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    @Test
    void warmCallsPrintWhatAColdCallPrintsAndLogInOnce() throws Exception {
        String command = "echo out; echo err >&2; exit 3";
        ProcessBuilder coldCall = client(home, null, exec("--", command));
        coldCall.environment().put("VPS_ENGINE", "0");
        Proc cold = finish(start(coldCall, null), 120);
        assertEquals(3, cold.exit(), cold.toString());
        long before = vps.logins();
        for (int i = 0; i < 5; i++) {
            Proc warm = vps(exec("--", command));
            assertEquals(cold.exit(), warm.exit(), warm.toString());
            assertEquals(cold.stdout(), warm.stdout(), "call " + i + ": " + warm + "\ncold: " + cold);
            assertEquals(cold.stderr(), warm.stderr());
        }
        assertTrue(vps.logins() - before <= 1, "5 warm calls: at most one login on the server, got " + (vps.logins() - before));
        Proc json = vps(exec("--json", "--", command));
        Map<?, ?> j = Json.read(json.stdout(), Map.class);
        assertEquals(3, json.exit(), json.toString());
        assertEquals("out\n", j.get("stdout"));
        assertEquals("err\n", j.get("stderr"));
        assertEquals(3L, j.get("exitCode"));
    }

    /**
     * A call runs once, whatever its exit status: 255 from the engine is the call's own answer, and a
     * lost status is read from the engine's marker, never taken for "no engine" (which runs it cold).
     */
    @Test
    void everyCallRunsExactlyOnce() throws Exception {
        String file = "/tmp/engine-once-" + System.nanoTime();
        int[] codes = {0, 3, 255};
        for (int i = 0; i < 30; i++) {
            int code = codes[i % codes.length];
            Proc r = vps(exec("--", "echo ran >> " + file + "; exit " + code));
            assertEquals(code, r.exit(), "call " + i + ": " + r);
        }
        assertEquals("30", vps.exec("wc -l < " + file).trim(), "30 calls, 30 runs");
    }

    /**
     * A confirm rule through the warm path, for a person at a terminal (issue 20): the engine cannot ask
     * at the client's terminal, so it answers "not run" and bin/vps runs the call cold, where the person
     * is asked on /dev/tty and a yes runs it. (`script` gives the client a terminal.)
     */
    @Test
    void aConfirmAtATerminalIsAskedThereThroughTheWarmPath() throws Exception {
        Path policy = Files.writeString(folder.resolve("confirm-policy.yaml"), "default:\n  mode: confirm\n");
        String marker = "/tmp/engine-confirm-" + System.nanoTime();
        ProcessBuilder pb = client(home, "", exec("--", "touch " + marker));
        pb.environment().put("VPS_POLICY", policy.toString());
        String line = String.join(" ", pb.command().stream().map(ShellQuote::quote).toList());
        pb.command("script", "-qec", line, "/dev/null");
        Path out = Files.createTempFile("vps-engine-confirm", ".out");
        Process p = pb.redirectErrorStream(true).redirectOutput(out.toFile()).start();
        try {
            p.getOutputStream().write("y\n".getBytes(StandardCharsets.UTF_8));   // typed at the terminal; read when asked
            p.getOutputStream().flush();
            assertTrue(Processes.waitOrKill(p, Duration.ofSeconds(120)), "the call did not end: " + Files.readString(out));
        } finally {
            p.getOutputStream().close();
        }
        String said = Files.readString(out);
        assertEquals(0, p.exitValue(), said);
        assertTrue(said.contains("Run it? [y/N]"), "the person was asked: " + said);
        assertEquals("yes", vps.exec("test -e " + marker + " && echo yes || echo no").trim(), said);
        assertTrue(log(home).contains(" runs cold at the client: it needs the client's terminal"), log(home));

        // A host set is not run again cold (some hosts may have run): each host that needs the yes says how to give it.
        List<String> fleet = new ArrayList<>(List.of(exec("--", "touch " + marker + "-fleet")));
        fleet.set(fleet.indexOf("-H") + 1, "127.0.0.1,localhost");
        ProcessBuilder set = client(home, "", fleet.toArray(String[]::new));
        set.environment().put("VPS_POLICY", policy.toString());
        set.command("script", "-qec", String.join(" ", set.command().stream().map(ShellQuote::quote).toList()), "/dev/null");
        Path setOut = Files.createTempFile("vps-engine-confirm", ".out");
        Process q = set.redirectErrorStream(true).redirectOutput(setOut.toFile()).start();
        try {
            assertTrue(Processes.waitOrKill(q, Duration.ofSeconds(120)), "the call did not end: " + Files.readString(setOut));
        } finally {
            q.getOutputStream().close();
        }
        String setSaid = Files.readString(setOut);
        assertEquals(1, q.exitValue(), setSaid);
        assertTrue(setSaid.contains("localhost: vps: POLICY: the owner's policy asks a person to confirm this on localhost"), setSaid);
        assertTrue(setSaid.contains("fleet: 0 ok, 2 failed"), setSaid);
        assertEquals("no", vps.exec("test -e " + marker + "-fleet && echo yes || echo no").trim());
    }

    /** A host set through the engine (issue 19): each host gets one warm login, and the next call leases it again. */
    @Test
    void aHostSetKeepsOneWarmLoginPerHost() throws Exception {
        try (VpsServer.FleetSshd a = vps.fleetSshd("a"); VpsServer.FleetSshd b = vps.fleetSshd("b")) {
            Path known = Files.writeString(Files.createTempFile(folder, "known", ""),
                    vps.knownHostsLine(a.port()) + "\n" + vps.knownHostsLine(b.port()) + "\n");
            String hosts = "root@127.0.0.1:" + a.port() + ",root@127.0.0.1:" + b.port();
            String[] call = {"exec", "-H", hosts, "-i", vps.key.toString(), "--known-hosts", known.toString(), "--", "echo $FLEET_NAME"};
            Map<String, Object> first = null;
            for (int i = 0; i < 3; i++) {
                Proc r = vps(call);
                assertEquals(0, r.exit(), r.toString());
                assertTrue(r.stdout().contains("root@127.0.0.1:" + a.port() + ": a\n") && r.stdout().contains("root@127.0.0.1:" + b.port() + ": b\n"), r.toString());
                Map<String, Object> sessions = warmSessions(a.port(), b.port());
                if (first == null) {
                    first = sessions;
                }
                assertEquals(first, sessions, "call " + i + ": the same login per host, none new");
            }
        }
    }

    /** The engine's warm sessions to 127.0.0.1 on PORTS: target -> since (when its login was made). */
    private static Map<String, Object> warmSessions(int... ports) throws Exception {
        Proc status = vps("connection", "status", "--json");
        Map<String, Object> since = new java.util.TreeMap<>();
        for (Object o : (List<?>) Json.read(status.stdout(), Map.class).get("targets")) {
            Map<?, ?> t = (Map<?, ?>) o;
            for (int port : ports) {
                if (String.valueOf(t.get("target")).endsWith(":" + port)) {
                    assertEquals(null, since.put(String.valueOf(t.get("target")), t.get("since")), "one session per host: " + status);
                }
            }
        }
        assertEquals(ports.length, since.size(), status.toString());
        return since;
    }

    @Test
    void aKilledEngineIsANetworkErrorWithinFiveSeconds() throws Exception {
        Path own = privateTemp("vps-engine-kill");
        startEngine(own);
        String marker = "/tmp/engine-kill-" + System.nanoTime();
        Running call = start(client(own, null, exec("--", "touch " + marker + "; sleep 60")), null);
        vps.await("test -e " + marker + " && echo yes", "yes");
        long killedAt = System.nanoTime();
        long killed = pid(own);
        ProcessHandle.of(killed).orElseThrow().destroyForcibly();
        Proc r = finish(call, 30);
        long afterKill = (System.nanoTime() - killedAt) / 1_000_000;
        assertEquals(255, r.exit(), r.toString());
        assertTrue(r.stderr().contains("vps: NETWORK: the engine ended during the call"), r.stderr());
        assertTrue(afterKill < 5000, "the client ended " + afterKill + " ms after the engine was killed");
        Proc next = vps(own, null, exec("--", "echo after"));
        assertEquals(0, next.exit(), next.toString());
        assertEquals("after\n", next.stdout(), "the next call runs (cold, starting a new engine)");
        awaitSuccessor(own, killed);   // stopped below, not left running after the test
        stop(own);
    }

    @Test
    void ctrlCStopsTheRemoteCommandAndReportsAsAColdCallDoes() throws Exception {
        String marker = "/tmp/engine-int-" + System.nanoTime();
        Running call = start(client(home, null, exec("--json", "--", "touch " + marker + "; exec sleep 77")), null);
        vps.await("test -e " + marker + " && echo yes", "yes");
        vps.await("pgrep -f '[s]leep 77' >/dev/null && echo yes", "yes");
        new ProcessBuilder("kill", "-INT", Long.toString(call.process().pid())).start().waitFor();
        Proc r = finish(call, 30);
        assertEquals(130, r.exit(), r.toString());
        Map<?, ?> j = Json.read(r.stdout(), Map.class);
        assertEquals("INTERRUPTED", ((Map<?, ?>) j.get("error")).get("kind"), r.stdout());
        vps.await("pgrep -f '[s]leep 77' >/dev/null && echo running || echo gone", "gone");
    }

    /** Calls on one warm login share JSch's one reader thread: a client that reads nothing must not stall the others. */
    @Test
    void aClientThatReadsNothingStallsNoOtherCall() throws Exception {
        String marker = "/tmp/engine-unread-" + System.nanoTime();
        ProcessBuilder unread = client(home, null, exec("--", "head -c 20000000 /dev/zero; touch " + marker));
        Process silent = unread.redirectOutput(ProcessBuilder.Redirect.PIPE).start();   // its stdout is never read
        try {
            vps.await("test -e " + marker + " && echo yes", "yes");   // all 20 MB left the server
            Proc other = finish(start(client(home, null, exec("--", "echo meanwhile")), null), 30);
            assertEquals(0, other.exit(), other.toString());
            assertEquals("meanwhile\n", other.stdout());
        } finally {
            silent.descendants().forEach(ProcessHandle::destroyForcibly);
            silent.destroyForcibly();
        }
    }

    @Test
    void aKilledClientStopsTheRemoteCommand() throws Exception {
        String marker = "/tmp/engine-kill9-" + System.nanoTime();
        Running call = start(client(home, null, exec("--", "touch " + marker + "; exec sleep 78")), null);
        vps.await("test -e " + marker + " && echo yes", "yes");
        vps.await("pgrep -f '[s]leep 78' >/dev/null && echo yes", "yes");
        call.process().destroyForcibly();   // SIGKILL to bash only: its ssh lives on, the engine notices the pid
        call.process().waitFor(10, TimeUnit.SECONDS);
        vps.await("pgrep -f '[s]leep 78' >/dev/null && echo running || echo gone", "gone");
    }

    /** `./jbang install --bin DIR` puts vps on PATH; it works from any folder, and so does a symlink to bin/vps. */
    @Test
    void installPutsVpsOnThePath() throws Exception {
        Path bin = Files.createTempDirectory("vps-bin");
        ProcessBuilder install = new ProcessBuilder(ROOT.resolve("jbang").toString(), "install", "--bin", bin.toString())
                .directory(folder.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Proc r = finish(start(install, null), 300);
        assertEquals(0, r.exit(), r.toString());
        assertTrue(Files.isExecutable(bin.resolve("vps")), r.toString());
        assertTrue(r.stdout().contains("installed " + bin.resolve("vps")), r.stdout());
        ProcessBuilder viaPath = client(home, null);
        viaPath.command(List.of("bash", "-c", "vps exec --sandbox -- echo from the path"));
        viaPath.environment().put("PATH", bin + File.pathSeparator + System.getenv("PATH"));
        Proc call = finish(start(viaPath, null), 120);
        assertEquals(0, call.exit(), call.toString());
        assertEquals("from the path\n", call.stdout());
        Path link = Files.createTempDirectory("vps-link").resolve("vps");
        Files.createSymbolicLink(link, ROOT.resolve("bin/vps"));
        ProcessBuilder viaLink = client(home, null, "exec", "--sandbox", "--", "echo through a link");
        viaLink.command().set(0, link.toString());
        Proc linked = finish(start(viaLink, null), 120);
        assertEquals("through a link\n", linked.stdout(), linked.toString());
    }

    @Test
    void stdinReachesTheCommandOnlyWhenAsked() throws Exception {
        Proc without = vps(home, "local input\n", exec("--", "cat"));
        assertEquals(0, without.exit(), without.toString());
        assertEquals("", without.stdout(), "like ssh -n: a loop's input is never swallowed");
        Proc with = vps(home, "local input\n", exec("--stdin", "--", "cat"));
        assertEquals(0, with.exit(), with.toString());
        assertEquals("local input\n", with.stdout());
    }

    @Test
    void relativePathsAreTheCallersFolder() throws Exception {
        Files.writeString(folder.resolve("here.txt"), "from the caller's folder\n");
        String remote = "/tmp/engine-put-" + System.nanoTime();
        List<String> args = new ArrayList<>(List.of("put"));
        args.addAll(vps.target("root"));
        args.addAll(List.of("--mkdir", "here.txt", remote + "/"));
        Proc r = vps(args.toArray(String[]::new));
        assertEquals(0, r.exit(), r.toString());
        assertEquals("from the caller's folder", vps.exec("cat " + remote + "/here.txt").trim());
    }

    @Test
    void anEngineFromOlderSourcesIsRetiredNotUsed() throws Exception {
        // A copy of the toolkit whose launcher is ours: same compiled scripts, its own files to change.
        Path copy = Files.createTempDirectory("vps-engine-sources");
        Files.createDirectories(copy.resolve("bin"));
        Files.copy(ROOT.resolve("bin/vps"), copy.resolve("bin/vps"));
        Files.createSymbolicLink(copy.resolve("jbang"), ROOT.resolve("jbang"));
        Files.createDirectories(copy.resolve("lib"));
        Files.writeString(copy.resolve("lib/Marker.java"), "// version 1\n");
        Path own = privateTemp("vps-engine-retire");
        ProcessBuilder first = client(own, null, "exec", "--sandbox", "--", "echo one");
        first.command().set(0, copy.resolve("bin/vps").toString());
        assertEquals(0, finish(start(first, null), 120).exit());
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (pid(own) == 0) {
            assertTrue(System.nanoTime() < deadline, "no engine started:\n" + log(own));
            Thread.sleep(200);
        }
        long old = pid(own);
        Files.writeString(copy.resolve("lib/Marker.java"), "// version 2, changed\n");
        ProcessBuilder after = client(own, null, "exec", "--sandbox", "--", "echo two");
        after.command().set(0, copy.resolve("bin/vps").toString());
        Proc r = finish(start(after, null), 120);
        assertEquals(0, r.exit(), r.toString());
        assertEquals("two\n", r.stdout(), "the call ran once, cold");
        assertTrue(ProcessHandle.of(old).map(p -> p.onExit().orTimeout(20, TimeUnit.SECONDS).exceptionally(t -> p).join())
                .map(p -> !p.isAlive()).orElse(true), "the retired engine ends");
        assertNotEquals(old, awaitSuccessor(own, old), "a successor serves the changed sources");
        stop(own);
    }

    @Test
    void onlyThisUsersKeyFrom127001IsLetIn() throws Exception {
        long port = Long.parseLong(Files.readString(home.resolve("engine/port")).trim().split(" ")[0]);
        Path stranger = Files.createTempDirectory("vps-stranger").resolve("key");
        VpsServer.writeKeyPair(stranger);
        List<String> base = List.of("ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-p", Long.toString(port), "-l", "vps");
        List<String> wrongKey = new ArrayList<>(base);
        wrongKey.addAll(List.of("-i", stranger.toString(), "127.0.0.1", "connection"));
        Proc r = run(wrongKey);
        assertEquals(255, r.exit(), r.toString());
        assertTrue(r.stderr().contains("Permission denied"), r.stderr());
        List<String> otherAddress = new ArrayList<>(base);
        otherAddress.addAll(List.of("-b", "127.0.0.2", "-i", home.resolve("engine/client_key").toString(), "127.0.0.1", "connection"));
        Proc r2 = run(otherAddress);
        assertEquals(255, r2.exit(), "the right key from 127.0.0.2 is refused too: " + r2);
    }

    /** Another local user has neither the key (0600 in a 0700 folder) nor the way into ssh's control socket. */
    @Test
    void anotherLocalUserIsRefused() throws Exception {
        long port = Long.parseLong(Files.readString(home.resolve("engine/port")).trim().split(" ")[0]);
        Path theirs = Files.createTempDirectory("vps-other-key");
        Path key = theirs.resolve("key");
        VpsServer.writeKeyPair(key);
        int uid = OtherUser.uid();
        for (Path p : List.of(theirs, key, theirs.resolve("key.pub"))) {
            Files.setAttribute(p, "unix:uid", uid);
        }
        OtherUser.Result ownKey = OtherUser.run("ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes", "-i", key.toString(), "-p", Long.toString(port),
                "-l", "vps", "127.0.0.1", "connection", "status");
        assertEquals(255, ownKey.exit(), ownKey.output());
        assertTrue(ownKey.output().contains("Permission denied"), ownKey.output());
        OtherUser.Result engineKey = OtherUser.run("cat", home.resolve("engine/client_key").toString());
        assertNotEquals(0, engineKey.exit(), "the engine's client key is not theirs to read: " + engineKey.output());
        OtherUser.Result control = OtherUser.run("ssh", "-F", "/dev/null", "-S", home.resolve("engine/ctl").toString(), "-O", "check", "vps-engine");
        assertNotEquals(0, control.exit(), "ssh's control socket is not theirs to use: " + control.output());
    }

    static Proc run(List<String> command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        return finish(start(pb, null), 30);
    }

    @Test
    void aPlantedLinkAtTheEngineFolderIsNeverUsed() throws Exception {
        Path own = privateTemp("vps-engine-planted");
        Path elsewhere = privateTemp("vps-engine-elsewhere");
        Files.createSymbolicLink(own.resolve("engine"), elsewhere);
        Proc r = vps(own, null, "exec", "--sandbox", "--", "echo still runs");
        assertEquals("still runs\n", r.stdout(), r.toString());
        assertFalse(Files.exists(elsewhere.resolve("starting")), "no engine is started behind a link");
        assertFalse(Files.exists(elsewhere.resolve("port")), "no engine serves from behind a link");
        assertFalse(Files.exists(elsewhere.resolve("client_key")), "no key is written behind a link");
    }
}
