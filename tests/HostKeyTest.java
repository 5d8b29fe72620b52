import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Host keys are always verified: known, unknown, trust on first use, pinned, and changed. */
class HostKeyTest extends VpsTestBase {
    static final String OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHmQ7p4e9c9W5pSjyM0+DPjUMNlszRscJNVVcYdv/end";

    private static Runs.Result run(Path knownHosts, String... more) {
        List<String> args = new ArrayList<>(List.of("-H", "127.0.0.1", "-p", Integer.toString(vps.port), "-u", "root",
                "-i", vps.key.toString(), "--known-hosts", knownHosts.toString()));
        args.addAll(List.of(more));
        return Runs.exec(args);
    }

    @Test
    void knownKeyConnects() {
        assertEquals("ok\n", run(vps.knownHosts, "--", "echo ok").stdout());
    }

    @Test
    void unknownKeyIsRefusedWithItsFingerprint(@TempDir Path dir) {
        Path empty = dir.resolve("known_hosts");
        Runs.Result r = run(empty, "--", "echo ok");
        assertEquals(255, r.exit());
        assertTrue(r.stderr().startsWith("vps: HOSTKEY: the host key of [127.0.0.1]:" + vps.port + " is not known"), r.stderr());
        assertTrue(r.stderr().contains(vps.hostKeyFingerprint), r.stderr());
        assertTrue(r.stderr().contains("--accept-new"), r.stderr());
        assertTrue(!Files.exists(empty), "nothing was recorded");
    }

    @Test
    void acceptNewRecordsTheKeyOnce(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("sub/known_hosts");
        assertEquals("ok\n", run(file, "--accept-new", "--", "echo ok").stdout());
        List<String> lines = Files.readAllLines(file);
        assertEquals(1, lines.size());
        assertTrue(lines.get(0).startsWith("[127.0.0.1]:" + vps.port + " ssh-ed25519 "), lines.get(0));
        Runs.Result second = run(file, "--", "echo again");
        assertEquals("again\n", second.stdout(), "the recorded key is trusted without --accept-new");
        assertEquals(1, Files.readAllLines(file).size());
    }

    @Test
    void racingAcceptNewCallsLeaveAValidFile(@TempDir Path dir) throws Exception {
        Assumptions.assumeFalse(EngineRuns.on(), "in-process only: its barrier counts this JVM's threads in HostKeyVerifier.record");
        Path file = dir.resolve("known_hosts");
        Files.writeString(file, "# keep me\nexample.org " + OTHER_KEY);
        // Another process holds the file's lock until all eight calls of this JVM (as mcp-server's may be)
        // are recording: they overlap for certain. A second lock() from one JVM threw OverlappingFileLockException.
        Process holder = new ProcessBuilder("python3", "-c", "import fcntl, sys; f = open(sys.argv[1], 'a'); fcntl.lockf(f, fcntl.LOCK_EX);"
                + " print('locked', flush=True); sys.stdin.read()", file.toString()).redirectErrorStream(true).start();
        assertEquals("locked", new java.io.BufferedReader(new java.io.InputStreamReader(holder.getInputStream())).readLine());
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<Runs.Result>> results = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            results.add(pool.submit(() -> run(file, "--accept-new", "--", "echo ok")));
        }
        for (long deadline = System.nanoTime() + 60_000_000_000L; System.nanoTime() < deadline; Thread.sleep(20)) {
            long recording = Thread.getAllStackTraces().values().stream().filter(stack -> java.util.Arrays.stream(stack)
                    .anyMatch(f -> f.getClassName().equals("HostKeyVerifier") && f.getMethodName().equals("record"))).count();
            if (recording == 8 || results.stream().anyMatch(Future::isDone)) {
                break;
            }
        }
        holder.getOutputStream().close();   // lets the other process go: its lock ends with it
        assertTrue(holder.waitFor(10, java.util.concurrent.TimeUnit.SECONDS));
        for (Future<Runs.Result> f : results) {
            assertEquals(0, f.get().exit(), f.get().toString());
        }
        pool.shutdown();
        List<String> lines = Files.readAllLines(file);
        assertEquals("# keep me", lines.get(0));
        assertEquals("example.org " + OTHER_KEY, lines.get(1));
        for (String line : lines.subList(2, lines.size())) {
            assertTrue(line.startsWith("[127.0.0.1]:" + vps.port + " ssh-ed25519 AAAA"), line);
        }
        assertEquals(0, run(file, "--", "true").exit());
    }

    @Test
    void changedKeyIsRefusedInEveryMode(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("known_hosts");
        Files.writeString(file, "# first line\n[127.0.0.1]:" + vps.port + " " + OTHER_KEY + "\n");
        for (List<String> mode : List.of(List.<String>of(), List.of("--accept-new"), List.of("--host-key", vps.hostKeyFingerprint))) {
            List<String> args = new ArrayList<>(mode);
            args.addAll(List.of("--", "echo should-not-run"));
            Runs.Result r = run(file, args.toArray(String[]::new));
            assertEquals(255, r.exit(), mode + ": " + r);
            assertTrue(r.stderr().startsWith("vps: HOSTKEY: the host key of [127.0.0.1]:" + vps.port + " has CHANGED"), r.stderr());
            assertTrue(r.stderr().contains(vps.hostKeyFingerprint), "new fingerprint: " + r.stderr());
            assertTrue(r.stderr().contains("SHA256:") && r.stderr().contains(file + ":2"), "old fingerprint and line: " + r.stderr());
            assertTrue(r.stderr().contains("ssh-keygen -R"), r.stderr());
            assertTrue(!r.stdout().contains("should-not-run"));
        }
        assertEquals(2, Files.readAllLines(file).size(), "known_hosts untouched");
    }

    @Test
    void anotherPortOfAKnownHostIsNewNotChanged(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("known_hosts");
        Files.writeString(file, "127.0.0.1 " + OTHER_KEY + "\n");
        Runs.Result r = run(file, "--", "true");
        assertTrue(r.stderr().startsWith("vps: HOSTKEY: the host key of [127.0.0.1]:" + vps.port + " is not known"), r.stderr());
        assertEquals("ok\n", run(file, "--accept-new", "--", "echo ok").stdout());
    }

    @Test
    void revokedKeyIsRefusedEvenWhenListedAsKnown(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("known_hosts");
        String key = vps.knownHostsLine(vps.port).split(" ", 2)[1];
        Files.writeString(file, vps.knownHostsLine(vps.port) + "\n@revoked * " + key + "\n");
        Runs.Result r = run(file, "--", "echo should-not-run");
        assertEquals(255, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: HOSTKEY: ") && r.stderr().contains("@revoked"), r.stderr());
        assertTrue(!r.stdout().contains("should-not-run"));
    }

    @Test
    void hostCertificateSignedByAKnownCertAuthority(@TempDir Path dir) throws Exception {
        vps.exec("rm -f /tmp/ca /tmp/ca.pub /tmp/host-cert.pub; ssh-keygen -q -t ed25519 -N '' -f /tmp/ca"
                + " && cp /etc/ssh/ssh_host_ed25519_key.pub /tmp/host.pub"
                + " && ssh-keygen -q -s /tmp/ca -I vps-test -h -n 127.0.0.1 -V -5m:+1h /tmp/host.pub");
        int port = vps.extraSshd("HostKey=/etc/ssh/ssh_host_ed25519_key", "HostCertificate=/tmp/host-cert.pub");
        String ca = vps.exec("cat /tmp/ca.pub").trim();
        Path file = dir.resolve("known_hosts");
        Files.writeString(file, "@cert-authority [127.0.0.1]:" + port + " " + ca + "\n");
        List<String> args = List.of("-H", "127.0.0.1", "-p", Integer.toString(port), "-u", "root", "-i", vps.key.toString(),
                "--known-hosts", file.toString(), "--", "echo certified");
        TestSupport.freshEnvironment();
        Runs.Result r = Runs.exec(args);
        assertEquals("certified\n", r.stdout(), r.toString());

        Files.writeString(file, "@cert-authority [127.0.0.1]:" + port + " " + OTHER_KEY + "\n");
        Runs.Result otherCa = Runs.exec(args);
        assertEquals(255, otherCa.exit(), otherCa.toString());
        assertTrue(otherCa.stderr().startsWith("vps: HOSTKEY: "), otherCa.stderr());
    }

    @Test
    void pinnedFingerprintIsEnoughAndAWrongPinIsRefused(@TempDir Path dir) {
        Path empty = dir.resolve("known_hosts");
        assertEquals("pinned\n", run(empty, "--host-key", vps.hostKeyFingerprint, "--", "echo pinned").stdout());
        Runs.Result wrong = run(empty, "--host-key", "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "--", "true");
        assertEquals(255, wrong.exit());
        assertTrue(wrong.stderr().startsWith("vps: HOSTKEY: ") && wrong.stderr().contains("not the pinned"), wrong.stderr());
    }
}
