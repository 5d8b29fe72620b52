import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.containers.Container;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.Transferable;
import org.testcontainers.utility.DockerImageName;

/**
 * setup-server against fresh servers as a VPS comes: root logs in with a password (a cloud-init drop-in allows
 * it), nobody else exists. Each test starts its own containers (setup-server changes sshd for good) and stops them.
 * Debian 13 and Ubuntu 22.04 and 24.04 get a first contact each; VPS_TEST_IMAGE=IMAGE runs every test on another release.
 */
class SetupServerTest {
    static final String ROOT_PASSWORD = "first-contact-pw";
    /** sshd's state the comparison looks at: what setup-server declares. */
    static final String SSHD_FACTS = "sshd -T | grep -E '^(passwordauthentication|kbdinteractiveauthentication|permitrootlogin|pubkeyauthentication) '";

    /** A fresh VPS: sshd as PID 1 on a free 127.0.0.1 port, root with a password, password login allowed. */
    static final class FreshServer implements AutoCloseable {
        private static final String FIRST_BOOT = """
                #!/bin/sh
                set -e
                ssh-keygen -A >/dev/null
                mkdir -p /run/sshd
                echo 'root:%s' | chpasswd
                printf 'Port %%s\\nListenAddress 127.0.0.1\\n' "$1" >> /etc/ssh/sshd_config
                if [ "$2" = include ]; then
                  printf 'PermitRootLogin yes\\nPasswordAuthentication yes\\n' > /etc/ssh/sshd_config.d/50-cloud-init.conf
                else   # a release whose sshd_config reads no sshd_config.d/
                  sed -i '/^Include /d' /etc/ssh/sshd_config
                  printf 'PermitRootLogin yes\\nPasswordAuthentication yes\\n' >> /etc/ssh/sshd_config
                fi
                """.formatted(ROOT_PASSWORD);

        final GenericContainer<?> container;
        final int port;
        final Path knownHosts;

        @SuppressWarnings("resource")
        FreshServer(String image, boolean include, Path dir) throws IOException {
            port = VpsServer.freePort();
            container = new GenericContainer<>(DockerImageName.parse(image))
                    .withNetworkMode("host")
                    .withCopyToContainer(Transferable.of(FIRST_BOOT, 0755), "/tmp/first-boot.sh")
                    .withCommand("/bin/sh", "-c", "/tmp/first-boot.sh " + port + (include ? " include" : " none") + " && exec /usr/sbin/sshd -D -e")
                    .waitingFor(Wait.forLogMessage(".*Server listening on 127\\.0\\.0\\.1.*", 1));
            container.start();
            String[] hostKey = exec("cat /etc/ssh/ssh_host_ed25519_key.pub").trim().split(" ");
            knownHosts = Files.writeString(dir.resolve("known_hosts-" + port), "[127.0.0.1]:" + port + " " + hostKey[0] + " " + hostKey[1] + "\n");
        }

        String exec(String shell) {
            try {
                Container.ExecResult r = container.execInContainer("/bin/sh", "-c", shell);
                return r.getStdout() + r.getStderr();
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }

        /** What setup-server declares, as the server has it (the port left out: every server has its own). */
        String state() {
            return exec("getent passwd deployer; id -nG deployer; cd /home/deployer && stat -c '%n %a %U:%G' .ssh .ssh/authorized_keys;"
                    + " cat .ssh/authorized_keys; stat -c '%n %a %U:%G' /etc/sudoers.d/vps-toolkit-deployer; cat /etc/sudoers.d/vps-toolkit-deployer;"
                    + " cat /etc/ssh/sshd_config.d/00-vps-toolkit.conf; ls /etc/ssh; " + SSHD_FACTS);
        }

        @Override
        public void close() {
            container.stop();
        }
    }

    static Runs.Result setup(List<String> args) {
        return Runs.run(args, new byte[0], (out, err, in) -> new SetupServer(out, err, in));
    }

    /** setup-server's arguments for S as first contact: root with the password, KEY the new login's key. */
    static List<String> firstContact(FreshServer s, Path key, String... more) {
        List<String> a = new ArrayList<>(List.of("-H", "127.0.0.1", "--known-hosts", s.knownHosts.toString(), "--password-auth",
                "-i", key.toString(), "--connect-timeout", "10s"));
        a.addAll(List.of(more));
        return a;
    }

    /** exec-command as USER on S's PORT with KEY (null: no key), MORE being its options and command. */
    static Runs.Result login(FreshServer s, int port, String user, Path key, String... more) {
        List<String> a = new ArrayList<>(List.of("-H", "127.0.0.1", "-p", Integer.toString(port), "-u", user,
                "--known-hosts", s.knownHosts.toString(), "--connect-timeout", "10s", "--json"));
        if (key != null) {
            a.addAll(List.of("-i", key.toString()));
        }
        a.addAll(List.of(more));
        return Runs.exec(a);
    }

    static void freshEnvironment(FreshServer s) {
        TestSupport.freshEnvironment(Map.of("VPS_PASSWORD", ROOT_PASSWORD, "VPS_PORT", Integer.toString(s.port)));
    }

    static Path key(Path dir, String name) throws IOException {
        Path key = dir.resolve(name);
        VpsServer.writeKeyPair(key);
        return key;
    }

    static List<?> changes(Runs.Result r) {
        return (List<?>) r.json().get("changes");
    }

    @Test
    void aDeployerLogsInWithTheKeyAndSudoAndPasswordsAreRefusedAfterwards(@TempDir Path dir) throws Exception {
        try (FreshServer s = new FreshServer(VpsServer.IMAGE, true, dir)) {
            freshEnvironment(s);
            Path key = key(dir, "id_deployer");
            assertEquals("", s.exec("cat /root/.ssh/authorized_keys 2>/dev/null"), "root has no key: first contact is by password");

            Runs.Result check = setup(firstContact(s, key, "--check", "--json"));
            assertEquals(0, check.exit(), check.toString());
            assertFalse(changes(check).isEmpty(), check.toString());
            assertTrue(s.exec("id deployer").contains("no such user"), "--check created nothing");
            assertTrue(s.exec(SSHD_FACTS).contains("passwordauthentication yes"), "--check left sshd as it was");

            Runs.Result first = setup(firstContact(s, key, "--json"));
            assertEquals(0, first.exit(), first.toString());
            assertFalse(changes(first).isEmpty(), first.toString());
            assertEquals(Boolean.TRUE, ((Map<?, ?>) first.json().get("login")).get("proven"), first.toString());

            String audit = String.join("\n", AuditLog.standard().files().stream().map(f -> {
                try {
                    return Files.readString(f);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).toList());
            assertTrue(audit.contains("\"action\":\"setup\"") && audit.contains("setup-server --user deployer --sudo nopasswd"), audit);
            assertFalse(audit.contains(ROOT_PASSWORD), "the root password is in no audit line");

            Runs.Result sudo = login(s, s.port, "deployer", key, "--", "sudo -n id -u");
            assertEquals(0, sudo.exit(), sudo.toString());
            assertEquals("0", ((String) sudo.json().get("stdout")).strip());

            Runs.Result rootByPassword = login(s, s.port, "root", null, "--password-auth", "--", "true");
            assertEquals(255, rootByPassword.exit(), rootByPassword.toString());
            assertEquals("AUTH", ((Map<?, ?>) rootByPassword.json().get("error")).get("kind"), rootByPassword.toString());
            s.exec("echo 'deployer:" + ROOT_PASSWORD + "' | chpasswd");
            Runs.Result deployerByPassword = login(s, s.port, "deployer", null, "--password-auth", "--", "true");
            assertEquals(255, deployerByPassword.exit(), "PasswordAuthentication is off for everyone: " + deployerByPassword);
            assertTrue(s.exec(SSHD_FACTS).contains("passwordauthentication no"));

            // Root's password is refused now: the second run goes in as deployer with sudo -n, and has nothing to do.
            Runs.Result second = setup(firstContact(s, key, "--json"));
            assertEquals(0, second.exit(), second.toString());
            assertEquals(List.of(), changes(second), second.toString());
            Runs.Result checkAgain = setup(firstContact(s, key, "--check"));
            assertEquals(0, checkAgain.exit(), checkAgain.toString());
            assertTrue(checkAgain.stdout().contains("nothing to change"), checkAgain.toString());
        }
    }

    @Test
    void aKeyThatIsNotTheProvingOneRollsBackAndRootStillLogsInWithItsPassword(@TempDir Path dir) throws Exception {
        try (FreshServer s = new FreshServer(VpsServer.IMAGE, true, dir)) {
            freshEnvironment(s);
            Path proving = key(dir, "id_proving");
            Path other = key(dir, "id_other");
            Runs.Result r = setup(firstContact(s, proving, "--authorize", other + ".pub", "--json"));
            assertEquals(255, r.exit(), r.toString());
            Map<?, ?> error = (Map<?, ?>) r.json().get("error");
            assertEquals("AUTH", error.get("kind"), r.toString());
            assertTrue(((String) error.get("message")).contains("rolled back"), r.toString());
            assertTrue(r.stdout().contains("\"what\":\"create user deployer\"") && r.stdout().contains("restore sshd's settings"),
                    "--json says what stays changed (the user) and what was undone: " + r.stdout());
            assertTrue(r.stderr().contains("vps: AUTH: the new login could not be proven"), r.stderr());
            assertTrue(r.stderr().contains("hint: "), r.stderr());

            assertEquals("", s.exec("ls /etc/ssh/sshd_config.d/00-vps-toolkit.conf /etc/ssh/vps-toolkit-rollback 2>/dev/null"));
            assertTrue(s.exec(SSHD_FACTS).contains("passwordauthentication yes"), s.exec(SSHD_FACTS));
            Runs.Result root = login(s, s.port, "root", null, "--password-auth", "--", "echo still-in");
            assertEquals(0, root.exit(), "root logs in with its password as before: " + root);
        }
    }

    @Test
    void thePrintedScriptRunInTheConsoleReachesTheSameState(@TempDir Path dir) throws Exception {
        Path key = key(dir, "id_deployer");
        try (FreshServer bySsh = new FreshServer(VpsServer.IMAGE, true, dir);
             FreshServer byConsole = new FreshServer(VpsServer.IMAGE, true, dir)) {
            freshEnvironment(bySsh);
            Runs.Result r = setup(firstContact(bySsh, key));
            assertEquals(0, r.exit(), r.toString());

            Runs.Result printed = setup(List.of("--authorize", key + ".pub", "--print-script"));
            assertEquals(0, printed.exit(), printed.toString());
            assertFalse(printed.stdout().contains("PRIVATE KEY"), "only the public key is in the script");
            byConsole.container.copyFileToContainer(Transferable.of(printed.stdout()), "/tmp/setup.sh");
            String ran = byConsole.exec("sh /tmp/setup.sh; echo exit=$?");
            assertTrue(ran.contains("changed: create user deployer") && ran.endsWith("exit=0\n"), ran);

            assertEquals(bySsh.state(), byConsole.state());
            String again = byConsole.exec("sh /tmp/setup.sh; echo exit=$?");
            assertFalse(again.contains("changed:"), "a second run changes nothing: " + again);
            Runs.Result in = login(byConsole, byConsole.port, "deployer", key, "--", "sudo -n true");
            assertEquals(0, in.exit(), in.toString());
        }
    }

    @Test
    void aNewPortOnASshdConfigWithoutIncludeAndAnSshConfigBlockForExecCommand(@TempDir Path dir) throws Exception {
        try (FreshServer s = new FreshServer(VpsServer.IMAGE, false, dir)) {
            freshEnvironment(s);
            Path key = key(dir, "id_deployer");
            Path sshConfig = dir.resolve("ssh_config");
            int newPort = VpsServer.freePort();
            Runs.Result r = setup(firstContact(s, key, "--port", Integer.toString(newPort), "--write-ssh-config", "web", "--ssh-config", sshConfig.toString()));
            assertEquals(0, r.exit(), r.toString());
            assertTrue(s.exec("head -n 1 /etc/ssh/sshd_config").startsWith("# vps-toolkit: begin"), s.exec("head -n 9 /etc/ssh/sshd_config"));
            assertEquals("port " + newPort, s.exec("sshd -T | grep '^port '").strip(), "the old port is gone once the new one is proven");

            TestSupport.freshEnvironment();   // no VPS_PORT: the Host block's Port counts
            Runs.Result viaAlias = Runs.exec(List.of("-H", "web", "--ssh-config", sshConfig.toString(), "--json", "--", "sudo -n echo via-alias"));
            assertEquals(0, viaAlias.exit(), viaAlias.toString());
            assertEquals("via-alias", ((String) viaAlias.json().get("stdout")).strip());
            Runs.Result oldPort = login(s, s.port, "deployer", key, "--", "true");
            assertEquals(255, oldPort.exit(), oldPort.toString());
            assertEquals("NETWORK", ((Map<?, ?>) oldPort.json().get("error")).get("kind"));

            freshEnvironment(s);
            Runs.Result again = setup(firstContact(s, key, "--port", Integer.toString(newPort), "--write-ssh-config", "web",
                    "--ssh-config", sshConfig.toString(), "--json"));
            assertEquals(0, again.exit(), again.toString());
            assertEquals(List.of(), changes(again), again.toString());
            String config = Files.readString(sshConfig);
            assertEquals(config.indexOf("Host web"), config.lastIndexOf("Host web"), "one block: " + config);
            assertEquals("600", Integer.toOctalString(Files.getPosixFilePermissions(sshConfig).stream()
                    .mapToInt(p -> 1 << (8 - p.ordinal())).sum()), "the ssh config stays private");
        }
    }

    @Test
    void debian13(@TempDir Path dir) throws Exception {
        try (FreshServer s = new FreshServer(VpsServer.TRIXIE_IMAGE, true, dir)) {
            freshEnvironment(s);
            Path key = key(dir, "id_deployer");
            Runs.Result r = setup(firstContact(s, key, "--no-root", "--json"));
            assertEquals(0, r.exit(), r.toString());
            assertTrue(s.exec(SSHD_FACTS).contains("permitrootlogin no"), s.exec(SSHD_FACTS));
            Runs.Result in = login(s, s.port, "deployer", key, "--", "sudo -n true");
            assertEquals(0, in.exit(), in.toString());
        }
    }

    @Test
    void ubuntu2204(@TempDir Path dir) throws Exception {
        onAnotherRelease(VpsServer.JAMMY_IMAGE, dir);
    }

    @Test
    void ubuntu2404(@TempDir Path dir) throws Exception {
        onAnotherRelease(VpsServer.NOBLE_IMAGE, dir);
    }

    /** The whole first contact on IMAGE's release: the deployer logs in and sudoes, passwords are refused, a second run finds nothing. */
    private static void onAnotherRelease(String image, Path dir) throws Exception {
        Assumptions.assumeTrue(imageExists(image), image + " was not built: tests/docker-up builds it only when archive.ubuntu.com answers");
        try (FreshServer s = new FreshServer(image, true, dir)) {
            freshEnvironment(s);
            Path key = key(dir, "id_deployer");
            Runs.Result first = setup(firstContact(s, key, "--json"));
            assertEquals(0, first.exit(), first.toString());
            Runs.Result in = login(s, s.port, "deployer", key, "--", "sudo -n true");
            assertEquals(0, in.exit(), in.toString());
            assertTrue(s.exec(SSHD_FACTS).contains("passwordauthentication no"), s.exec(SSHD_FACTS));
            Runs.Result root = login(s, s.port, "root", null, "--password-auth", "--", "true");
            assertEquals(255, root.exit(), "root's password is refused: " + root);
            Runs.Result again = setup(firstContact(s, key, "--check", "--json"));
            assertEquals(0, again.exit(), again.toString());
            assertTrue(changes(again).isEmpty(), again.toString());
        }
    }

    private static boolean imageExists(String image) {
        try {
            org.testcontainers.DockerClientFactory.instance().client().inspectImageCmd(image).exec();
            return true;
        } catch (com.github.dockerjava.api.exception.NotFoundException e) {
            return false;
        }
    }

    @Test
    void firewallWithoutUfwOrNftChangesNothing(@TempDir Path dir) throws Exception {
        try (FreshServer s = new FreshServer(VpsServer.IMAGE, true, dir)) {
            freshEnvironment(s);
            Runs.Result r = setup(firstContact(s, key(dir, "id_deployer"), "--firewall"));
            assertEquals(2, r.exit(), r.toString());
            assertTrue(r.stderr().contains("vps: CONFIG:") && r.stderr().contains("neither ufw nor nft"), r.stderr());
            assertTrue(s.exec("id deployer").contains("no such user"), "nothing ran before the refusal");
        }
    }

    @Test
    void aReadOnlyPolicyRefusesItBeforeAnythingConnects(@TempDir Path dir) throws Exception {
        Path policy = Files.writeString(dir.resolve("policy.yaml"), "targets:\n  - match: \"127.0.0.1\"\n    mode: read-only\n");
        TestSupport.freshEnvironment(Map.of("VPS_POLICY", policy.toString(), "VPS_PORT", "1"));
        Runs.Result r = setup(List.of("-H", "127.0.0.1", "-i", key(dir, "id_deployer").toString()));
        assertEquals(77, r.exit(), r.toString());
        assertTrue(r.stderr().contains("vps: POLICY:"), r.stderr());
        assertNotEquals(-1, r.stderr().indexOf("read-only"), r.stderr());
    }

    @Test
    void oneServerAtATime(@TempDir Path dir) throws Exception {
        TestSupport.freshEnvironment();
        Runs.Result r = setup(List.of("-H", "web1,web2", "-i", key(dir, "id_deployer").toString()));
        assertEquals(2, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: CONFIG: setup-server works on one host at a time"), r.stderr());
    }
}
