import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.jcraft.jsch.ChannelExec;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --reuse: one login serves many calls of every script, through a holder only this user can reach. */
class ReuseTest extends VpsTestBase {
    static List<String> reuse(List<String> target, String... more) {
        List<String> all = new ArrayList<>(target);
        all.add("--reuse");
        all.addAll(List.of(more));
        return all;
    }

    static Runs.Result connection(String... args) {
        return Runs.run(List.of(args), new byte[0], (out, err, in) -> new ConnectionCommand(out, err));
    }

    @AfterEach
    void stopHolders() {
        Holders.all().forEach(Holders::stop);
    }

    @Test
    void twentyCommandsLogInOnce() {
        long before = vps.logins();
        for (int i = 0; i < 20; i++) {
            Runs.Result r = Runs.exec(reuse(vps.target("root"), "--", "echo call-" + i));
            assertEquals(0, r.exit(), r.toString());
            assertEquals("call-" + i + "\n", r.stdout());
            assertEquals("", r.stderr(), "no chatter of ours on a warm run");
        }
        assertEquals(1, vps.logins() - before, "20 commands through the holder: one authentication on the server");
        Runs.Result status = connection("status", "--json");
        assertEquals(0, status.exit(), status.toString());
        List<?> holders = (List<?>) status.json().get("holders");
        assertEquals(1, holders.size());
        assertEquals("connected", ((Map<?, ?>) holders.get(0)).get("upstream"));
        for (String whole : List.of("pid", "started", "lastActivity", "persistSeconds", "clients", "sshPort")) {
            assertTrue(status.stdout().matches("(?s).*\"" + whole + "\":[0-9]+[,}].*"), whole + " is printed as an integer: " + status.stdout());
        }
    }

    /** `connection -H HOST status` and `connection status -H HOST`, with --json on either side; each subcommand has its help. */
    @Test
    void connectionTakesTargetOptionsBeforeAndAfterItsSubcommand() {
        assertEquals(0, Runs.exec(reuse(vps.target("root"), "--", "true")).exit());
        List<String> target = vps.target("root");
        for (List<String> args : List.of(JobTest.words(target, List.of("status", "--json")), JobTest.words(List.of("status"), target, List.of("--json")),
                JobTest.words(List.of("--json"), target, List.of("status")))) {
            Runs.Result r = connection(args.toArray(String[]::new));
            assertEquals(0, r.exit(), "connection " + String.join(" ", args) + "\n" + r);
            List<?> holders = (List<?>) r.json().get("holders");
            assertEquals(1, holders.size(), r.stdout());
            assertEquals(true, ((Map<?, ?>) holders.get(0)).get("running"), r.stdout());
        }
        for (String sub : List.of("status", "stop")) {
            Runs.Result help = connection(sub, "--help");
            assertEquals(0, help.exit(), "connection " + sub + " --help\n" + help);
            assertTrue(help.stdout().startsWith("Usage: connection " + sub + " "), help.stdout());
        }
        Runs.Result stop = connection(JobTest.words(target, List.of("stop")).toArray(String[]::new));
        assertEquals(0, stop.exit(), stop.toString());
        assertTrue(stop.stdout().contains("stopped"), stop.stdout());
        assertEquals(1, connection("status").exit(), "no holder runs any more");
    }

    @Test
    void relativeKeyAndKnownHostsPathsWorkThroughTheHolder() {
        // The holder runs in its own folder: paths relative to the caller's folder must still reach the same files.
        Path here = Path.of("").toAbsolutePath();
        List<String> target = List.of("-H", "127.0.0.1", "-p", Integer.toString(vps.port), "-u", "root",
                "-i", here.relativize(vps.key).toString(), "--known-hosts", here.relativize(vps.knownHosts).toString());
        assertTrue(!Path.of(target.get(7)).isAbsolute(), target.get(7));
        Runs.Result r = Runs.exec(reuse(target, "--", "echo relative"));
        assertEquals(0, r.exit(), r.toString());
        assertEquals("relative\n", r.stdout());
    }

    @Test
    void exitStatusSignalAndStreamsPassThrough() {
        Runs.Result r = Runs.exec(reuse(vps.target("root"), "--", "echo out; echo err >&2; exit 7"));
        assertEquals(7, r.exit(), r.toString());
        assertEquals("out\n", r.stdout());
        assertEquals("err\n", r.stderr());
        Runs.Result killed = Runs.exec(reuse(vps.target("root"), "--json", "--", "kill -KILL $$"));
        assertEquals(137, killed.exit(), killed.toString());
        assertEquals("KILL", killed.json().get("signal"));
        byte[] input = "line one\nline two\n".getBytes(StandardCharsets.UTF_8);
        Runs.Result stdin = Runs.run(reuse(vps.target("root"), "--stdin", "--", "wc -l"), input, ExecCommand::new);
        assertEquals("2", stdin.stdout().trim(), stdin.toString());
    }

    @Test
    void transfersAndJobsGoThroughTheSameLogin(@TempDir Path dir) throws Exception {
        long before = vps.logins();
        byte[] data = TransferTest.random(3 << 20, 7);
        Path src = Files.write(dir.resolve("src.bin"), data);
        Runs.Result up = TransferTest.put(reuse(vps.target("root"), "--json", src.toString(), "/tmp/reuse.bin"));
        assertEquals(0, up.exit(), up.toString());
        Runs.Result down = TransferTest.get(reuse(vps.target("root"), "/tmp/reuse.bin", dir.resolve("back.bin").toString()));
        assertEquals(0, down.exit(), down.toString());
        assertTrue(java.util.Arrays.equals(data, Files.readAllBytes(dir.resolve("back.bin"))), "byte-exact through the holder");
        String log = Files.readString(Holders.all().get(0).log());
        assertTrue(log.contains("ran sftp-put for a client") && log.contains("ran sftp-get for a client"), "the holder ran both itself: " + log);
        Runs.Result start = JobTest.job(reuse(vps.target("root")), "start", "--id", "reuse-job", "--", "echo from-job");
        assertEquals(0, start.exit(), start.toString());
        assertEquals(0, JobTest.job(reuse(vps.target("root")), "wait", "reuse-job", "--max", "20s").exit());
        assertEquals("from-job\n", JobTest.job(reuse(vps.target("root")), "logs", "reuse-job").stdout());
        assertEquals(1, vps.logins() - before, "sftp-put, sftp-get and job share one login");
    }

    @Test
    void transfersInTheHolderNameLocalFilesAsTheCallerDid(@TempDir Path dir) throws Exception {
        Path tree = Files.createDirectories(dir.resolve("site/inner"));
        Files.writeString(tree.resolve("b.txt"), "b");
        Files.writeString(dir.resolve("site/a.txt"), "a");
        String site = Path.of("").toAbsolutePath().relativize(dir.resolve("site")).toString();   // relative to this folder, not the holder's
        vps.exec("rm -rf /tmp/reuse-site");
        Runs.Result up = TransferTest.put(reuse(vps.target("root"), "--json", "--mkdir", site, "/tmp/reuse-site/"));
        assertEquals(0, up.exit(), up.toString());
        List<?> files = (List<?>) up.json().get("files");
        assertEquals(2, files.size(), up.toString());
        for (Object f : files) {
            assertTrue(((String) ((Map<?, ?>) f).get("local")).startsWith(site + "/"), "named as given: " + f);
        }
        assertEquals("b", vps.exec("cat /tmp/reuse-site/site/inner/b.txt"));
        Runs.Result missing = TransferTest.get(reuse(vps.target("root"), "/tmp/reuse-nothing-here", dir.resolve("x").toString()));
        assertEquals(1, missing.exit(), missing.toString());
        assertTrue(missing.stderr().startsWith("vps: REMOTE: remote file /tmp/reuse-nothing-here does not exist"), missing.stderr());
    }

    @Test
    void aClientThatGoesAwayStopsItsTransferInTheHolderAndTheRerunResumes(@TempDir Path dir) throws Exception {
        byte[] data = TransferTest.random(48 << 20, 21);
        Path src = Files.write(dir.resolve("big.bin"), data);
        vps.exec("rm -f /tmp/.gone.bin.vps-partial*; printf keep > /tmp/gone.bin");
        try (TcpProxy proxy = new TcpProxy(vps.port)) {
            proxy.bytesPerSecond = 8 << 20;   // about 6 s for the whole file
            List<String> viaProxy = List.of("-H", "127.0.0.1", "-p", Integer.toString(proxy.port()), "-u", "root", "-i", vps.key.toString(),
                    "--host-key", vps.hostKeyFingerprint, "--known-hosts", dir.resolve("kh").toString(), "--reuse");
            Target t = target(viaProxy);
            try (VpsConnection client = Holders.connect(t, Holders.DEFAULT_PERSIST, null)) {
                com.jcraft.jsch.ChannelSubsystem transfer = (com.jcraft.jsch.ChannelSubsystem) client.openChannel("subsystem");
                transfer.setSubsystem(HolderTransfer.SUBSYSTEM);
                java.io.OutputStream request = transfer.getOutputStream();
                transfer.connect(10_000);
                request.write(HolderTransfer.requestLine(true, List.of(src.toString()), "/tmp/gone.bin",
                        new Uploader.Options(false, false, false, true, "keep"), true));
                request.flush();
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (partialSize("/tmp/.gone.bin.vps-partial.") < (8 << 20) && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
            }   // the client's session ends here, mid-transfer
            // Left running, the rest would arrive within 6 s and replace the target: give it 9.
            Thread.sleep(8000);
            long stopped = partialSize("/tmp/.gone.bin.vps-partial.");
            Thread.sleep(1000);
            assertEquals(stopped, partialSize("/tmp/.gone.bin.vps-partial."), "the holder stopped writing");
            assertTrue(stopped > 0 && stopped < data.length, "a partial is left to resume: " + stopped);
            assertEquals("keep", vps.exec("cat /tmp/gone.bin"), "the target is untouched");
            assertTrue(Files.readString(Holders.files(t).log()).contains("the client of an sftp-put went away: stopping it"));
            Runs.Result again = TransferTest.put(TestSupport.args(viaProxy, "--json", src.toString(), "/tmp/gone.bin"));
            assertEquals(0, again.exit(), again.toString());
            Map<?, ?> file = (Map<?, ?>) ((List<?>) again.json().get("files")).get(0);
            assertTrue(((Number) file.get("resumedFrom")).longValue() > 0, "resumed, not restarted: " + file);
        }
        assertEquals(Sha256.hex(TransferTest.digestOf(data)), vps.exec("sha256sum < /tmp/gone.bin").substring(0, 64));
    }

    @Test
    void aTransferWaitsForTheOnlyChannelAnotherCommandHolds(@TempDir Path dir) throws Exception {
        int port = vps.extraSshd("MaxSessions=1");
        Path knownHosts = Files.writeString(dir.resolve("kh"), vps.knownHostsLine(port) + "\n");
        List<String> target = List.of("-H", "127.0.0.1", "-p", Integer.toString(port), "-u", "root", "-i", vps.key.toString(),
                "--known-hosts", knownHosts.toString(), "--reuse");
        Path src = Files.writeString(dir.resolve("note.txt"), "after the wait\n");
        java.util.concurrent.CompletableFuture<Runs.Result> busy = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> Runs.exec(TestSupport.args(target, "--", "touch /tmp/only-channel-held; sleep 2; echo done")));
        vps.await("test -e /tmp/only-channel-held && rm /tmp/only-channel-held && echo held", "held");   // the command holds the server's only channel now
        Runs.Result up = TransferTest.put(TestSupport.args(target, "--json", src.toString(), "/tmp/after-wait.txt"));
        assertEquals(0, up.exit(), "tried again once the channel was free, not 'no SFTP subsystem': " + up);
        assertEquals("after the wait", vps.exec("cat /tmp/after-wait.txt").trim());
        assertEquals("done\n", busy.get(30, TimeUnit.SECONDS).stdout());
    }

    /** The size of the largest partial whose name starts with PREFIX (0: none). */
    private static long partialSize(String prefix) {
        return Long.parseLong(vps.exec("s=$(stat -c %s " + prefix + "* 2>/dev/null | sort -n | tail -n 1); echo ${s:-0}").trim());
    }

    @Test
    void aChannelNobodyReadsDoesNotStallTheOthers() throws Exception {
        Target t = target(reuse(vps.target("root")));
        try (VpsConnection stuck = Holders.connect(t, Holders.DEFAULT_PERSIST, null)) {
            ChannelExec flood = (ChannelExec) stuck.openChannel("exec");
            flood.setCommand("head -c 64000000 /dev/zero");
            InputStream neverRead = flood.getInputStream();
            flood.connect(10_000);
            Thread.sleep(1000);
            for (int i = 0; i < 5; i++) {
                Runs.Result r = Runs.exec(reuse(vps.target("root"), "--", "echo still-moving-" + i));
                assertEquals(0, r.exit(), r.toString());
                assertTrue(r.millis() < 10_000, "a warm call is not held up by the unread channel: " + r);
            }
            assertTrue(neverRead.available() >= 0);
            flood.disconnect();
        }
    }

    @Test
    void fiftyParallelCommandsAgainstMaxSessionsTen() throws Exception {
        int port = vps.extraSshd("MaxSessions=10", "MaxStartups=100");
        Path knownHosts = Files.writeString(Files.createTempFile("kh", ""), vps.knownHostsLine(port) + "\n");
        List<String> target = new ArrayList<>(List.of("-H", "127.0.0.1", "-p", Integer.toString(port), "-u", "root", "-i", vps.key.toString(),
                "--known-hosts", knownHosts.toString(), "--reuse"));
        // Every command waits for a barrier file (at most 90 s), so the first ten hold the server's ten
        // sessions while the others ask for more: the limit is met for certain, not by chance of timing.
        String barrier = "/tmp/reuse-barrier-" + System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(50);
        List<Future<Runs.Result>> runs = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            String word = "parallel-" + i;
            runs.add(pool.submit(() -> Runs.exec(TestSupport.args(target, "--",
                    VpsServer.waitForFile(barrier) + "; echo " + word))));
        }
        try {
            Map<String, Object> state = Map.of();
            for (long deadline = System.nanoTime() + 60_000_000_000L; System.nanoTime() < deadline; Thread.sleep(100)) {
                state = Holders.all().isEmpty() ? Map.of() : Holders.all().get(0).readState().raw();
                if (state.get("refusals") instanceof Number n && n.intValue() >= 1) {
                    break;
                }
            }
            assertTrue(state.get("refusals") instanceof Number n && n.intValue() >= 1, "the server's limit was met while ten commands held it: " + state);
            vps.exec("touch " + barrier);
            for (int i = 0; i < 50; i++) {
                Runs.Result r = runs.get(i).get(120, TimeUnit.SECONDS);
                assertEquals(0, r.exit(), r.toString());
                assertEquals("parallel-" + i + "\n", r.stdout());
            }
            state = Holders.all().get(0).readState().raw();
            double limit = ((Number) state.get("sessionLimit")).doubleValue();
            assertTrue(limit >= 1 && limit <= 10, "the learned limit is never above the server's MaxSessions: " + state);
        } finally {
            vps.exec("touch " + barrier);
            pool.shutdownNow();
        }
    }

    @Test
    void anotherLocalUserCannotUseTheSocket() throws Exception {
        Runs.Result warm = Runs.exec(reuse(vps.target("root"), "--", "true"));
        assertEquals(0, warm.exit(), warm.toString());
        HolderFiles f = Holders.all().get(0);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f.dir())));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f.clientKey())));
        // Open the folders above so that only the holder's own 0700 folder stands in the way.
        for (Path p = f.dir().getParent(); p != null && !p.equals(Path.of("/tmp")) && !p.equals(Path.of("/")); p = p.getParent()) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        run(List.of("sh", "-c", "id vps-other >/dev/null 2>&1 || useradd -M vps-other"));
        String probe = "use Socket; socket(S, PF_UNIX, SOCK_STREAM, 0) or die; "
                + "if (connect(S, pack_sockaddr_un($ARGV[0]))) { print qq(connected\n) } elsif ($!{EACCES}) { print qq(denied\n) } else { print qq(error $!\n) }";
        String other = run(List.of("runuser", "-u", "vps-other", "--", "timeout", "10", "perl", "-e", probe, f.socket().toString()));
        assertEquals("denied", other.trim(), "another user is refused by the folder's permissions");
        String self = run(List.of("timeout", "10", "perl", "-e", probe, f.socket().toString()));
        assertEquals("connected", self.trim(), "the same probe works for the owner");
        int sshPort = ((Number) f.readState().raw().get("sshPort")).intValue();
        try (java.net.Socket direct = new java.net.Socket("127.0.0.1", sshPort)) {
            direct.setSoTimeout(5000);
            direct.getInputStream().readAllBytes();
            // reaching here means the holder closed the connection (a timeout would have thrown)
        } catch (java.net.SocketException reset) {
            // closed with a reset: turned away as well
        }
        assertTrue(Files.readString(f.log()).contains("turned away"), "the holder's TCP port serves no one but its own socket");
    }

    @Test
    void aDeadHolderIsReplacedWithoutAnError() throws Exception {
        assertEquals(0, Runs.exec(reuse(vps.target("root"), "--", "true")).exit());
        HolderFiles f = Holders.all().get(0);
        long pid = f.readState().pid();
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        ProcessHandle.of(pid).ifPresent(h -> h.onExit().orTimeout(10, TimeUnit.SECONDS).join());
        assertTrue(Files.exists(f.socket()), "a killed holder leaves its socket behind");
        Runs.Result r = Runs.exec(reuse(vps.target("root"), "--", "echo replaced"));
        assertEquals(0, r.exit(), r.toString());
        assertEquals("replaced\n", r.stdout());
        assertEquals("", r.stderr());
        assertNotEquals(pid, f.readState().pid());

        Holders.stop(f);
        Files.writeString(f.socket(), "not a socket");
        Runs.Result again = Runs.exec(reuse(vps.target("root"), "--", "echo again"));
        assertEquals(0, again.exit(), again.toString());
        Runs.Result stop = connection("stop", "--all");
        assertEquals(0, stop.exit(), stop.toString());
        assertTrue(stop.stdout().contains("stopped"), stop.toString());
        assertEquals(1, connection("status").exit(), "no holder runs after stop");
    }

    @Test
    void aHolderEndsAfterItsIdleLimit() throws Exception {
        Runs.Result r = Runs.exec(reuse(vps.target("root"), "--persist", "1s", "--", "true"));
        assertEquals(0, r.exit(), r.toString());
        HolderFiles f = Holders.all().get(0);
        long pid = f.readState().pid();
        assertTrue(ProcessHandle.of(pid).isPresent());
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertTrue(ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true), "the holder exited after 1 s without clients");
        assertTrue(!Files.exists(f.socket()) && f.readState() == null, "and removed its socket and state");
    }

    static Target target(List<String> args) {
        TargetOptions o = new TargetOptions();
        new picocli.CommandLine(new Object() {
            @picocli.CommandLine.Mixin
            TargetOptions options = o;
        }).parseArgs(args.toArray(String[]::new));
        return o.resolve();
    }

    static String run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + cmd);
        }
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
}
