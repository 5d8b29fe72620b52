import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Faults between the toolkit and a real OpenSSH server: a cut link, a stalled link, latency, and
 * the server paused, killed and restarted. Keepalive here: ServerAliveInterval 1 x CountMax 2, so
 * a dead link must be found within 2 s (plus scheduling slack on a busy machine).
 */
class FaultTest extends VpsTestBase {
    static final long KEEPALIVE_BOUND_MS = 2_000;

    static Path keepaliveConfig() throws IOException {
        return Files.writeString(Files.createTempFile("ssh_config", ""), "Host *\n  ServerAliveInterval 1\n  ServerAliveCountMax 2\n");
    }

    /** Target options for root on PORT (the proxy's or a server's), with the fast keepalive and optionally --reuse. */
    static List<String> target(VpsServer server, int port, boolean reuse) throws IOException {
        Path knownHosts = Files.writeString(Files.createTempFile("kh", ""), server.knownHostsLine(port) + "\n");
        List<String> t = new ArrayList<>(List.of("-H", "127.0.0.1", "-p", Integer.toString(port), "-u", "root", "-i", server.key.toString(),
                "--known-hosts", knownHosts.toString(), "--ssh-config", keepaliveConfig().toString(), "--connect-timeout", "5s"));
        if (reuse) {
            t.add("--reuse");
        }
        return t;
    }

    static Runs.Result exec(List<String> target, String... more) {
        return Runs.exec(TestSupport.args(target, more));
    }

    @ParameterizedTest(name = "reuse={0}")
    @ValueSource(booleans = {false, true})
    void aCommandCutInTheMiddleIsReportedAndNeverRunAgain(boolean reuse) throws Exception {
        String marker = "/root/cut-marker-" + reuse;
        vps.exec("rm -f " + marker);
        try (TcpProxy proxy = new TcpProxy(vps.port)) {
            List<String> t = target(vps, proxy.port(), reuse);
            CompletableFuture<Runs.Result> run = CompletableFuture.supplyAsync(
                    () -> exec(t, "--json", "--", "echo started >> " + marker + "; sleep 3; echo finished >> " + marker));
            vps.await("grep -c started " + marker + " 2>/dev/null", "1");
            proxy.cutAll();
            Runs.Result r = run.get(30, TimeUnit.SECONDS);
            assertEquals(255, r.exit(), r.toString());
            Map<?, ?> error = (Map<?, ?>) r.json().get("error");
            assertEquals("NETWORK", error.get("kind"), r.toString());
            assertEquals(false, error.get("retriable"), "a command that may have run is not marked safe to retry");
            assertTrue(((String) error.get("message")).contains("it was not run again"), r.toString());
            Thread.sleep(3500);
            assertEquals("1", vps.exec("grep -c started " + marker).trim(), "the command ran exactly once");
        }
    }

    @ParameterizedTest(name = "reuse={0}")
    @ValueSource(booleans = {false, true})
    void aStallInTheMiddleEndsWithNetworkWithinTheKeepaliveBound(boolean reuse) throws Exception {
        String marker = "/root/stall-marker-" + reuse;
        vps.exec("rm -f " + marker);
        try (TcpProxy proxy = new TcpProxy(vps.port)) {
            List<String> t = target(vps, proxy.port(), reuse);
            CompletableFuture<Runs.Result> run = CompletableFuture.supplyAsync(() -> exec(t, "--", "touch " + marker + "; sleep 30"));
            vps.await("test -f " + marker + " && echo yes", "yes");
            long stalledAt = System.nanoTime();
            proxy.stalled = true;
            Runs.Result r = run.get(30, TimeUnit.SECONDS);
            long ms = (System.nanoTime() - stalledAt) / 1_000_000;
            assertEquals(255, r.exit(), r.toString());
            assertTrue(r.stderr().startsWith("vps: NETWORK: "), r.toString());
            assertTrue(ms < KEEPALIVE_BOUND_MS + 3_000, "a dead link is found within the keepalive bound, took " + ms + " ms");
        }
    }

    @Test
    void jobLogsAndTransfersCarryOnAfterACut(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Runs.Result start = JobTest.job("start", "--id", "cut-logs", "--", "for i in 1 2 3 4 5 6; do echo line-$i; sleep 0.5; done");
        assertEquals(0, start.exit(), start.toString());
        try (TcpProxy proxy = new TcpProxy(vps.port)) {
            List<String> t = target(vps, proxy.port(), false);
            CompletableFuture<Runs.Result> follow = CompletableFuture.supplyAsync(() -> JobTest.job(t, "logs", "cut-logs", "--follow", "--max", "30s"));
            Thread.sleep(1500);
            proxy.cutAll();
            Runs.Result logs = follow.get(60, TimeUnit.SECONDS);
            assertEquals(0, logs.exit(), logs.toString());
            assertEquals("line-1\nline-2\nline-3\nline-4\nline-5\nline-6\n", logs.stdout(), "every byte once, across the reconnect");

            byte[] data = TransferTest.random(6 << 20, 11);
            Path src = Files.write(dir.resolve("big.bin"), data);
            proxy.bytesPerSecond = 3 << 20;
            CompletableFuture<Runs.Result> put = CompletableFuture.supplyAsync(() -> TransferTest.put(t, "--json", src.toString(), "/tmp/cut-put.bin"));
            Thread.sleep(1200);
            proxy.cutAll();
            Runs.Result up = put.get(90, TimeUnit.SECONDS);
            assertEquals(0, up.exit(), up.toString());
            assertEquals(vps.exec("sha256sum < /tmp/cut-put.bin").substring(0, 64), up.json().get("sha256"));
        }
    }

    @Test
    void theServerPausedKilledAndRestarted() throws Exception {
        try (VpsServer own = new VpsServer()) {
            List<String> t = target(own, own.port, true);
            String id = own.container.getContainerId();
            var docker = own.container.getDockerClient();
            assertEquals(0, exec(t, "--", "true").exit());

            CompletableFuture<Runs.Result> during = CompletableFuture.supplyAsync(() -> exec(t, "--", "sleep 20"));
            Thread.sleep(1000);
            long pausedAt = System.nanoTime();
            docker.pauseContainerCmd(id).exec();
            try {
                Runs.Result r = during.get(30, TimeUnit.SECONDS);
                assertEquals(255, r.exit(), r.toString());
                assertTrue(r.stderr().startsWith("vps: NETWORK: "), r.toString());
                assertTrue((System.nanoTime() - pausedAt) / 1_000_000 < KEEPALIVE_BOUND_MS + 3_000, r.toString());
            } finally {
                docker.unpauseContainerCmd(id).exec();
            }
            Runs.Result afterPause = exec(t, "--", "echo after-pause");
            assertEquals(0, afterPause.exit(), afterPause.toString());

            docker.killContainerCmd(id).exec();
            Runs.Result whileDown = exec(t, "--json", "--", "echo never");
            assertEquals(255, whileDown.exit(), whileDown.toString());
            Map<?, ?> error = (Map<?, ?>) whileDown.json().get("error");
            assertEquals("NETWORK", error.get("kind"));
            String message = (String) error.get("message");
            assertTrue(message.contains("did not start") || message.contains("refused the connection"), whileDown.toString());
            assertEquals(true, error.get("retriable"), "a command that did not start may be run again");

            docker.startContainerCmd(id).exec();
            awaitListening(own.port);
            Runs.Result afterStart = exec(t, "--", "echo after-start");
            assertEquals(0, afterStart.exit(), afterStart.toString());

            docker.restartContainerCmd(id).withTimeout(5).exec();
            awaitListening(own.port);
            Runs.Result afterRestart = exec(t, "--", "echo after-restart");
            assertEquals(0, afterRestart.exit(), afterRestart.toString());
            assertEquals("after-restart\n", afterRestart.stdout());
        }
    }

    static void awaitListening(int port) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                s.setSoTimeout(2000);
                if (s.getInputStream().read() == 'S') {
                    return;
                }
            } catch (IOException notYet) {
                // still starting
            }
            Thread.sleep(200);
        }
        throw new AssertionError("sshd did not come back on port " + port);
    }
}
