import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Shared test setup: a private toolkit home, no user ssh config, and name resolution kept local. */
final class TestSupport {
    private static final List<Sandbox> sandboxes = new ArrayList<>();

    private TestSupport() {}

    /**
     * Tests may send traffic only to loopback, and a DNS query for a made-up name would leave the
     * machine; the JDK's hosts-file resolver answers every lookup from this file instead.
     */
    static void isolateNameResolution() throws IOException {
        Path hosts = Files.createTempFile("vps-test-hosts", "");
        Files.writeString(hosts, "127.0.0.1 localhost\n::1 localhost ip6-localhost\n");
        System.setProperty("jdk.net.hosts.file", hosts.toString());
    }

    /** In-process runs must not find the real ~/.ssh (keys, config, known_hosts) of whoever runs the tests. */
    static void isolateHome() throws IOException {
        System.setProperty("user.home", Files.createTempDirectory("vps-test-home").toString());
    }

    /** A fresh, private environment for in-process runs; returns the toolkit home used. */
    static Path freshEnvironment(Map<String, String> extra) {
        try {
            Path home = Files.createTempDirectory("vps-home");
            Path sshConfig = Files.writeString(home.resolve("ssh_config"), "");
            Map<String, String> env = new HashMap<>();
            env.put("PATH", System.getenv("PATH"));
            env.put("VPS_TOOLKIT_HOME", home.toString());
            env.put("VPS_SSH_CONFIG", sshConfig.toString());
            env.putAll(extra);
            Environment.use(env);
            return home;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path freshEnvironment() {
        return freshEnvironment(Map.of());
    }

    /** A sandbox in its own folder, stopped at the end of the run even when a test fails. */
    static synchronized Sandbox sandbox(Path dir) {
        Sandbox s = new Sandbox(dir);
        sandboxes.add(s);
        return s;
    }

    static synchronized void stopSandboxes() {
        sandboxes.forEach(Sandbox::stop);
        sandboxes.clear();
    }

    static List<String> args(List<String> target, String... more) {
        List<String> all = new ArrayList<>(target);
        all.addAll(List.of(more));
        return all;
    }
}
