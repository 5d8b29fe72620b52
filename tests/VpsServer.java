import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.testcontainers.containers.Container;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.Transferable;
import org.testcontainers.utility.DockerImageName;

/**
 * The "VPS" of the tests: a Debian container with OpenSSH as PID 1 on host networking, so it
 * listens on 127.0.0.1:port. Users: root and alice (passwordless sudo) log in with {@link #key};
 * bob's sudo wants a password. dana, zed, fin and tom log in with the same key and have dash, zsh,
 * fish and tcsh as their login shells. One container is shared by the whole run and stopped at its end.
 */
final class VpsServer implements AutoCloseable {
    /** bob's password, which his sudo asks for (as SETUP sets it). */
    static final String BOB_PASSWORD = "a-password";
    static final String IMAGE = System.getenv().getOrDefault("VPS_TEST_IMAGE", "vps-toolkit/openssh:bookworm-3");
    /** Debian 13 with OpenSSH 10 (tests/docker-up builds it too): ML-KEM is its default key exchange. */
    static final String TRIXIE_IMAGE = System.getenv().getOrDefault("VPS_TEST_TRIXIE_IMAGE", "vps-toolkit/openssh:trixie-1");
    /** Ubuntu 22.04 and 24.04, which tests/docker-up builds when archive.ubuntu.com answers (setup-server's releases). */
    static final String JAMMY_IMAGE = System.getenv().getOrDefault("VPS_TEST_JAMMY_IMAGE", "vps-toolkit/openssh:jammy-1");
    static final String NOBLE_IMAGE = System.getenv().getOrDefault("VPS_TEST_NOBLE_IMAGE", "vps-toolkit/openssh:noble-1");
    private static VpsServer shared;

    final GenericContainer<?> container;
    final int port;
    final Path dir;
    final Path key;
    final Path knownHosts;
    final String hostKeyFingerprint;

    static synchronized VpsServer shared() {
        if (shared == null) {
            shared = new VpsServer();
        }
        return shared;
    }

    static synchronized void stopShared() {
        if (shared != null) {
            shared.close();
            shared = null;
        }
    }

    VpsServer() {
        this("-o LogLevel=VERBOSE");
    }

    /** @param sshdOptions extra sshd command-line options, e.g. "-o LogLevel=DEBUG1" */
    VpsServer(String sshdOptions) {
        this(IMAGE, sshdOptions);
    }

    /** A server from IMAGE (e.g. {@link #TRIXIE_IMAGE}), set up the same way. */
    @SuppressWarnings("resource")
    VpsServer(String image, String sshdOptions) {
        try {
            dir = Files.createTempDirectory("vps-server");
            port = freePort();
            key = dir.resolve("id_ecdsa");
            String publicKey = writeKeyPair(key);
            container = new GenericContainer<>(DockerImageName.parse(image))
                    .withNetworkMode("host")
                    .withTmpFs(java.util.Map.of("/mnt/tiny", "rw,size=1m,mode=1777"))
                    .withCopyToContainer(Transferable.of(publicKey), "/tmp/client.pub")
                    .withCopyToContainer(Transferable.of(SETUP, 0755), "/tmp/setup.sh")
                    .withCommand("/bin/sh", "-c", "/tmp/setup.sh && exec /usr/sbin/sshd -D -e -p " + port
                            + " -o ListenAddress=127.0.0.1 -o MaxStartups=100 " + sshdOptions)
                    .waitingFor(Wait.forLogMessage(".*Server listening on 127\\.0\\.0\\.1.*", 1));
            container.start();
            String hostKey = exec("cat /etc/ssh/ssh_host_ed25519_key.pub").trim();
            String[] parts = hostKey.split(" ");
            knownHosts = dir.resolve("known_hosts");
            Files.writeString(knownHosts, "[127.0.0.1]:" + port + " " + parts[0] + " " + parts[1] + "\n");
            hostKeyFingerprint = Fingerprints.sha256(java.util.Base64.getDecoder().decode(parts[1]));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final String SETUP = """
            #!/bin/sh
            set -e
            ssh-keygen -A >/dev/null
            mkdir -p /run/sshd
            id alice >/dev/null 2>&1 || useradd -m -s /bin/bash alice
            id bob >/dev/null 2>&1 || useradd -m -s /bin/bash -G sudo bob
            echo 'bob:a-password' | chpasswd
            # Login shells other than bash: dash, zsh, fish and tcsh users log in with the same key.
            for u in dana:/usr/bin/dash zed:/usr/bin/zsh fin:/usr/bin/fish tom:/usr/bin/tcsh; do
              id ${u%%:*} >/dev/null 2>&1 || useradd -m -s ${u#*:} ${u%%:*}
            done
            echo 'alice ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/alice
            chmod 0440 /etc/sudoers.d/alice
            for home in /root /home/alice /home/bob /home/dana /home/zed /home/fin /home/tom; do
              mkdir -p $home/.ssh
              cp /tmp/client.pub $home/.ssh/authorized_keys
              chmod 700 $home/.ssh; chmod 600 $home/.ssh/authorized_keys
              chown -R $(stat -c %u:%g $home) $home/.ssh
            done
            """;

    /**
     * Starts one more sshd in this container with OPTIONS (e.g. a restricted cipher list) and
     * returns its port; it stops with the container.
     */
    int extraSshd(String... options) {
        try {
            int extraPort = freePort();
            List<String> cmd = new ArrayList<>(List.of("/usr/sbin/sshd", "-D", "-e", "-p", Integer.toString(extraPort),
                    "-o", "ListenAddress=127.0.0.1"));
            for (String o : options) {
                cmd.add("-o");
                cmd.add(o);
            }
            container.getDockerClient().execStartCmd(container.getDockerClient()
                    .execCreateCmd(container.getContainerId()).withCmd(cmd.toArray(String[]::new)).exec().getId())
                    .exec(new com.github.dockerjava.api.async.ResultCallback.Adapter<>());
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (System.nanoTime() < deadline) {
                try (java.net.Socket s = new java.net.Socket("127.0.0.1", extraPort)) {
                    return extraPort;
                } catch (IOException notYet) {
                    Thread.sleep(50);
                }
            }
            throw new IllegalStateException("extra sshd did not start: " + cmd);
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * One more sshd in this container on a free port, as one host of a fleet: its sessions see
     * FLEET_NAME=NAME (so a command can tell the hosts apart). Closing the handle stops it; a test
     * stops every one it started.
     */
    FleetSshd fleetSshd(String name) {
        try {
            int extraPort = freePort();
            String pidFile = "/run/sshd-" + extraPort + ".pid";
            Container.ExecResult r = container.execInContainer("/usr/sbin/sshd", "-p", Integer.toString(extraPort),
                    "-o", "ListenAddress=127.0.0.1", "-o", "PidFile=" + pidFile, "-o", "MaxStartups=100", "-o", "SetEnv=FLEET_NAME=" + name);
            if (r.getExitCode() != 0) {
                throw new IllegalStateException("sshd for " + name + " did not start: " + r.getStderr());
            }
            awaitPort(extraPort, true);
            return new FleetSshd(this, name, extraPort, pidFile);
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** An sshd started by {@link #fleetSshd}: its PORT; close stops it (and waits, at most 10 s, until the port is closed). */
    record FleetSshd(VpsServer server, String name, int port, String pidFile) implements AutoCloseable {
        @Override
        public void close() {
            server.exec("kill $(cat " + pidFile + ") 2>/dev/null; rm -f " + pidFile);
            awaitPort(port, false);
        }
    }

    /** Waits (at most 10 s) until 127.0.0.1:PORT accepts connections (OPEN) or refuses them. */
    static void awaitPort(int port, boolean open) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            boolean accepts;
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                accepts = true;
            } catch (IOException refused) {
                accepts = false;
            }
            if (accepts == open) {
                return;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        throw new IllegalStateException("port " + port + (open ? " never opened" : " never closed") + " within 10 s");
    }

    /** A known_hosts line for this server's ed25519 key at PORT. */
    String knownHostsLine(int atPort) {
        String[] parts = exec("cat /etc/ssh/ssh_host_ed25519_key.pub").trim().split(" ");
        return "[127.0.0.1]:" + atPort + " " + parts[0] + " " + parts[1];
    }

    /** Runs a shell command in the container (as root), bypassing SSH; returns stdout. */
    String exec(String shell) {
        try {
            Container.ExecResult r = container.execInContainer("/bin/sh", "-c", shell);
            return r.getStdout();
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Waits (at most 60 s) until SHELL, run in the container, prints EXPECTED: how a test knows that
     * a remote command has reached a point, instead of sleeping and hoping it has.
     */
    void await(String shell, String expected) {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!exec(shell).trim().equals(expected)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not reached within 60 s: " + shell + " never printed " + expected);
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for: " + shell);
            }
        }
    }

    /** A shell loop that waits (at most 90 s) until FILE exists: a barrier the test opens with {@code exec("touch FILE")}. */
    static String waitForFile(String file) {
        return "n=0; while [ ! -e " + file + " ] && [ $n -lt 1800 ]; do sleep 0.05; n=$((n+1)); done";
    }

    /** How many logins the server has accepted so far (sshd logs each to the container's stderr). */
    long logins() {
        return container.getLogs().lines().filter(l -> l.contains("Accepted publickey")).count();
    }

    /** The target options for user {@code user} with the good key and the right known_hosts. */
    /** This server as a resolved target (for lib classes used directly), reached on AT_PORT with KNOWN_HOSTS. */
    Target resolved(String user, int atPort, Path knownHostsFile) {
        return new Target("vps", "127.0.0.1", atPort, user, new Target.Credentials(List.of(key), null, false, null, false, null),
                new Target.HostKeyPolicy(knownHostsFile, null, false, null), java.time.Duration.ofSeconds(10),
                Target.DEFAULT_ALIVE_INTERVAL, Target.DEFAULT_ALIVE_COUNT_MAX, java.util.Map.of(), List.of(), java.util.Map.of(), List.of());
    }

    Target resolved(String user) {
        return resolved(user, port, knownHosts);
    }

    List<String> target(String user) {
        return new ArrayList<>(List.of("-H", "127.0.0.1", "-p", Integer.toString(port), "-u", user,
                "-i", key.toString(), "--known-hosts", knownHosts.toString(), "--connect-timeout", "10s"));
    }

    static String writeKeyPair(Path file) throws IOException {
        return KeyFiles.generate(file, "test");
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() {
        container.stop();
    }
}
