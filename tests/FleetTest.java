import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One command on many servers (issue 19): four extra sshd in the shared container (web1, web2,
 * web3, db1; each session sees FLEET_NAME) and db2 on a port nobody listens on, named by an
 * inventory with groups. web2's command fails where asked (`test "$FLEET_NAME" != web2`).
 */
class FleetTest extends VpsTestBase {
    private static final List<String> NAMES = List.of("web1", "web2", "web3", "db1");
    private static final List<VpsServer.FleetSshd> SSHDS = new ArrayList<>();
    private static Path dir;
    private static Path inventory;
    private static Path knownHosts;
    private static final String FAILS_ON_WEB2 = "echo hello from $FLEET_NAME; test \"$FLEET_NAME\" != web2";

    @BeforeAll
    static void fleet() throws IOException {
        vps = VpsServer.shared();
        dir = Files.createTempDirectory("vps-fleet");
        StringBuilder known = new StringBuilder();
        StringBuilder web = new StringBuilder("[web]\n");
        StringBuilder db = new StringBuilder("[db]\n");
        for (String name : NAMES) {
            VpsServer.FleetSshd sshd = vps.fleetSshd(name);
            SSHDS.add(sshd);
            known.append(vps.knownHostsLine(sshd.port())).append('\n');
            (name.startsWith("web") ? web : db).append(name).append(" ansible_host=127.0.0.1 ansible_port=").append(sshd.port()).append('\n');
        }
        db.append("db2 ansible_host=127.0.0.1 ansible_port=").append(VpsServer.freePort()).append('\n');
        knownHosts = Files.writeString(dir.resolve("known_hosts"), known.toString());
        inventory = Files.writeString(dir.resolve("hosts.ini"), "# written by FleetTest\n" + web + "\n" + db + "\n[prod:children]\nweb\ndb\n");
    }

    @AfterAll
    static void stopFleet() {
        SSHDS.forEach(VpsServer.FleetSshd::close);
        SSHDS.clear();
    }

    /** Login options every host shares, then MORE. */
    private static List<String> args(String... more) {
        List<String> all = new ArrayList<>(List.of("-u", "root", "-i", vps.key.toString(), "--known-hosts", knownHosts.toString(),
                "--connect-timeout", "10s", "--inventory", inventory.toString()));
        all.addAll(List.of(more));
        return all;
    }

    private static Runs.Result exec(String... args) {
        return Runs.exec(args(args));
    }

    @Test
    void oneFailingAndOneUnreachableHostGiveTheSummaryAndExit255WhileTheOthersSucceed() {
        Runs.Result r = exec("--", FAILS_ON_WEB2);
        assertEquals(255, r.exit(), r.toString());
        for (String name : NAMES) {
            assertTrue(r.stdout().contains(name + ": hello from " + name + "\n"), r.toString());
        }
        assertTrue(r.stderr().contains("db2: vps: NETWORK: "), "the unreachable host's own error, prefixed: " + r);
        assertTrue(r.stderr().strip().endsWith("fleet: 3 ok, 1 failed (web2), 1 unreachable (db2), 0 skipped"), r.toString());
    }

    @Test
    void aFailedCommandWithEveryHostReachedIsExit1() {
        Runs.Result r = exec("--limit", "web", "--", FAILS_ON_WEB2);
        assertEquals(1, r.exit(), r.toString());
        assertTrue(r.stderr().strip().endsWith("fleet: 2 ok, 1 failed (web2), 0 unreachable, 0 skipped"), r.toString());
    }

    @Test
    void aRemoteCommandsOwnExit255IsAFailureNotAnUnreachableHost() {
        Runs.Result r = exec("--limit", "web1", "--", "exit 255");
        assertEquals(1, r.exit(), r.toString());
        assertTrue(r.stderr().strip().endsWith("fleet: 0 ok, 1 failed (web1), 0 unreachable, 0 skipped"), r.toString());
    }

    @Test
    void jsonGivesEveryEnvelopeTheGroupsAndTheSummary() {
        Runs.Result r = exec("--json", "--", FAILS_ON_WEB2);
        assertEquals(255, r.exit(), r.toString());
        assertEquals(1, r.stdout().strip().lines().count(), "one object: " + r);
        Map<?, ?> j = r.json();
        assertEquals(Map.of("ok", 3L, "failed", 1L, "unreachable", 1L, "skipped", 0L), j.get("summary"), r.toString());
        Map<?, ?> hosts = (Map<?, ?>) j.get("hosts");
        assertEquals(List.of("web1", "web2", "web3", "db1", "db2"), List.copyOf(hosts.keySet()));
        Map<?, ?> web1 = (Map<?, ?>) hosts.get("web1");
        assertEquals("exited", web1.get("status"));
        assertEquals("hello from web1\n", web1.get("stdout"));
        Map<?, ?> web2 = (Map<?, ?>) hosts.get("web2");
        assertEquals(1L, web2.get("exitCode"));
        Map<?, ?> db2 = (Map<?, ?>) hosts.get("db2");
        assertEquals("NETWORK", ((Map<?, ?>) db2.get("error")).get("kind"), r.toString());
        List<?> groups = (List<?>) j.get("groups");
        assertEquals(5, groups.size(), "every output differs (the name is in it): " + r);
        assertEquals(List.of("web2"), ((Map<?, ?>) groups.get(1)).get("hosts"));
    }

    @Test
    void identicalOutputsAreGroupedWithTheirHostsAndExitCode() {
        Runs.Result r = exec("--group", "--", "echo same; test \"$FLEET_NAME\" != web2");
        assertEquals(255, r.exit(), r.toString());
        String out = r.stdout();
        assertTrue(out.matches("(?s).*\nweb1,web3,db1 \\(exit 0\\)\n-+\nsame\n-+\n.*"), r.toString());
        assertTrue(out.matches("(?s).*\nweb2 \\(exit 1\\)\n-+\nsame\n-+\n.*"), r.toString());
        assertTrue(out.matches("(?s).*\ndb2 \\(exit 255\\)\n-+\nvps: NETWORK: .*"), r.toString());
        assertEquals(2, out.split("-\nsame\n", -1).length - 1, "each distinct output once: " + r);
        assertTrue(r.stderr().strip().endsWith("fleet: 3 ok, 1 failed (web2), 1 unreachable (db2), 0 skipped"), r.toString());

        Map<?, ?> j = exec("--json", "--", "echo same; test \"$FLEET_NAME\" != web2").json();
        Map<?, ?> first = (Map<?, ?>) ((List<?>) j.get("groups")).get(0);
        assertEquals(List.of("web1", "web3", "db1"), first.get("hosts"));
        assertEquals("same\n", first.get("stdout"));
        assertEquals(0L, first.get("exitCode"));
    }

    /** 1.5 MiB from each host: --json keeps each host's object whole (its --max-output bounds it), --group keeps a bounded share. */
    @Test
    void largeOutputsStayWholeJsonAndBoundedGroups() {
        String big = "head -c 1572864 /dev/zero | tr '\\0' x";
        Map<?, ?> j = exec("--limit", "web1:web3", "--json", "--max-output", "2m", "--", big).json();
        assertEquals(Map.of("ok", 2L, "failed", 0L, "unreachable", 0L, "skipped", 0L), j.get("summary"), String.valueOf(j.get("summary")));
        for (String name : List.of("web1", "web3")) {
            String stdout = (String) ((Map<?, ?>) ((Map<?, ?>) j.get("hosts")).get(name)).get("stdout");
            assertEquals(1572864, stdout.length(), name);
        }

        assertEquals(HostOutput.MIN_CAPTURE, HostOutput.captureLimit(1200), "128 MiB for 2,400 streams is less than the floor");
        assertEquals((128 << 20) / 400, HostOutput.captureLimit(200), "200 hosts share 128 MiB");
        assertEquals(HostOutput.MAX_CAPTURE, HostOutput.captureLimit(2));
        Runs.Result r = exec("--limit", "web1:web3", "--group", "--", big);
        assertEquals(0, r.exit(), r.stderr());
        assertTrue(r.stdout().contains("web1,web3 (exit 0)"), "one group: the same bytes were kept of both");
        assertTrue(r.stdout().contains("[524288 more bytes not kept: run it on this host alone, or with --json and --max-output]"), r.stdout().substring(r.stdout().length() - 300));
        assertTrue(r.stdout().length() < HostOutput.MAX_CAPTURE + 4096, "1 MiB kept of 1.5: " + r.stdout().length());
    }

    /** A silent command under --group: its heartbeats go out live, prefixed, and stay out of the groups. */
    @Test
    void heartbeatsUnderGroupGoOutLiveAndStayOutOfTheGroups() {
        Runs.Result r = exec("--limit", "web1:web3", "--group", "--heartbeat", "1s", "--", "sleep 3; echo same");
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.stdout().contains("web1,web3 (exit 0)\n"), r.toString());
        assertFalse(r.stdout().contains("progress:"), r.toString());
        assertTrue(r.stderr().contains("web1: progress: the command still running after "), r.toString());
        assertTrue(r.stderr().contains("web3: progress: the command still running after "), r.toString());
    }

    /** Unreachable means not reached, verified or logged in (exit 255 with such a kind), not any PROTOCOL failure after login. */
    @Test
    void aProtocolFailureAfterLoginIsAFailureNotAnUnreachableHost() {
        FleetHost h = FleetHost.of("web1");
        assertEquals(HostResult.Outcome.FAILED, HostResult.of(h, 1, "PROTOCOL", Map.of(), "", "").outcome(),
                "sftp-get that refused a name the server sent: exit 1, PROTOCOL");
        assertEquals(HostResult.Outcome.UNREACHABLE, HostResult.of(h, 255, "PROTOCOL", Map.of(), "", "").outcome(), "a failed handshake");
        assertEquals(HostResult.Outcome.UNREACHABLE, HostResult.of(h, 255, "AUTH", Map.of(), "", "").outcome());
        assertEquals(HostResult.Outcome.FAILED, HostResult.of(h, 255, null, Map.of(), "", "").outcome(), "the command's own 255");
    }

    @Test
    void serialStopsAfterTheFirstFailedBatchAndSkipsTheRest() {
        String mark = "/tmp/fleet-serial-" + System.nanoTime();
        Runs.Result r = exec("--serial", "2", "--json", "--", "touch " + mark + "-$FLEET_NAME; " + FAILS_ON_WEB2);
        assertEquals(1, r.exit(), r.toString());
        Map<?, ?> j = r.json();
        assertEquals(Map.of("ok", 1L, "failed", 1L, "unreachable", 0L, "skipped", 3L), j.get("summary"), r.toString());
        for (String skipped : List.of("web3", "db1", "db2")) {
            assertEquals("skipped", ((Map<?, ?>) ((Map<?, ?>) j.get("hosts")).get(skipped)).get("status"), r.toString());
        }
        assertEquals(mark + "-web1\n" + mark + "-web2", vps.exec("ls " + mark + "-*").strip(), "only the first batch ran");

        Runs.Result text = exec("--serial", "2", "--", FAILS_ON_WEB2);
        assertTrue(text.stderr().strip().endsWith("fleet: 1 ok, 1 failed (web2), 0 unreachable, 3 skipped (web3, db1, db2)"), text.toString());

        Runs.Result tolerated = exec("--serial", "2", "--max-fail", "50%", "--", FAILS_ON_WEB2);
        assertTrue(tolerated.stderr().strip().endsWith("fleet: 3 ok, 1 failed (web2), 1 unreachable (db2), 0 skipped"), tolerated.toString());
        assertEquals(255, tolerated.exit(), tolerated.toString());
    }

    @Test
    void serialPercentagesMakeBatchesOfAtLeastOneAndMaxFailIsAShareOfTheBatch() {
        List<FleetHost> five = NAMES.stream().map(FleetHost::of).collect(java.util.stream.Collectors.toCollection(ArrayList::new));
        five.add(FleetHost.of("db2"));
        assertEquals(List.of(2, 2, 1), new FleetPlan(10, "40%", 0).batches(five).stream().map(List::size).toList());
        assertEquals(List.of(1, 1, 1, 1, 1), new FleetPlan(10, "1%", 0).batches(five).stream().map(List::size).toList());
        assertEquals(List.of(5), new FleetPlan(10, null, 0).batches(five).stream().map(List::size).toList());
        assertTrue(new FleetPlan(10, "2", 0).stopsAfter(1, 2));
        assertFalse(new FleetPlan(10, "2", 50).stopsAfter(1, 2), "50% of a batch of 2 is tolerated by --max-fail 50%");
        assertTrue(new FleetPlan(10, "2", 49).stopsAfter(1, 2));
        VpsException bad = org.junit.jupiter.api.Assertions.assertThrows(VpsException.class, () -> new FleetPlan(10, "0", 0));
        assertEquals(VpsException.Kind.CONFIG, bad.kind);
        assertEquals(2, exec("--serial", "half", "--", "true").exit());
        assertEquals(2, exec("--forks", "0", "--", "true").exit());
    }

    /** Hosts ending together each get their audit line: a JVM's threads take turns at the log's file lock (a second lock failed). */
    @Test
    void everyHostOfASetIsAudited() throws java.io.IOException {
        String barrier = "/tmp/fleet-audit-" + System.nanoTime();
        String waitAll = "touch " + barrier + "-$FLEET_NAME; n=0; while [ $(ls " + barrier + "-* | wc -l) -lt 3 ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n+1)); done; echo "
                + barrier;
        Runs.Result r = exec("--limit", "web", "--forks", "3", "--", waitAll);
        assertEquals(0, r.exit(), r.toString());
        assertFalse(r.stderr().contains("audit log was not written"), r.stderr());
        long lines = 0;
        for (AuditLog.Line l : AuditLog.standard().lines()) {
            lines += l.text().contains(barrier) ? 1 : 0;
        }
        assertEquals(3, lines, "one audit line per host");
    }

    @Test
    void forksBoundHowManyHostsRunAtOnce() {
        // A barrier on the server: each host waits until all three have arrived, which only concurrent runs can do.
        String barrier = "/tmp/fleet-barrier-" + System.nanoTime();
        String waitAll = "touch " + barrier + "-$FLEET_NAME; n=0; while [ $(ls " + barrier + "-* | wc -l) -lt 3 ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n+1)); done; ls "
                + barrier + "-* | wc -l";
        Runs.Result together = exec("--limit", "web", "--forks", "3", "--group", "--", waitAll);
        assertEquals(0, together.exit(), together.toString());
        assertTrue(together.stdout().matches("(?s)-+\nweb1,web2,web3 \\(exit 0\\)\n-+\n3\n"), together.toString());

        // One at a time: each host's begin and end come before the next host's begin.
        String log = "/tmp/fleet-forks-" + System.nanoTime();
        Runs.Result oneByOne = exec("--limit", "web", "--forks", "1", "--", "echo begin $FLEET_NAME >> " + log + "; sleep 0.2; echo end $FLEET_NAME >> " + log);
        assertEquals(0, oneByOne.exit(), oneByOne.toString());
        assertEquals("begin web1\nend web1\nbegin web2\nend web2\nbegin web3\nend web3", vps.exec("cat " + log).strip());
    }

    @Test
    void linesArePrefixedWholeAndALastPartialLineComesAtTheEnd() {
        Runs.Result r = exec("--limit", "web", "--", "printf 'one-%s\\ntwo-%s\\nend-%s' $FLEET_NAME $FLEET_NAME $FLEET_NAME; printf 'warn-%s\\n' $FLEET_NAME >&2");
        assertEquals(0, r.exit(), r.toString());
        List<String> lines = r.stdout().lines().sorted().toList();
        assertEquals(List.of("web1: end-web1", "web1: one-web1", "web1: two-web1", "web2: end-web2", "web2: one-web2", "web2: two-web2",
                "web3: end-web3", "web3: one-web3", "web3: two-web3"), lines, r.toString());
        for (String name : List.of("web1", "web2", "web3")) {
            assertTrue(r.stderr().contains(name + ": warn-" + name + "\n"), r.toString());
        }
    }

    @Test
    void listHostsNamesTheResolvedSet() {
        Runs.Result r = exec("--limit", "db", "--list-hosts");
        assertEquals(0, r.exit(), r.toString());
        assertEquals("db1\ndb2\n", r.stdout());
        Runs.Result json = exec("--limit", "db1", "--list-hosts", "--json");
        List<?> list = Json.read(json.stdout(), List.class);
        Map<?, ?> db1 = (Map<?, ?>) list.get(0);
        assertEquals("db1", db1.get("name"));
        assertEquals("127.0.0.1", db1.get("host"));
        assertEquals((long) SSHDS.get(3).port(), db1.get("port"));
    }

    @Test
    void hostListEntriesTakeTheInventorysVariablesAndASingleHostStaysOneHost() {
        Runs.Result list = exec("-H", "web1,db1", "--", "echo $FLEET_NAME");
        assertEquals(0, list.exit(), list.toString());
        assertEquals("db1: db1\nweb1: web1\n", String.join("\n", list.stdout().lines().sorted().toList()) + "\n");

        Runs.Result single = exec("-H", "web3", "--", "echo $FLEET_NAME");   // single-host path, the inventory's address
        assertEquals(0, single.exit(), single.toString());
        assertEquals("web3\n", single.stdout());
        assertFalse(single.stderr().contains("fleet:"), single.toString());

        // A script that takes one host finds it in VPS_INVENTORY too.
        TestSupport.freshEnvironment(Map.of("VPS_INVENTORY", inventory.toString()));
        Runs.Result opened = session("open", "--", "sh -i");
        assertEquals(0, opened.exit(), opened.toString());
        String id = opened.stdout().strip();
        assertEquals(0, session("send", id, "echo name=$FLEET_NAME\\n").exit());
        Runs.Result read = session("read", id, "--from", "0", "--wait-for", "name=db1", "--max", "20s");
        assertEquals(0, read.exit(), read.toString());
        Runs.Result closed = session("close", id);
        assertEquals(0, closed.exit(), closed.toString());
    }

    /** session (a script of one host) on db1, named only through the inventory. */
    private static Runs.Result session(String... args) {
        List<String> all = new ArrayList<>(List.of("-H", "db1", "-u", "root", "-i", vps.key.toString(), "--known-hosts", knownHosts.toString()));
        all.addAll(List.of(args));
        return Runs.run(all, new byte[0], (out, err, in) -> new SessionCommand(out, err));
    }

    @Test
    void aHostListWithLimitOrWithAOneHostScriptIsAUsageError() {
        Runs.Result both = exec("-H", "web1,web2", "--limit", "web", "--", "true");
        assertEquals(2, both.exit(), both.toString());
        assertTrue(both.stderr().contains("vps: CONFIG: -H web1,web2 and --limit web both name hosts"), both.toString());

        TestSupport.freshEnvironment(Map.of("VPS_INVENTORY", inventory.toString()));
        Runs.Result session = Runs.run(List.of("-H", "web1,web2", "list"), new byte[0], (out, err, in) -> new SessionCommand(out, err));
        assertEquals(2, session.exit(), session.toString());
        assertTrue(session.stderr().contains("vps: CONFIG: session works on one host at a time"), session.toString());

        Runs.Result detach = exec("--limit", "web", "--detach-after", "5s", "--", "true");
        assertEquals(2, detach.exit(), detach.toString());
        assertTrue(detach.stderr().contains("hint: start the command as a job on every host: job start -H web1,web2,web3"), detach.toString());
    }

    @Test
    void stdinIsReadOnceAndEveryHostGetsACopy() {
        Runs.Result r = Runs.exec(args("--limit", "web", "--stdin", "--", "cat"), "payload\n".getBytes(StandardCharsets.UTF_8));
        assertEquals(0, r.exit(), r.toString());
        assertEquals(List.of("web1: payload", "web2: payload", "web3: payload"), r.stdout().lines().sorted().toList(), r.toString());
    }

    @Test
    void ctrlCStopsEveryHostsCommandAndGivesOneFleetReport(@TempDir Path tmp) throws Exception {
        String marker = "/tmp/fleet-interrupt-" + System.nanoTime();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "ExecCommand"));
        cmd.addAll(args("--limit", "web", "--", "echo before-$FLEET_NAME; touch " + marker + "-$FLEET_NAME; sleep 3191"));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("VPS_SSH_CONFIG", "/dev/null");
        pb.environment().put("VPS_TOOLKIT_HOME", tmp.toString());
        Path out = tmp.resolve("stdout");
        Path err = tmp.resolve("stderr");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        try {
            vps.await("ls " + marker + "-* 2>/dev/null | wc -l", "3");
            awaitLines(out, 3);   // the lines came live, prefixed, while the commands still run
            assertEquals(List.of("web1: before-web1", "web2: before-web2", "web3: before-web3"),
                    Files.readString(out).lines().sorted().toList());
            Process kill = new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).inheritIO().start();
            assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -INT was sent");
            assertTrue(Processes.waitOrKill(p, Duration.ofSeconds(30)), "ended within 30 s of SIGINT: " + Files.readString(err));
            String stderr = Files.readString(err);
            assertEquals(130, p.exitValue(), stderr);
            assertTrue(stderr.contains("fleet: 0 ok, 3 failed (web1, web2, web3), 0 unreachable, 0 skipped\n"
                    + "vps: interrupted: the remote command was stopped on every host that ran it\nhint: "), stderr);
            assertEquals(1, stderr.split("\nvps: interrupted", -1).length - 1, "one fleet report: " + stderr);
            vps.await("pgrep -f 'sleep 319[1]' > /dev/null && echo running || echo gone", "gone");
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void anInterruptedCallScopeStopsEveryHostAsTheEngineDoes() throws Exception {
        // The engine runs a call in-process in a scope of its own and interrupts that scope when the client goes away.
        String marker = "/tmp/fleet-scope-" + System.nanoTime();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        PrintStream outStream = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream errStream = new PrintStream(err, true, StandardCharsets.UTF_8);
        Interrupts.Scope scope = Interrupts.newScope();
        java.util.concurrent.FutureTask<Integer> call = new java.util.concurrent.FutureTask<>(() -> {
            try (Interrupts.Registration entered = Interrupts.enter(scope)) {
                return Cli.commandLine(Cli.made(ExecCommand::new, outStream, errStream, new java.io.ByteArrayInputStream(new byte[0])), outStream, errStream)
                        .execute(args("--limit", "web", "--json", "--", "touch " + marker + "-$FLEET_NAME; sleep 3192").toArray(String[]::new));
            }
        });
        new Thread(call, "fleet-call").start();
        vps.await("ls " + marker + "-* 2>/dev/null | wc -l", "3");
        scope.interrupt();
        int exit = call.get(60, TimeUnit.SECONDS);
        String stdout = out.toString(StandardCharsets.UTF_8);
        assertEquals(Interrupts.EXIT, exit, stdout + err);
        assertEquals(1, stdout.strip().lines().count(), "one object: " + stdout);
        Map<?, ?> j = Json.read(stdout, Map.class);
        assertEquals("INTERRUPTED", ((Map<?, ?>) j.get("error")).get("kind"), stdout);
        assertEquals(Map.of("ok", 0L, "failed", 3L, "unreachable", 0L, "skipped", 0L), j.get("summary"), stdout);
        Map<?, ?> web1 = (Map<?, ?>) ((Map<?, ?>) j.get("hosts")).get("web1");
        assertEquals("INTERRUPTED", ((Map<?, ?>) web1.get("error")).get("kind"), stdout);
        vps.await("pgrep -f 'sleep 319[2]' > /dev/null && echo running || echo gone", "gone");
    }

    private static void awaitLines(Path file, int count) throws Exception {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (Files.readString(file).lines().count() < count) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("fewer than " + count + " lines within 60 s: " + Files.readString(file));
            }
            Thread.sleep(50);
        }
    }
}
