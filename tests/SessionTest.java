import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Sessions on a real OpenSSH server: interactive programs that live there across calls, clients and links. */
class SessionTest extends VpsTestBase {
    static Runs.Result sessionAs(String user, String... args) {
        List<String> all = new ArrayList<>();
        all.add(args[0]);
        all.addAll(vps.target(user));
        all.addAll(List.of(args).subList(1, args.length));
        return Runs.run(all, new byte[0], (out, err, in) -> new SessionCommand(out, err));
    }

    static Runs.Result session(String... args) {
        return sessionAs("root", args);
    }

    /** Opens CMD as USER with OPTIONS and returns the session id. */
    static String open(String user, String... optionsAndCommand) {
        List<String> args = new ArrayList<>(List.of("open", "--json"));
        args.addAll(List.of(optionsAndCommand));
        Runs.Result r = sessionAs(user, args.toArray(String[]::new));
        assertEquals(0, r.exit(), r.toString());
        assertEquals("running", r.json().get("status"), r.toString());
        return (String) r.json().get("session");
    }

    static Map<?, ?> readUntil(String user, String id, long from, String regex) {
        Runs.Result r = sessionAs(user, "read", id, "--from", Long.toString(from), "--wait-for", regex, "--max", "20s", "--json");
        assertEquals(0, r.exit(), r.toString());
        assertEquals(true, r.json().get("matched"), r.toString());
        return r.json();
    }

    static long next(Map<?, ?> reading) {
        return ((Number) reading.get("next")).longValue();
    }

    /** A session's processes, found by the mark every one of them carries in its environment. */
    static String processesOf(String id) {
        return vps.exec("grep -lzxF VPS_SESSION=" + id + " /proc/[0-9]*/environ 2>/dev/null || true").trim();
    }

    @Test
    void anInteractiveShellKeepsItsStateAcrossCallsAndAKilledClient() throws Exception {
        String id = open("root", "--", "sh", "-i");
        assertEquals(0, session("send", id, "x=42\\n").exit());

        // A real client process, killed with -9 while it waits in a read on the server.
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "SessionCommand", "read"));
        cmd.addAll(vps.target("root"));
        cmd.addAll(List.of(id, "--wait-for", "never printed", "--max", "40s"));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("VPS_SSH_CONFIG", "/dev/null");
        Process client = pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            vps.await("pgrep -fx 'sleep 0.1' >/dev/null && echo waiting", "waiting");   // its read is polling on the server
        } finally {
            client.destroyForcibly();
            assertTrue(client.waitFor(10, TimeUnit.SECONDS));
        }

        Runs.Result send = session("send", id, "echo \"x is $x\"\\n", "--json");
        assertEquals(0, send.exit(), send.toString());
        Map<?, ?> reading = readUntil("root", id, 0, "x is 42");
        assertEquals("running", reading.get("status"));
        assertEquals(0L, ((Number) reading.get("skipped")).longValue());

        // From NEXT on: only what came after, no byte twice.
        assertEquals(0, session("send", id, "echo second\\n").exit());
        Map<?, ?> after = readUntil("root", id, next(reading), "second");
        assertFalse(((String) after.get("output")).contains("x is 42"), after.toString());
        session("close", id);
    }

    @Test
    void aReadWhoseLinkDropsGoesOnAndTheSessionLivesOn(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        try (TcpProxy proxy = new TcpProxy(vps.port)) {
            List<String> viaProxy = List.of("-H", "127.0.0.1", "-p", Integer.toString(proxy.port()), "-u", "root", "-i", vps.key.toString(),
                    "--host-key", vps.hostKeyFingerprint, "--known-hosts", dir.resolve("kh").toString());
            List<String> openArgs = new ArrayList<>(List.of("open"));
            openArgs.addAll(viaProxy);
            openArgs.addAll(List.of("--", "sh", "-i"));
            Runs.Result opened = Runs.run(openArgs, new byte[0], (out, err, in) -> new SessionCommand(out, err));
            assertEquals(0, opened.exit(), opened.toString());
            String id = opened.stdout().trim();

            List<String> readArgs = new ArrayList<>(List.of("read"));
            readArgs.addAll(viaProxy);
            readArgs.addAll(List.of(id, "--wait-for", "after the cut", "--max", "30s"));
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newSingleThreadExecutor();
            java.util.concurrent.Future<Runs.Result> read = pool.submit(() -> Runs.run(readArgs, new byte[0], (out, err, in) -> new SessionCommand(out, err)));
            vps.await("pgrep -fx 'sleep 0.1' >/dev/null && echo waiting", "waiting");
            proxy.cutAll();
            assertEquals(0, session("send", id, "echo after the cut\\n").exit());   // directly: the session never noticed
            Runs.Result r = read.get(60, TimeUnit.SECONDS);
            pool.shutdown();
            assertEquals(0, r.exit(), r.toString());
            assertTrue(r.stdout().contains("after the cut"), r.toString());
            session("close", id);
        }
    }

    @Test
    void anInterruptedReadSaysTheSessionGoesOn() throws Exception {
        String id = open("root", "--", "sh", "-i");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "SessionCommand", "read"));
        cmd.addAll(vps.target("root"));
        cmd.addAll(List.of(id, "--from", "0", "--wait-for", "never printed", "--max", "40s", "--json"));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("VPS_SSH_CONFIG", "/dev/null");
        Path errors = java.nio.file.Files.createTempFile("session-read", ".err");
        Path output = java.nio.file.Files.createTempFile("session-read", ".out");
        Process client = pb.redirectOutput(output.toFile()).redirectError(errors.toFile()).start();
        try {
            vps.await("pgrep -fx 'sleep 0.1' >/dev/null && echo waiting", "waiting");
            new ProcessBuilder("kill", "-INT", Long.toString(client.pid())).start().waitFor(10, TimeUnit.SECONDS);
            assertTrue(client.waitFor(20, TimeUnit.SECONDS), "the read ends on Ctrl-C");
        } finally {
            client.destroyForcibly();
        }
        String said = java.nio.file.Files.readString(errors);
        assertEquals(130, client.exitValue(), said);
        assertTrue(said.contains("vps: interrupted: session " + id + " goes on running on the server"), said);
        assertTrue(said.contains("hint: read it again with: session read " + id + " --from 0"), said);
        Map<?, ?> report = Json.read(java.nio.file.Files.readString(output).trim(), Map.class);
        assertEquals("INTERRUPTED", ((Map<?, ?>) report.get("error")).get("kind"), report.toString());
        assertEquals("127.0.0.1", report.get("host"), "the --json report names the server, as job's does: " + report);
        assertEquals("running", ((Map<?, ?>) ((List<?>) session("list", "--json").json().get("sessions")).stream()
                .filter(s -> id.equals(((Map<?, ?>) s).get("session"))).findFirst().orElseThrow()).get("status"));
        session("close", id);
    }

    @Test
    void closeStopsEveryProcessOfTheSession() {
        String id = open("alice", "--", "sh", "-i");
        assertEquals(0, sessionAs("alice", "send", id, "sleep 3301 & sleep 3302\\n").exit());
        vps.await("pgrep -c -f 'sleep 330[12]'", "2");
        Runs.Result close = sessionAs("alice", "close", id, "--json");
        assertEquals(0, close.exit(), close.toString());
        assertEquals("closed", close.json().get("status"));
        assertEquals("close", close.json().get("closeReason"));
        assertEquals("", vps.exec("pgrep -f 'sleep 330[12]' || true").trim(), "no process of the session survived");
        assertEquals("", processesOf(id));
        Runs.Result read = sessionAs("alice", "read", id);
        assertEquals(1, read.exit(), read.toString());
        assertTrue(read.stderr().contains("vps: REMOTE: no session '" + id + "'"), read.toString());
        assertFalse(sessionAs("alice", "list").stdout().contains(id));
    }

    @Test
    void aPtySessionHasATerminalOfTheGivenSize() {
        String id = open("zed", "--pty", "--", "sh", "-i");   // zed's login shell is zsh: it runs the command, as ssh does
        assertEquals(0, sessionAs("zed", "send", id, "tty; stty size\\n").exit());
        Map<?, ?> reading = readUntil("zed", id, 0, "^/dev/pts/[0-9]+\\r?\\n40 120");
        assertTrue(((String) reading.get("output")).contains("tty; stty size"), "the terminal echoes input: " + reading);
        sessionAs("zed", "close", id);
    }

    @Test
    void aSecretGoesOnlyToATerminalThatDoesNotEchoIt() {
        TestSupport.freshEnvironment(Map.of("VPS_TEST_PIN", "pin-4711-secret"));
        String id = open("root", "--pty", "--", "sh", "-i");
        readUntil("root", id, 0, "# $");
        Runs.Result echoing = session("send", id, "--send-env", "VPS_TEST_PIN");
        assertEquals(1, echoing.exit(), echoing.toString());
        assertTrue(echoing.stderr().contains("terminal echoes its input now"), echoing.toString());

        assertEquals(0, session("send", id, "stty -echo; printf 'PIN: '; read -r a; stty echo; echo \"got ${#a}\"\\n").exit());
        long at = next(readUntil("root", id, 0, "PIN: $"));
        Runs.Result sent = session("send", id, "--send-env", "VPS_TEST_PIN");
        assertEquals(0, sent.exit(), sent.toString());
        Map<?, ?> reading = readUntil("root", id, at, "got 15");
        assertFalse(((String) session("read", id, "--from", "0", "--json").json().get("output")).contains("pin-4711"), reading.toString());
        assertEquals("", vps.exec("grep -rl pin-4711 /root/.vps-toolkit 2>/dev/null || true").trim(), "the value is on no disk");
        session("close", id);
    }

    @Test
    void outputIsBoundedAndAReadFromADroppedOffsetSaysSo() {
        String id = open("root", "--", "head -c 10485760 /dev/zero | tr '\\0' x; echo; echo done");
        vps.await("cat /root/.vps-toolkit/sessions/" + id + "/exit 2>/dev/null", "0");
        String kept = vps.exec("cat /root/.vps-toolkit/sessions/" + id + "/out.* | wc -c").trim();
        assertTrue(Long.parseLong(kept) <= Sessions.KEPT_CHUNKS * (long) Sessions.CHUNK, "kept " + kept + " bytes");

        Runs.Result r = session("read", id, "--from", "0", "--json");
        assertEquals(0, r.exit(), r.toString());
        Map<?, ?> json = r.json();
        assertEquals("exited", json.get("status"));
        assertEquals(0L, json.get("exitCode"));
        long skipped = ((Number) json.get("skipped")).longValue();
        assertEquals(10485766 - Long.parseLong(kept), skipped, "the dropped bytes are counted");
        assertEquals(skipped + Sessions.MAX_READ, next(json), "one read returns at most 1 MiB");
        assertEquals(true, json.get("more"));
        assertTrue(r.stderr().isEmpty(), r.stderr());

        Runs.Result plain = session("read", id, "--from", Long.toString(10485761));
        assertEquals("done\n", plain.stdout());
        assertTrue(plain.stderr().contains("next: --from 10485766 (exited, exit 0)"), plain.stderr());
        session("close", id);
    }

    @Test
    void aSessionWithoutInputIsClosedAfterIdle() throws Exception {
        long opened = System.nanoTime();
        String id = open("root", "--idle", "2s", "--", "sh", "-i");
        Map<?, ?> status = null;
        for (int i = 0; i < 60; i++) {
            status = (Map<?, ?>) ((List<?>) session("list", "--json").json().get("sessions")).stream()
                    .filter(s -> id.equals(((Map<?, ?>) s).get("session"))).findFirst().orElseThrow();
            if (!"running".equals(status.get("status"))) {
                break;
            }
            Thread.sleep(250);
        }
        assertEquals("closed", status.get("status"), status.toString());
        assertEquals("idle", status.get("closeReason"));
        assertTrue((System.nanoTime() - opened) / 1_000_000 >= 1000, "not closed before its idle time");
        vps.await("[ -f /root/.vps-toolkit/sessions/" + id + "/exit ] && echo ended", "ended");
        assertEquals("", processesOf(id));
        Runs.Result send = session("send", id, "echo late\\n");
        assertEquals(1, send.exit(), send.toString());
        assertTrue(send.stderr().contains("session " + id + " was closed: it takes no more input"), send.toString());
        session("close", id);
    }

    @Test
    void aSessionIsPrivateAndASentSecretAppearsNowhere() {
        TestSupport.freshEnvironment(Map.of("VPS_TEST_ANSWER", "s3cret-answer"));
        String id = open("alice", "--", "sh", "-i");
        String folder = "/home/alice/.vps-toolkit/sessions/" + id;
        assertEquals("700 600", vps.exec("stat -c %a " + folder + " " + folder + "/in | tr '\\n' ' '").trim());
        String asBob = vps.exec("su bob -s /bin/sh -c 'ls " + folder + " 2>&1; cat " + folder + "/command 2>&1; echo hi > " + folder + "/in 2>&1'");
        assertTrue(asBob.contains("Permission denied") && !asBob.contains("sh -i"), asBob);

        assertEquals(0, sessionAs("alice", "send", id, "read -r a; echo \"got ${#a} chars\"\\n").exit());
        Runs.Result send = sessionAs("alice", "send", id, "--send-env", "VPS_TEST_ANSWER", "--json");
        assertEquals(0, send.exit(), send.toString());
        assertFalse(send.stdout().contains("s3cret") || send.stderr().contains("s3cret"), send.toString());
        Map<?, ?> reading = readUntil("alice", id, 0, "got 13 chars");
        assertFalse(((String) reading.get("output")).contains("s3cret"), reading.toString());
        assertEquals("", vps.exec("grep -rl s3cret /home/alice/.vps-toolkit /tmp 2>/dev/null || true").trim(), "the value is on no disk");
        sessionAs("alice", "close", id);
    }

    @Test
    void hostileIdsAndBadArgumentsAreRefused() {
        for (String bad : List.of("../jobs", "a b", "x$(id)", "a/b", ".hidden")) {
            for (String[] call : List.of(new String[] {"read", bad}, new String[] {"send", bad, "x"}, new String[] {"close", bad})) {
                Runs.Result r = session(call);
                assertEquals(2, r.exit(), String.join(" ", call) + "\n" + r);
                assertTrue(r.stderr().contains("vps: CONFIG: session id"), r.toString());
            }
        }
        Runs.Result badEscape = session("send", "s1", "a\\q");
        assertEquals(2, badEscape.exit(), badEscape.toString());
        Runs.Result badRegex = session("read", "s1", "--wait-for", "(");
        assertEquals(2, badRegex.exit(), badRegex.toString());
        Runs.Result tooLong = session("read", "s1", "--wait-for", "x", "--max", "5m");
        assertEquals(2, tooLong.exit(), tooLong.toString());
    }

    @Test
    void aWaitThatSeesNoMatchIsATimeoutWithTheOutputSoFar() {
        String id = open("root", "--", "sh", "-c", "'echo ready; exec sleep 600'");
        Runs.Result r = session("read", id, "--wait-for", "never", "--max", "1s", "--json");
        assertEquals(124, r.exit(), r.toString());
        Map<?, ?> json = r.json();
        assertEquals("ready\n", json.get("output"));
        assertEquals(false, json.get("matched"));
        assertEquals("TIMEOUT", ((Map<?, ?>) json.get("error")).get("kind"));
        assertTrue(r.stderr().contains("vps: TIMEOUT:") && r.stderr().contains("hint: "), r.toString());
        session("close", id);
    }

    @Test
    void aSessionWhoseRunnerWasKilledIsLost() {
        String id = open("root", "--", "sh", "-i");
        String folder = "/root/.vps-toolkit/sessions/" + id;
        vps.exec("kill -9 -$(cat " + folder + "/pid)");   // the runner's whole process group, the program with it (the OOM killer, kill -9)
        Runs.Result list = session("list", "--json");
        Map<?, ?> status = (Map<?, ?>) ((List<?>) list.json().get("sessions")).stream()
                .filter(s -> id.equals(((Map<?, ?>) s).get("session"))).findFirst().orElseThrow();
        assertEquals("lost", status.get("status"), list.toString());
        Runs.Result send = session("send", id, "echo hi\\n");
        assertEquals(1, send.exit(), send.toString());
        assertTrue(send.stderr().contains("was lost"), send.toString());
        assertEquals(0, session("close", id).exit());
    }

    @Test
    void aSendToAProgramThatDoesNotReadEndsAsATimeout() {
        String id = open("root", "--", "exec", "sleep", "600");   // never reads its input
        String fill = "x".repeat(Sessions.MAX_SEND);                 // a pipe holds 64 KiB: this fills it
        assertEquals(0, session("send", id, fill).exit());
        long start = System.nanoTime();
        Runs.Result blocked = session("send", id, "y");
        assertEquals(124, blocked.exit(), blocked.toString());
        assertTrue(blocked.stderr().contains("vps: TIMEOUT: session " + id + " did not take the input within 10 s"), blocked.toString());
        assertTrue((System.nanoTime() - start) / 1_000_000_000 < 20, "the send gave up, it did not hang");
        session("close", id);
    }

    @Test
    void escapesBecomeTheBytesTheyName() {
        assertEquals("a\nb\r\t\\\u0003é", new String(Sessions.unescape("a\\nb\\r\\t\\\\\\x03é"), java.nio.charset.StandardCharsets.UTF_8));
    }
}
