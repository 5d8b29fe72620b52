import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.jcraft.jsch.ChannelExec;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The warm sessions of the engine and mcp-server: one login serves concurrent leases, a dead
 * session is replaced (its host key checked again), and no command is ever sent twice.
 */
class SessionPoolTest extends VpsTestBase {
    /** TARGET_ARGS (script options) resolved as a script would. */
    static Target resolve(List<String> targetArgs) {
        TargetOptions o = new TargetOptions();
        new picocli.CommandLine(new Object() {
            @picocli.CommandLine.Mixin
            TargetOptions options = o;
        }).parseArgs(targetArgs.toArray(String[]::new));
        return o.resolve();
    }

    /** Runs COMMAND on a lease of T from POOL (as mcp-server's exec does); its stdout, or the exit status as a failure. */
    static String run(SessionPool pool, Target t, String command) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ExecOutcome outcome = pool.use(t, 1, c -> ExecRunner.run(c, RemoteCommand.of(command), out, err, null));
        String stdout = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, outcome.processExitCode(), command + ": " + stdout + err.toString(StandardCharsets.UTF_8));
        return stdout;
    }

    /** Root on the shared server through PROXY, with a known_hosts that knows it at the proxy's port. */
    static Target throughProxy(TcpProxy proxy, Path dir) throws Exception {
        Path knownHosts = Files.writeString(dir.resolve("known_hosts"), vps.knownHostsLine(proxy.port()) + "\n");
        return vps.resolved("root", proxy.port(), knownHosts);
    }

    /** Waits (at most 10 s) until the pool saw T's session die: JSch notices a cut link on its own reader thread. */
    static void awaitDead(SessionPool pool, Target t) throws InterruptedException {
        for (long deadline = System.nanoTime() + 10_000_000_000L; pool.isConnected(t); Thread.sleep(10)) {
            assertTrue(System.nanoTime() < deadline, "the cut session still looks alive after 10 s");
        }
    }

    static int leases(SessionPool pool) {
        return pool.status().isEmpty() ? 0 : ((Number) pool.status().get(0).get("leases")).intValue();
    }

    static int lines(String remoteFile) {
        return Integer.parseInt(vps.exec("cat " + remoteFile + " 2>/dev/null | wc -l").trim());
    }

    @Test
    void twoLeasesRunAtOnceOnOneSession() throws Exception {
        Target t = vps.resolved("root");
        String tag = "/tmp/pool-pair-" + System.nanoTime();
        long logins = vps.logins();
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try (SessionPool pool = new SessionPool(System.err)) {
            // Each command waits for the other's file: both end only when both ran at the same time.
            Future<String> a = threads.submit(() -> run(pool, t, "touch " + tag + ".a; " + VpsServer.waitForFile(tag + ".b") + "; echo a"));
            Future<String> b = threads.submit(() -> run(pool, t, "touch " + tag + ".b; " + VpsServer.waitForFile(tag + ".a") + "; echo b"));
            assertEquals("a\n", a.get(60, TimeUnit.SECONDS));
            assertEquals("b\n", b.get(60, TimeUnit.SECONDS));
            assertEquals(1, pool.status().size(), pool.status().toString());
        } finally {
            threads.shutdownNow();
        }
        assertEquals(1, vps.logins() - logins, "both leases shared one login");
    }

    @Test
    void twentyConcurrentLeasesQueueForEightChannelsAndAllComplete() throws Exception {
        Target t = vps.resolved("root");
        String tag = "/tmp/pool-twenty-" + System.nanoTime();
        long logins = vps.logins();
        ExecutorService threads = Executors.newFixedThreadPool(20);
        try (SessionPool pool = new SessionPool(System.err)) {
            List<Future<String>> runs = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                String word = "lease-" + i;
                runs.add(threads.submit(() -> run(pool, t, "echo started >> " + tag + ".started; " + VpsServer.waitForFile(tag + ".go") + "; echo " + word)));
            }
            vps.await("cat " + tag + ".started 2>/dev/null | wc -l", Integer.toString(SessionPool.CHANNELS));
            for (long deadline = System.nanoTime() + 30_000_000_000L; leases(pool) < 20; Thread.sleep(10)) {
                assertTrue(System.nanoTime() < deadline, "the twenty calls did not all ask for a lease: " + pool.status());
            }
            assertEquals(SessionPool.CHANNELS, lines(tag + ".started"), "no more than 8 channels at once: the others wait for theirs");
            assertEquals(t.display(), pool.status().get(0).get("target"));
            assertTrue(runs.stream().noneMatch(Future::isDone), "the twelve beyond eight are queued, not refused");
            vps.exec("touch " + tag + ".go");
            for (int i = 0; i < 20; i++) {
                assertEquals("lease-" + i + "\n", runs.get(i).get(120, TimeUnit.SECONDS));
            }
            assertEquals(20, lines(tag + ".started"));
            assertEquals(0, leases(pool), "every lease was given back");
        } finally {
            vps.exec("touch " + tag + ".go");
            threads.shutdownNow();
        }
        assertEquals(1, vps.logins() - logins, "twenty calls, one login");
    }

    @Test
    void aSessionThatDiedBetweenLeasesIsReplacedAndTheCommandRunsOnce(@TempDir Path dir) throws Exception {
        String file = "/root/pool-once-" + System.nanoTime();
        try (TcpProxy proxy = new TcpProxy(vps.port); SessionPool pool = new SessionPool(System.err)) {
            Target t = throughProxy(proxy, dir);
            assertEquals("warm\n", run(pool, t, "echo warm"));
            proxy.cutAll();
            awaitDead(pool, t);
            assertEquals("ok\n", run(pool, t, "echo run >> " + file + "; echo ok"));
            assertEquals(1, lines(file), "the command ran exactly once");
            assertEquals(1, ((Number) pool.status().get(0).get("reconnects")).intValue(), pool.status().toString());
        }
    }

    @Test
    void aLeaseWhoseSessionDiedBeforeItsExecOrSftpUsesANewSession(@TempDir Path dir) throws Exception {
        String file = "/root/pool-leased-" + System.nanoTime();
        try (TcpProxy proxy = new TcpProxy(vps.port); SessionPool pool = new SessionPool(System.err)) {
            Target t = throughProxy(proxy, dir);
            try (VpsConnection lease = pool.lease(t, 1, null)) {
                proxy.cutAll();
                awaitDead(pool, t);
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                ExecOutcome o = ExecRunner.run(lease, RemoteCommand.of("echo run >> " + file + "; echo ok"), out, new ByteArrayOutputStream(), null);
                assertEquals(0, o.processExitCode());
                assertEquals("ok\n", out.toString(StandardCharsets.UTF_8));
                proxy.cutAll();   // and once more before an SFTP channel opens on the same lease
                awaitDead(pool, t);
                try (RemoteFs fs = RemoteFs.open(lease)) {
                    assertTrue(fs.stat("/root").isDir(), "SFTP works on the new session");
                }
            }
            assertEquals(1, lines(file), "nothing had been sent on the dead session: the command ran once, on the new one");
            assertTrue(pool.isConnected(t));
            assertEquals(2, ((Number) pool.status().get(0).get("reconnects")).intValue(), pool.status().toString());
        }
    }

    @Test
    void aDropAfterTheExecRequestLeftFailsAsMayHaveRunAndIsNeverSentAgain(@TempDir Path dir) throws Exception {
        String file = "/root/pool-dropped-" + System.nanoTime();
        try (TcpProxy proxy = new TcpProxy(vps.port); SessionPool pool = new SessionPool(System.err)) {
            Target t = throughProxy(proxy, dir);
            CompletableFuture<String> call = CompletableFuture.supplyAsync(
                    () -> run(pool, t, "echo run >> " + file + "; " + VpsServer.waitForFile(file + ".go") + "; echo done"));
            vps.await("cat " + file + " 2>/dev/null | wc -l", "1");   // the command runs: its request has left
            proxy.cutAll();
            java.util.concurrent.ExecutionException failed = assertThrows(java.util.concurrent.ExecutionException.class, () -> call.get(60, TimeUnit.SECONDS));
            VpsException e = (VpsException) failed.getCause();
            assertEquals(VpsException.Kind.NETWORK, e.kind, e.getMessage());
            assertFalse(e.retriable, "a command that may have run is not marked safe to retry: " + e.getMessage());
            assertTrue(e.getMessage().contains("it was not run again"), e.getMessage());
            vps.exec("touch " + file + ".go");
            assertEquals("after\n", run(pool, t, "echo after"), "the next lease logs in again");
            assertEquals(1, lines(file), "the dropped command was sent once, never again");
        }
    }

    @Test
    void oneLeasesFailingChannelDoesNotEndAnothersCommand() throws Exception {
        Target t = vps.resolved("root");
        String tag = "/tmp/pool-neighbour-" + System.nanoTime();
        try (SessionPool pool = new SessionPool(System.err)) {
            CompletableFuture<String> survivor = CompletableFuture.supplyAsync(
                    () -> run(pool, t, "touch " + tag + ".a; " + VpsServer.waitForFile(tag + ".go") + "; echo survived"));
            vps.await("test -e " + tag + ".a && echo yes", "yes");
            VpsConnection doomed = pool.lease(t, 1, null);
            ChannelExec channel = doomed.openExec("echo $$ > " + tag + ".pid; exec sleep 60");
            java.io.InputStream out = channel.getInputStream();
            channel.connect(10_000);
            vps.await("test -s " + tag + ".pid && echo yes", "yes");
            vps.exec("kill -KILL $(cat " + tag + ".pid)");   // its remote command dies,
            out.close();                                     // its caller stops reading,
            channel.disconnect();                            // its channel is torn down,
            doomed.close();                                  // and its lease ends
            vps.exec("touch " + tag + ".go");
            assertEquals("survived\n", survivor.get(60, TimeUnit.SECONDS), "the other lease's command ran to its end");
            assertTrue(pool.isConnected(t), "the shared session is still up");
        } finally {
            vps.exec("touch " + tag + ".go");
        }
    }

    @Test
    void aChangedHostKeyAtReconnectIsRefused(@TempDir Path dir) throws Exception {
        vps.exec("rm -f /tmp/pool-other-host-key*; ssh-keygen -q -t ed25519 -N '' -f /tmp/pool-other-host-key");
        int impostor = vps.extraSshd("HostKey=/tmp/pool-other-host-key");
        try (TcpProxy proxy = new TcpProxy(vps.port); SessionPool pool = new SessionPool(System.err)) {
            Target t = throughProxy(proxy, dir);
            assertEquals("warm\n", run(pool, t, "echo warm"));
            proxy.retarget(impostor);   // another server behind the same address, with another host key
            proxy.cutAll();
            awaitDead(pool, t);
            VpsException e = assertThrows(VpsException.class, () -> run(pool, t, "echo should-not-run"));
            assertEquals(VpsException.Kind.HOSTKEY, e.kind, e.getMessage());
            assertFalse(pool.isConnected(t), "no session was kept");
        }
    }

    @Test
    void anIdleSessionIsClosedAndDropEndsOne() throws Exception {
        Target t = vps.resolved("root");
        try (SessionPool pool = new SessionPool(System.err, Duration.ofMillis(300))) {
            assertEquals("x\n", run(pool, t, "echo x"));
            for (long deadline = System.nanoTime() + 10_000_000_000L; !pool.status().isEmpty(); Thread.sleep(50)) {
                assertTrue(System.nanoTime() < deadline, "not evicted after 10 s: " + pool.status());
            }
            assertFalse(pool.isConnected(t));
        }
        try (SessionPool pool = new SessionPool(System.err)) {
            assertEquals("y\n", run(pool, t, "echo y"));
            assertTrue(pool.drop(t));
            assertFalse(pool.isConnected(t));
            assertEquals(0, pool.dropAll());
            assertEquals("z\n", run(pool, t, "echo z"), "a dropped target logs in again on its next lease");
        }
    }

    @Test
    void pastTheBoundOnIdleSessionsTheLeastRecentlyUsedIsClosed() {
        Target root = vps.resolved("root");
        Target alice = vps.resolved("alice");
        Target dana = vps.resolved("dana");
        try (SessionPool pool = new SessionPool(System.err, Duration.ofMinutes(10), 2)) {
            assertEquals("root\n", run(pool, root, "whoami"));
            assertEquals("alice\n", run(pool, alice, "whoami"));
            assertEquals("root\n", run(pool, root, "whoami"));   // root is now the more recently used
            assertEquals("dana\n", run(pool, dana, "whoami"));
            assertEquals(2, pool.status().size(), pool.status().toString());
            assertFalse(pool.isConnected(alice), "the least recently used idle session was closed");
            assertTrue(pool.isConnected(root) && pool.isConnected(dana));
        }
    }

    /** A lease adds no round trip: a warm exec costs about two at 50 ms RTT, a new connection several more. */
    @Test
    void aLeasedExecCostsNoMoreRoundTripsThanTheExecItself(@TempDir Path dir) throws Exception {
        try (TcpProxy proxy = new TcpProxy(vps.port); SessionPool pool = new SessionPool(System.err)) {
            proxy.delayMs = 25;
            Target t = throughProxy(proxy, dir);
            run(pool, t, "true");
            int[] trips = new int[5];
            long[] millis = new long[5];
            for (int i = 0; i < trips.length; i++) {
                int before = proxy.roundTrips();
                long start = System.nanoTime();
                run(pool, t, "true");
                millis[i] = (System.nanoTime() - start) / 1_000_000;
                trips[i] = proxy.roundTrips() - before;
            }
            int before = proxy.roundTrips();
            long start = System.nanoTime();
            try (VpsConnection fresh = VpsConnection.connect(t, null)) {
                ExecRunner.run(fresh, RemoteCommand.of("true"), new ByteArrayOutputStream(), new ByteArrayOutputStream(), null);
            }
            long freshMillis = (System.nanoTime() - start) / 1_000_000;
            int freshTrips = proxy.roundTrips() - before;
            java.util.Arrays.sort(trips);
            java.util.Arrays.sort(millis);
            System.out.println("  50 ms RTT: lease+exec " + trips[2] + " round trips, " + millis[2] + " ms (median of 5); new connection + exec "
                    + freshTrips + " round trips, " + freshMillis + " ms");
            assertTrue(trips[2] <= 3, "a leased exec: about 2 round trips, was " + java.util.Arrays.toString(trips));
            assertTrue(freshTrips >= trips[2] + 4, "a new connection costs several more: " + freshTrips);
        }
    }
}
