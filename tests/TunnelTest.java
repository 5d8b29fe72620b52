import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.Container;

/**
 * Tunnels against the real OpenSSH container. The container shares this machine's loopback (host
 * networking), so an HTTP server this test starts on 127.0.0.1 is also on the server's loopback:
 * a -L to it goes through sshd, a -R port is sshd's own listener. Every test stops its tunnels.
 */
class TunnelTest extends VpsTestBase {
    static final String BODY = "hello through the tunnel";
    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @AfterEach
    void stopEverything() throws Exception {
        tunnel("stop", "--all");
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).close();
        }
        cleanup.clear();
    }

    private static Runs.Result tunnel(String... args) {
        return Runs.run(List.of(args), new byte[0], (out, err, in) -> new TunnelCommand(out, err));
    }

    private static Runs.Result tunnel(List<String> target, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(1, target);
        return tunnel(all.toArray(String[]::new));
    }

    /** An HTTP server on this machine's (and so the server's) loopback answering BODY; stopped after the test. */
    private int httpServer() throws IOException {
        HttpServer http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        http.createContext("/", exchange -> {
            byte[] body = BODY.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        http.start();
        cleanup.add(() -> http.stop(0));
        return http.getAddress().getPort();
    }

    /** GET / on 127.0.0.1:PORT over a fresh connection (HTTP/1.0: no pooled connection survives a drop); the body. */
    static String get(int port) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int body = answer.indexOf("\r\n\r\n");
            if (!answer.startsWith("HTTP/1.1 200") || body < 0) {
                throw new IOException("not a 200 answer: '" + answer + "'");
            }
            return answer.substring(body + 4);
        }
    }

    /** Whether GET / through PORT answers BODY, tried until it does, at most 10 s. */
    static boolean answersWithin10s(int port) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            try {
                if (get(port).equals(BODY)) {
                    return true;
                }
            } catch (IOException notYet) {
                // the tunnel is reconnecting
            }
            Thread.sleep(100);
        }
        return false;
    }

    private static Map<?, ?> started(Runs.Result r) {
        assertEquals(0, r.exit(), r.toString());
        Map<?, ?> m = r.json();
        assertEquals("up", m.get("status"), r.toString());
        assertTrue(String.valueOf(m.get("tunnel")).startsWith("tun-"), r.toString());
        return m;
    }

    private static int port(Map<?, ?> tunnel, int forward) {
        return ((Number) ((Map<?, ?>) ((List<?>) tunnel.get("forwards")).get(forward)).get("port")).intValue();
    }

    private static Map<?, ?> status(Map<?, ?> tunnel) {
        return tunnel("status", (String) tunnel.get("tunnel"), "--json").json();
    }

    /** The tunnel's status, polled (at most 10 s) until it shows KEY = VALUE (its counters are written as connections end). */
    private static Map<?, ?> awaitField(Map<?, ?> tunnel, String key, Object value) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        Map<?, ?> s = status(tunnel);
        while (!value.equals(s.get(key)) && System.nanoTime() < deadline) {
            Thread.sleep(50);
            s = status(tunnel);
        }
        assertEquals(value, s.get(key), String.valueOf(s));
        return s;
    }

    /** The tunnel's status, polled (at most 20 s) until it is WANTED; the last one seen. */
    private static Map<?, ?> awaitStatus(Map<?, ?> tunnel, String wanted) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        Map<?, ?> s = status(tunnel);
        while (!wanted.equals(s.get("status")) && System.nanoTime() < deadline) {
            Thread.sleep(100);
            s = status(tunnel);
        }
        assertEquals(wanted, s.get("status"), String.valueOf(s));
        return s;
    }

    /** Target options for USER at an sshd of the container on PORT. */
    private List<String> targetAt(String user, int port) throws IOException {
        Path knownHosts = Files.createTempFile("tunnel-known-hosts", "");
        Files.writeString(knownHosts, vps.knownHostsLine(port) + "\n");
        return List.of("-H", "127.0.0.1", "-p", Integer.toString(port), "-u", user, "-i", vps.key.toString(),
                "--known-hosts", knownHosts.toString(), "--connect-timeout", "10s");
    }

    @Test
    void localForwardReachesAnHttpServerOnTheServersLoopback() throws Exception {
        int http = httpServer();
        Map<?, ?> t = started(tunnel(vps.target("alice"), "start", "-L", "0:127.0.0.1:" + http, "--json"));
        int local = port(t, 0);
        assertEquals(BODY, get(local));
        assertEquals(BODY, get(local));
        awaitField(t, "connectionsTotal", 2L);
        Map<?, ?> s = awaitField(t, "connectionsOpen", 0L);
        assertEquals("up", s.get("status"), String.valueOf(s));
        assertTrue(((Number) s.get("bytesIn")).longValue() > 2 * BODY.length(), String.valueOf(s));
        assertTrue(((Number) s.get("bytesOut")).longValue() > 0, String.valueOf(s));
        assertEquals(vps.hostKeyFingerprint, s.get("hostKey"));
        Map<?, ?> v6 = started(tunnel(vps.target("alice"), "start", "-L", "[::1]:0:127.0.0.1:" + http, "--json"));
        try (Socket s6 = new Socket("::1", port(v6, 0))) {
            s6.setSoTimeout(10_000);
            s6.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertTrue(new String(s6.getInputStream().readAllBytes(), StandardCharsets.UTF_8).endsWith(BODY));
        }
        Runs.Result listed = tunnel("list");
        assertTrue(listed.stdout().contains(t.get("tunnel") + "  up since "), listed.toString());
        assertTrue(listed.stdout().contains("-L 127.0.0.1:" + local + " -> 127.0.0.1:" + http), listed.toString());
    }

    @Test
    void keptUpAcrossAKilledSessionAndAnSshdRestart() throws Exception {
        int http = httpServer();
        int sshdPort = VpsServer.freePort();
        startSshd(sshdPort);
        cleanup.add(() -> stopSshd(sshdPort));
        int remote = VpsServer.freePort();
        Map<?, ?> t = started(tunnel(targetAt("dana", sshdPort), "start", "-L", "0:127.0.0.1:" + http, "-R", remote + ":127.0.0.1:" + http, "--json"));
        int local = port(t, 0);
        assertEquals(BODY, get(local));
        assertEquals(BODY, get(remote));

        vps.exec("pkill -f 'sshd: dana'");   // the session's processes: the link drops, the listener stays
        assertTrue(awaitReconnects(t, 1), "the drop was never noticed");
        assertTrue(answersWithin10s(local), "no answer within 10 s after the session was killed: " + status(t));

        stopSshd(sshdPort);                   // the server goes away: the tunnel waits, its port stays bound
        awaitStatus(t, "reconnecting");
        // A client that connects now waits for the new login instead of being refused.
        java.util.concurrent.CompletableFuture<String> waiting = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return get(local);
            } catch (IOException e) {
                return "failed: " + e;
            }
        });
        awaitField(t, "connectionsOpen", 1L);
        startSshd(sshdPort);                  // and comes back on the same port: the tunnel logs in again by itself
        assertEquals(BODY, waiting.get(20, TimeUnit.SECONDS), "the client accepted while reconnecting");
        assertTrue(answersWithin10s(local), "no answer within 10 s after sshd came back: " + status(t));
        Map<?, ?> s = status(t);
        assertEquals("up", s.get("status"), String.valueOf(s));
        assertTrue(((Number) s.get("reconnects")).longValue() >= 2, String.valueOf(s));
        assertEquals(t.get("tunnel"), s.get("tunnel"));
        assertTrue(answersWithin10s(remote), "-R was not asked for again after the new login: " + s);
    }

    @Test
    void aChangedHostKeyAtAReconnectStopsTheTunnel() throws Exception {
        int http = httpServer();
        int sshdPort = VpsServer.freePort();
        startSshd(sshdPort);
        cleanup.add(() -> stopSshd(sshdPort));
        Map<?, ?> t = started(tunnel(targetAt("dana", sshdPort), "start", "-L", "0:127.0.0.1:" + http, "--json"));
        assertEquals(BODY, get(port(t, 0)));
        stopSshd(sshdPort);
        awaitStatus(t, "reconnecting");
        String otherKey = "/tmp/tunnel-other-host-key-" + sshdPort;
        vps.exec("rm -f " + otherKey + "*; ssh-keygen -q -t ed25519 -N '' -f " + otherKey);
        cleanup.add(() -> vps.exec("rm -f " + otherKey + "*"));
        startSshd(sshdPort, "-h", otherKey);   // the same port answers with another host key: never trusted silently
        Map<?, ?> s = awaitStatus(t, "failed");
        assertEquals("HOSTKEY", ((Map<?, ?>) s.get("error")).get("kind"), String.valueOf(s));
        Runs.Result r = tunnel("status", (String) t.get("tunnel"));
        assertEquals(255, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: HOSTKEY: "), r.stderr());
    }

    private static boolean awaitReconnects(Map<?, ?> t, int atLeast) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            if (((Number) status(t).get("reconnects")).longValue() >= atLeast) {
                return true;
            }
            Thread.sleep(50);
        }
        return false;
    }

    private static void startSshd(int port, String... more) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("/usr/sbin/sshd", "-p", Integer.toString(port), "-o", "ListenAddress=127.0.0.1",
                "-o", "PidFile=/run/sshd-tunnel-" + port + ".pid"));
        cmd.addAll(List.of(more));
        Container.ExecResult r = vps.container.execInContainer(cmd.toArray(String[]::new));
        assertEquals(0, r.getExitCode(), r.getStderr());
        VpsServer.awaitPort(port, true);
    }

    /** Stops the listener and every session it started (its children). */
    private static void stopSshd(int port) {
        String pid = "$(cat /run/sshd-tunnel-" + port + ".pid 2>/dev/null)";
        vps.exec("p=" + pid + "; [ -n \"$p\" ] && { pkill -P \"$p\"; kill \"$p\"; }; rm -f /run/sshd-tunnel-" + port + ".pid; pkill -f 'sshd: dana'");
        VpsServer.awaitPort(port, false);
    }

    @Test
    void remoteForwardExposesALocalServiceToTheServer() throws Exception {
        int http = httpServer();
        int remote = VpsServer.freePort();
        Map<?, ?> t = started(tunnel(vps.target("alice"), "start", "-R", remote + ":127.0.0.1:" + http, "--json"));
        // 127.0.0.1:REMOTE is sshd's listener in the container (loopback is shared): the server side of -R.
        assertEquals(BODY, get(remote));
        assertEquals("-R 127.0.0.1:" + remote + " -> 127.0.0.1:" + http + " (here)",
                ((Map<?, ?>) ((List<?>) t.get("forwards")).get(0)).get("describe"));
        // Counted like -L's: the connection (open while it lasts, so the idle end waits for it) and its bytes both ways.
        awaitField(t, "connectionsTotal", 1L);
        Map<?, ?> s = awaitField(t, "connectionsOpen", 0L);
        assertTrue(((Number) s.get("bytesIn")).longValue() >= "GET / HTTP/1.0\r\n".length(), "the request, from the server: " + s);
        assertTrue(((Number) s.get("bytesOut")).longValue() >= BODY.length(), "the answer, to the server: " + s);
    }

    @Test
    void socksProxyServesCurlWithNamesResolvedOnTheServer() throws Exception {
        int http = httpServer();
        Map<?, ?> t = started(tunnel(vps.target("alice"), "start", "-D", "0", "--json"));
        int socks = port(t, 0);
        Process curl = new ProcessBuilder("curl", "-sS", "--max-time", "10", "--socks5-hostname", "127.0.0.1:" + socks,
                "http://localhost:" + http + "/").redirectErrorStream(true).start();
        assertTrue(curl.waitFor(20, TimeUnit.SECONDS), "curl did not end");
        String out = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, curl.exitValue(), out);
        assertEquals(BODY, out);

        int closed = VpsServer.freePort();   // nothing listens there: curl hears "connection refused" from the proxy
        Process refused = new ProcessBuilder("curl", "-sS", "--max-time", "10", "--socks5-hostname", "127.0.0.1:" + socks,
                "http://localhost:" + closed + "/").redirectErrorStream(true).start();
        assertTrue(refused.waitFor(20, TimeUnit.SECONDS), "curl did not end");
        assertEquals(97, refused.exitValue(), new String(refused.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        Map<?, ?> s = awaitField(t, "lastError", "connect failed: localhost:" + closed);
        assertEquals("up", s.get("status"));
    }

    @Test
    void unixSocketOnTheServer() throws Exception {
        String socket = "/tmp/tunnel-agent-" + ProcessHandle.current().pid() + ".sock";
        vps.exec("rm -f " + socket + "; ssh-agent -a " + socket + " >/dev/null");
        cleanup.add(() -> vps.exec("SSH_AUTH_SOCK=" + socket + " ssh-agent -k >/dev/null 2>&1; pkill -f 'ssh-agent -a " + socket + "'; rm -f " + socket));
        Map<?, ?> t = started(tunnel(vps.target("root"), "start", "-L", "0:" + socket, "--json"));
        try (Socket s = new Socket("127.0.0.1", port(t, 0))) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(new byte[] {0, 0, 0, 1, 11});   // SSH_AGENTC_REQUEST_IDENTITIES
            byte[] answer = s.getInputStream().readNBytes(5);
            assertEquals(12, answer[4], "SSH_AGENT_IDENTITIES_ANSWER expected");   // from the agent on the server
        }
    }

    @Test
    void unreachableDestinationClosesThatConnectionAndTheTunnelStaysUp() throws Exception {
        int closed = VpsServer.freePort();
        Map<?, ?> t = started(tunnel(vps.target("alice"), "start", "-L", "0:127.0.0.1:" + closed, "--json"));
        try (Socket s = new Socket("127.0.0.1", port(t, 0))) {
            s.setSoTimeout(10_000);
            assertEquals(-1, s.getInputStream().read(), "the connection is closed");
        }
        Map<?, ?> s = awaitField(t, "lastError", "connect failed: 127.0.0.1:" + closed);
        assertEquals("up", s.get("status"));
    }

    @Test
    void allowTcpForwardingNoStopsTheTunnelWithItsError() throws Exception {
        int http = httpServer();
        int sshd = vps.extraSshd("AllowTcpForwarding=no");
        Map<?, ?> t = started(tunnel(targetAt("alice", sshd), "start", "-L", "0:127.0.0.1:" + http, "--json"));
        try (Socket s = new Socket("127.0.0.1", port(t, 0))) {
            s.setSoTimeout(10_000);
            assertEquals(-1, s.getInputStream().read(), "the connection is closed");
        }
        awaitStatus(t, "failed");
        Runs.Result r = tunnel("status", (String) t.get("tunnel"));
        assertEquals(1, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: REMOTE: the server refused to forward -L to 127.0.0.1:" + http + " (administratively prohibited)"), r.stderr());
        assertTrue(r.stderr().contains("hint: the server's sshd_config forbids it: AllowTcpForwarding yes"), r.stderr());
        assertThrows(IOException.class, () -> new Socket("127.0.0.1", port(t, 0)).close(), "a failed tunnel releases its port");

        Runs.Result remote = tunnel(targetAt("alice", sshd), "start", "-R", VpsServer.freePort() + ":127.0.0.1:" + http);
        assertEquals(1, remote.exit(), remote.toString());
        assertTrue(remote.stderr().startsWith("vps: REMOTE: the server refused to listen on 127.0.0.1:"), remote.stderr());
        assertTrue(remote.stderr().contains("AllowTcpForwarding yes (or remote)") && remote.stderr().contains("GatewayPorts"), remote.stderr());
    }

    @Test
    void localPortInUseIsAConfigErrorNamingIt() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            Runs.Result r = tunnel(vps.target("alice"), "start", "-L", taken.getLocalPort() + ":127.0.0.1:80");
            assertEquals(2, r.exit(), r.toString());
            assertTrue(r.stderr().startsWith("vps: CONFIG: local port 127.0.0.1:" + taken.getLocalPort() + " for -L is in use"), r.stderr());
            assertTrue(r.stderr().contains("(held by java pid " + ProcessHandle.current().pid() + ")"), r.stderr());
            assertTrue(r.stderr().contains("hint: choose another local port"), r.stderr());
        }
        Map<?, ?> first = started(tunnel(vps.target("alice"), "start", "-L", "0:127.0.0.1:80", "--json"));
        Runs.Result second = tunnel(vps.target("alice"), "start", "-L", port(first, 0) + ":127.0.0.1:80");
        assertEquals(2, second.exit(), second.toString());
        assertTrue(second.stderr().contains("(held by tunnel " + first.get("tunnel") + ")"), second.stderr());
        assertTrue(second.stderr().contains("tunnel stop " + first.get("tunnel")), second.stderr());
    }

    @Test
    void badForwardsAndWideBindsAreConfigErrors() {
        for (String[] bad : List.of(new String[] {"-L", "8080:localhost"}, new String[] {"-L", "x:localhost:80"},
                new String[] {"-L", "1:2:3:4:5"}, new String[] {"-R", "8080:/tmp/s.sock"}, new String[] {"-D", "70000"},
                new String[] {"-L", "[::1:8080:h:80"})) {
            Runs.Result r = tunnel(vps.target("alice"), "start", bad[0], bad[1]);
            assertEquals(2, r.exit(), r.toString());
            assertTrue(r.stderr().startsWith("vps: CONFIG: bad " + bad[0] + " " + bad[1] + ": "), r.stderr());
            assertTrue(r.stderr().contains("\nhint: write " + bad[0] + " "), r.stderr());
        }
        Runs.Result wide = tunnel(vps.target("alice"), "start", "-L", "0.0.0.0:0:127.0.0.1:80");
        assertEquals(2, wide.exit(), wide.toString());
        assertTrue(wide.stderr().startsWith("vps: CONFIG: -L binds 0.0.0.0, which other machines can reach"), wide.stderr());
        assertTrue(wide.stderr().contains("add --bind-any"), wide.stderr());
        Runs.Result none = tunnel(vps.target("alice"), "start");
        assertEquals(2, none.exit(), none.toString());
        assertTrue(none.stderr().startsWith("vps: CONFIG: no forward given"), none.stderr());

        TunnelSpec v6 = TunnelSpec.parse(TunnelSpec.Kind.L, "[::1]:8080:db.internal:5432");
        assertEquals(new TunnelSpec(TunnelSpec.Kind.L, "::1", 8080, "db.internal", 5432, null), v6);
        assertTrue(v6.loopbackBind());
        assertEquals(new TunnelSpec(TunnelSpec.Kind.L, "127.0.0.1", 2375, null, 0, "/var/run/docker.sock"),
                TunnelSpec.parse(TunnelSpec.Kind.L, "2375:/var/run/docker.sock"));
        assertEquals(new TunnelSpec(TunnelSpec.Kind.D, "127.0.0.1", 1080, null, 0, null), TunnelSpec.parse(TunnelSpec.Kind.D, "1080"));
        assertEquals(new TunnelSpec(TunnelSpec.Kind.R, "127.0.0.1", 9000, "::1", 3000, null), TunnelSpec.parse(TunnelSpec.Kind.R, "9000:[::1]:3000"));
    }

    @Test
    void aWideBindWithBindAnySaysSo() throws Exception {
        Runs.Result r = tunnel(vps.target("alice"), "start", "--bind-any", "-L", "0.0.0.0:0:127.0.0.1:80", "--json");
        started(r);
        assertTrue(r.stderr().startsWith("warning: -L 0.0.0.0:0 is reachable from other machines (--bind-any)"), r.stderr());
    }

    @Test
    void stopAllEndsEveryTunnelAndAuditsStartAndStop() throws Exception {
        int http = httpServer();
        Map<?, ?> a = started(tunnel(vps.target("alice"), "start", "-L", "0:127.0.0.1:" + http, "--json"));
        Map<?, ?> b = started(tunnel(vps.target("alice"), "start", "-D", "0", "--json"));
        Runs.Result stop = tunnel("stop", "--all", "--json");
        assertEquals(0, stop.exit(), stop.toString());
        assertEquals(List.of(a.get("tunnel"), b.get("tunnel")).stream().sorted().toList(), stop.json().get("stopped"));
        for (Map<?, ?> t : List.of(a, b)) {
            assertThrows(IOException.class, () -> new Socket("127.0.0.1", port(t, 0)).close(), "stopped: its port is released");
        }
        assertEquals(List.of(), tunnel("list", "--json").json().get("tunnels"));
        Runs.Result gone = tunnel("status", (String) a.get("tunnel"));
        assertEquals(2, gone.exit(), gone.toString());
        assertTrue(gone.stderr().startsWith("vps: CONFIG: no tunnel " + a.get("tunnel")), gone.stderr());

        List<String> actions = new ArrayList<>();
        Path auditDir = Path.of(Environment.get("VPS_TOOLKIT_HOME")).resolve("audit");
        for (AuditLog.Line l : new AuditLog(auditDir).lines()) {
            Map<String, Object> line = AuditLog.parse(l.text());
            actions.add(line.get("action") + " " + line.get("id") + " " + line.get("status"));
        }
        assertTrue(actions.contains("tunnel_start " + a.get("tunnel") + " ok"), actions.toString());
        assertTrue(actions.contains("tunnel_stop " + a.get("tunnel") + " ok"), actions.toString());
        assertTrue(actions.contains("tunnel_stop " + b.get("tunnel") + " ok"), actions.toString());
    }

    @Test
    void readOnlyPolicyRefusesATunnelAndConfirmAsks() throws Exception {
        Path policy = Files.writeString(Files.createTempDirectory("tunnel-policy").resolve("policy.yaml"), "default: { mode: read-only }\n");
        TestSupport.freshEnvironment(Map.of("VPS_POLICY", policy.toString()));
        Runs.Result r = tunnel(vps.target("alice"), "start", "-L", "0:127.0.0.1:80");
        assertEquals(77, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: POLICY: refused tunnel start `tunnel -L 127.0.0.1:0 -> 127.0.0.1:80 (on the server)`"), r.stderr());
        assertEquals(List.of(), tunnel("list", "--json").json().get("tunnels"));

        Files.writeString(policy, "default: { mode: confirm }\n");   // no terminal here: nobody can say yes
        Runs.Result confirm = tunnel(vps.target("alice"), "start", "-L", "0:127.0.0.1:80", "--yes");
        assertEquals(77, confirm.exit(), confirm.toString());
        assertTrue(confirm.stderr().contains("it needs a person's yes and nobody can be asked"), confirm.stderr());
        assertEquals(List.of(), tunnel("list", "--json").json().get("tunnels"));
    }

    @Test
    void idleEndsATunnelOnlyWhenNoClientConnectionIsOpen() throws Exception {
        try (ServerSocket holder = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            Map<?, ?> t = started(tunnel(vps.target("alice"), "start", "--idle", "1s", "-L", "0:127.0.0.1:" + holder.getLocalPort(), "--json"));
            try (Socket client = new Socket("127.0.0.1", port(t, 0)); Socket held = holder.accept()) {
                // Held open past the idle limit (the tunnel checks every second): still up, one connection open.
                long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(3500);
                while (System.nanoTime() < until) {
                    Map<?, ?> s = status(t);
                    assertEquals("up", s.get("status"), String.valueOf(s));
                    Thread.sleep(250);
                }
                awaitField(t, "connectionsOpen", 1L);
            }
            Map<?, ?> s = awaitStatus(t, "stopped");
            assertEquals("no client connection for 1s (--idle)", s.get("ended"), String.valueOf(s));
            assertThrows(IOException.class, () -> new Socket("127.0.0.1", port(t, 0)).close(), "ended: its port is released");
        }
    }

    /** A tunnel started without --idle ends like the engine: after VPS_PERSIST (default 10m) with no client connection; never keeps it. */
    @Test
    void aTunnelLeftBehindEndsAfterTheEnginesIdleTimeUnlessNever() throws Exception {
        TestSupport.freshEnvironment(Map.of("VPS_PERSIST", "1s"));
        Map<?, ?> kept = started(tunnel(vps.target("alice"), "start", "--idle", "never", "-L", "0:127.0.0.1:" + vps.port, "--json"));
        try {
            Map<?, ?> left = started(tunnel(vps.target("alice"), "start", "-L", "0:127.0.0.1:" + vps.port, "--json"));
            assertEquals(1L, status(left).get("idleLimitSeconds"), String.valueOf(status(left)));
            Map<?, ?> s = awaitStatus(left, "stopped");
            assertEquals("no client connection for 1s (--idle)", s.get("ended"), String.valueOf(s));
            Map<String, Object> end = awaitAuditLine("tunnel_end", (String) left.get("tunnel"));
            assertEquals("ended", end.get("status"), end.toString());
            assertEquals("no client connection for 1s (--idle)", end.get("reason"), end.toString());
            Map<?, ?> k = status(kept);
            assertEquals("up", k.get("status"), String.valueOf(k));
            assertNull(k.get("idleLimitSeconds"), String.valueOf(k));
        } finally {
            tunnel("stop", "--all");
        }
        TestSupport.freshEnvironment(Map.of());
        Map<?, ?> usual = started(tunnel(vps.target("alice"), "start", "-L", "0:127.0.0.1:" + vps.port, "--json"));
        try {
            assertEquals(600L, status(usual).get("idleLimitSeconds"), "10 minutes, as the engine: " + status(usual));
        } finally {
            tunnel("stop", "--all");
        }
    }

    /** The audit line of ACTION for tunnel ID, which its own process writes as it ends (at most 10 s). */
    private static Map<String, Object> awaitAuditLine(String action, String id) throws Exception {
        Path auditDir = Path.of(Environment.get("VPS_TOOLKIT_HOME")).resolve("audit");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            if (java.nio.file.Files.exists(auditDir)) {
                for (AuditLog.Line l : new AuditLog(auditDir).lines()) {
                    Map<String, Object> line = AuditLog.parse(l.text());
                    if (action.equals(line.get("action")) && id.equals(line.get("id"))) {
                        return line;
                    }
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no " + action + " line for tunnel " + id + " in " + auditDir);
            }
            Thread.sleep(100);
        }
    }

    @Test
    void foregroundReportsAStartFailureLikeStart() {
        // A port below 1024 is root's on the server: alice's -R there is refused at once, and nothing stays bound here.
        Runs.Result r = tunnel(vps.target("alice"), "start", "--foreground", "-L", "0:127.0.0.1:80", "-R", "22:127.0.0.1:80");
        assertEquals(1, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: REMOTE: the server refused to listen on 127.0.0.1:22 for -R"), r.stderr());
    }

    @Test
    void mcpToolsStartReportAndStopATunnel() throws Exception {
        int http = httpServer();
        Path home = Files.createTempDirectory("tunnel-mcp");
        try (McpServerTest.Session mcp = new McpServerTest.Session(home, Files.writeString(home.resolve("ssh_config"), ""), vps.target("alice"), Map.of())) {
            try {
                McpServerTest.Call start = mcp.call("tunnel_start", McpServerTest.args("local", "0:127.0.0.1:" + http));
                assertFalse(start.isError(), start.toString());
                assertEquals("up", start.get("status"), start.toString());
                String id = (String) start.get("tunnel");
                int local = port(start.json(), 0);
                assertEquals(BODY, get(local));
                McpServerTest.Call status = mcp.call("tunnel_status", McpServerTest.args("id", id));
                assertFalse(status.isError(), status.toString());
                assertEquals("up", status.get("status"), status.toString());
                McpServerTest.Call stop = mcp.call("tunnel_stop", McpServerTest.args("id", id));
                assertEquals(List.of(id), stop.get("stopped"), stop.toString());
                assertThrows(IOException.class, () -> new Socket("127.0.0.1", local).close(), "stopped: its port is released");
                McpServerTest.Call bad = mcp.call("tunnel_start", McpServerTest.args("local", "5432:localhost"));
                assertTrue(bad.isError(), bad.toString());
                assertEquals("CONFIG", bad.errorKind(), bad.toString());
            } finally {
                mcp.call("tunnel_stop", McpServerTest.args("all", true));
            }
        }
    }

    @Test
    void foregroundRunsUntilCtrlC() throws Exception {
        int http = httpServer();
        int local = VpsServer.freePort();
        Path dir = Files.createTempDirectory("tunnel-foreground");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Duser.home=" + System.getProperty("user.home"), "-Djdk.net.hosts.file=" + System.getProperty("jdk.net.hosts.file"),
                "-cp", System.getProperty("java.class.path"), "TunnelCommand", "start", "--foreground", "-L", local + ":127.0.0.1:" + http));
        cmd.addAll(vps.target("alice"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(dir.resolve("stdout").toFile()).redirectError(dir.resolve("stderr").toFile());
        pb.environment().clear();
        pb.environment().putAll(Environment.all());
        Process p = pb.start();
        cleanup.add(() -> Processes.waitOrKill(p, java.time.Duration.ZERO));
        boolean up = answersWithin10s(local) || answersWithin10s(local);   // a JVM starts first: up to twice 10 s
        assertTrue(up, "the foreground tunnel never answered: " + Files.readString(dir.resolve("stderr")));
        assertTrue(Files.readString(dir.resolve("stderr")).startsWith("tunnel: up\n  -L 127.0.0.1:" + local + " -> 127.0.0.1:" + http),
                Files.readString(dir.resolve("stderr")));
        assertEquals(List.of(), tunnel("list", "--json").json().get("tunnels"), "a foreground tunnel is not a detached one");
        Process kill = new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start();
        assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -INT was sent");
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "the tunnel did not end on Ctrl-C");
        assertEquals(130, p.exitValue(), Files.readString(dir.resolve("stderr")));
        assertThrows(IOException.class, () -> new Socket("127.0.0.1", local).close(), "ended: its port is released");
    }
}
