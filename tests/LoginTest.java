import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Logging in wherever OpenSSH does: restricted servers, ssh config, jump hosts, agents, passwords. */
class LoginTest {
    static VpsServer vps;
    static Path dir;
    static Path rsaKey;

    @BeforeAll
    static void setUp() throws Exception {
        vps = VpsServer.shared();
        dir = Files.createTempDirectory("vps-login");
        vps.exec("rm -f /tmp/rsa /tmp/rsa.pub; ssh-keygen -q -t rsa -b 2048 -N '' -f /tmp/rsa; cat /tmp/rsa.pub >> /root/.ssh/authorized_keys");
        rsaKey = dir.resolve("id_rsa");
        vps.container.copyFileFromContainer("/tmp/rsa", rsaKey.toString());
        Files.setPosixFilePermissions(rsaKey, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    }

    private static Path knownHostsFor(int port) throws Exception {
        Path file = Files.createTempFile(dir, "known_hosts", "");
        Files.writeString(file, vps.knownHostsLine(port) + "\n");
        return file;
    }

    private static Runs.Result run(List<String> args) {
        TestSupport.freshEnvironment();
        return Runs.exec(args);
    }

    private static List<String> target(int port, Path key, String... more) throws Exception {
        List<String> args = new ArrayList<>(List.of("-H", "127.0.0.1", "-p", Integer.toString(port), "-u", "root",
                "-i", key.toString(), "--known-hosts", knownHostsFor(port).toString()));
        args.addAll(List.of(more));
        return args;
    }

    @Test
    void serverAcceptingOnlyRsaSha512Signatures() throws Exception {
        int port = vps.extraSshd("PubkeyAcceptedAlgorithms=rsa-sha2-512");
        Runs.Result r = run(target(port, rsaKey, "--", "echo rsa-sha2-512"));
        assertEquals("rsa-sha2-512\n", r.stdout(), r.toString());
    }

    @Test
    void serverOfferingOnlyChacha20() throws Exception {
        int port = vps.extraSshd("Ciphers=chacha20-poly1305@openssh.com");
        Runs.Result r = run(target(port, vps.key, "-v", "--", "echo chacha"));
        assertEquals("chacha\n", r.stdout(), r.toString());
        assertTrue(r.stderr().contains("chacha20-poly1305@openssh.com"), "negotiated chacha20");
    }

    @Test
    void serverWithOnlyAnEd25519HostKey() throws Exception {
        int port = vps.extraSshd("HostKeyAlgorithms=ssh-ed25519", "HostKey=/etc/ssh/ssh_host_ed25519_key");
        Runs.Result r = run(target(port, vps.key, "--", "echo ed25519"));
        assertEquals("ed25519\n", r.stdout(), r.toString());
    }

    @Test
    void legacySshRsaOnlyWhenAskedAndWithAWarning() throws Exception {
        int port = vps.extraSshd("PubkeyAcceptedAlgorithms=ssh-rsa");
        Runs.Result refused = run(target(port, rsaKey, "--", "true"));
        assertEquals(255, refused.exit(), refused.toString());
        assertTrue(refused.stderr().startsWith("vps: AUTH: "), refused.stderr());
        Runs.Result allowed = run(target(port, rsaKey, "--legacy-ssh-rsa", "--", "echo legacy"));
        assertEquals("legacy\n", allowed.stdout(), allowed.toString());
        assertTrue(allowed.stderr().startsWith("warning: --legacy-ssh-rsa allows SHA-1"), allowed.stderr());
    }

    @Test
    void legacySshRsaHostKeyNamedInTheError() throws Exception {
        int port = vps.extraSshd("HostKeyAlgorithms=ssh-rsa", "HostKey=/etc/ssh/ssh_host_rsa_key");
        String[] rsa = vps.exec("cat /etc/ssh/ssh_host_rsa_key.pub").trim().split(" ");
        Path known = Files.writeString(Files.createTempFile(dir, "kh", ""), "[127.0.0.1]:" + port + " " + rsa[0] + " " + rsa[1] + "\n");
        List<String> args = new ArrayList<>(List.of("-H", "127.0.0.1", "-p", Integer.toString(port), "-u", "root", "-i", vps.key.toString(),
                "--known-hosts", known.toString()));
        Runs.Result refused = run(concat(args, "--", "true"));
        assertEquals(255, refused.exit(), refused.toString());
        assertTrue(refused.stderr().startsWith("vps: PROTOCOL: no common host key algorithm with 127.0.0.1:" + port + ": the server offers ssh-rsa"),
                refused.stderr());
        assertTrue(refused.stderr().contains("--legacy-ssh-rsa"), refused.stderr());
        Runs.Result allowed = run(concat(args, "--legacy-ssh-rsa", "--", "echo old-server"));
        assertEquals("old-server\n", allowed.stdout(), allowed.toString());
    }

    @Test
    void algorithmListsFromSshConfig(@TempDir Path tmp) throws Exception {
        Path config = Files.writeString(tmp.resolve("config"), """
                Host tuned
                  HostName 127.0.0.1
                  Port %d
                  User root
                  Ciphers ^chacha20-poly1305@openssh.com
                  KexAlgorithms -curve25519*,mlkem*,sntrup*
                  MACs umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha1
                """.formatted(vps.port));
        Runs.Result r = run(List.of("-H", "tuned", "--ssh-config", config.toString(), "-i", vps.key.toString(),
                "--known-hosts", vps.knownHosts.toString(), "-v", "--", "echo tuned"));
        assertEquals("tuned\n", r.stdout(), r.toString());
        assertTrue(r.stderr().contains("kex: server->client cipher: chacha20-poly1305@openssh.com"), r.stderr());
        assertTrue(r.stderr().contains("kex: algorithm: ecdh-sha2-nistp256"), r.stderr());
        assertTrue(r.stderr().contains("MACs umac-64-etm@openssh.com is not implemented here, ignored"), r.stderr());
    }

    @Test
    void identitiesOnlyKeepsAgentKeysOut(@TempDir Path tmp) throws Exception {
        try (SshAgent agent = new SshAgent(tmp, rsaKey)) {
            Path config = Files.writeString(tmp.resolve("config"), """
                    Host strict
                      HostName 127.0.0.1
                      Port %d
                      User root
                      IdentitiesOnly yes
                      IdentityFile %s
                    """.formatted(vps.port, tmp.resolve("no-such-key")));
            TestSupport.freshEnvironment(Map.of("SSH_AUTH_SOCK", agent.socket.toString()));
            Runs.Result r = Runs.exec(List.of("-H", "strict", "--ssh-config", config.toString(), "--known-hosts", vps.knownHosts.toString(),
                    "--", "true"));
            assertEquals(255, r.exit(), r.toString());
            assertTrue(r.stderr().startsWith("vps: AUTH: no private key to log in with"), "the agent's key was not used: " + r.stderr());
            Files.writeString(config, Files.readString(config).replace("IdentitiesOnly yes", "IdentitiesOnly no"));
            Runs.Result withAgent = Runs.exec(List.of("-H", "strict", "--ssh-config", config.toString(), "--known-hosts", vps.knownHosts.toString(),
                    "--", "echo agent-used"));
            assertEquals("agent-used\n", withAgent.stdout(), withAgent.toString());
        }
    }

    @Test
    void sshConfigAliasWithInclude(@TempDir Path home) throws Exception {
        Assumptions.assumeFalse(EngineRuns.on(), "in-process only: it sets this JVM's user.home (~), which an engine (like a cold call) takes from the system");
        Path sshDir = Files.createDirectories(home.resolve(".ssh"));
        Path config = Files.writeString(sshDir.resolve("config"), "Include conf.d/*.conf\nHost *\n  User nobody\n");
        Files.createDirectories(sshDir.resolve("conf.d"));
        Files.writeString(sshDir.resolve("conf.d/vps.conf"), """
                Host myvps !other
                  HostName 127.0.0.1
                  Port %d
                  User root
                  IdentityFile %s
                  UserKnownHostsFile %s
                  ConnectTimeout 5
                  ServerAliveInterval 7
                  ForwardAgent yes
                """.formatted(vps.port, vps.key, vps.knownHosts));
        String savedHome = System.getProperty("user.home");
        System.setProperty("user.home", home.toString());
        try {
            TestSupport.freshEnvironment(Map.of("VPS_SSH_CONFIG", config.toString()));
            Runs.Result r = Runs.exec(List.of("-H", "myvps", "-v", "--", "whoami"));
            assertEquals("root\n", r.stdout(), r.toString());
            assertTrue(r.stderr().contains("not supported, ignored: ForwardAgent"), "unsupported keywords are named under -v: " + r.stderr());
        } finally {
            System.setProperty("user.home", savedHome);
        }
    }

    /** As ssh without a terminal: an encrypted default key with no passphrase is passed over for the next default key, agent or not. */
    @Test
    void anEncryptedDefaultKeyWithoutPassphraseIsSkippedForTheNextOne() throws Exception {
        Assumptions.assumeFalse(EngineRuns.on(), "in-process only: it sets this JVM's user.home (~), which an engine (like a cold call) takes from the system");
        Path home = Files.createTempDirectory(dir, "home-enc");
        Path sshDir = Files.createDirectories(home.resolve(".ssh"));
        Process keygen = new ProcessBuilder("ssh-keygen", "-q", "-t", "ed25519", "-N", "a phrase", "-f", sshDir.resolve("id_ed25519").toString())
                .redirectErrorStream(true).start();
        assertEquals(0, keygen.waitFor());
        Files.copy(vps.key, sshDir.resolve("id_ecdsa"));
        String savedHome = System.getProperty("user.home");
        System.setProperty("user.home", home.toString());
        try {
            TestSupport.freshEnvironment(Map.of());
            Runs.Result r = Runs.exec(List.of("-H", "127.0.0.1", "-p", Integer.toString(vps.port), "-u", "root",
                    "--known-hosts", vps.knownHosts.toString(), "--", "whoami"));
            assertEquals("root\n", r.stdout(), r.toString());
            Files.delete(sshDir.resolve("id_ecdsa"));
            Runs.Result only = Runs.exec(List.of("-H", "127.0.0.1", "-p", Integer.toString(vps.port), "-u", "root",
                    "--known-hosts", vps.knownHosts.toString(), "--", "whoami"));
            assertEquals(255, only.exit(), only.toString());
            assertTrue(only.stderr().startsWith("vps: AUTH: key " + sshDir.resolve("id_ed25519") + " is encrypted and no passphrase was given"), only.stderr());
        } finally {
            System.setProperty("user.home", savedHome);
        }
    }

    @Test
    void proxyJumpThroughASecondServerVerifiesBothHostKeys() throws Exception {
        try (VpsServer jump = new VpsServer("-o LogLevel=DEBUG1")) {
            Path known = Files.createTempFile(dir, "known_hosts", "");
            Files.writeString(known, Files.readString(vps.knownHosts) + Files.readString(jump.knownHosts));
            Path config = Files.writeString(dir.resolve("jump_config"), """
                    Host jumpbox
                      HostName 127.0.0.1
                      Port %d
                      User root
                    Host behind
                      HostName 127.0.0.1
                      Port %d
                      User root
                      ProxyJump jumpbox
                    """.formatted(jump.port, vps.port));
            List<String> args = List.of("-H", "behind", "--ssh-config", config.toString(), "-i", vps.key.toString(), "-i", jump.key.toString(),
                    "--known-hosts", known.toString(), "--", "echo through");
            // The jump server has its own client key; both keys are offered, each server accepts its own.
            Runs.Result r = run(args);
            assertEquals("through\n", r.stdout(), r.toString());
            assertTrue(jump.container.getLogs().contains("127.0.0.1 port " + vps.port),
                    "the jump host forwarded the connection: " + jump.container.getLogs().lines().filter(l -> l.contains("direct")).toList());

            Files.writeString(known, Files.readString(vps.knownHosts) + "[127.0.0.1]:" + jump.port + " " + HostKeyTest.OTHER_KEY + "\n");
            Runs.Result changed = run(args);
            assertEquals(255, changed.exit(), changed.toString());
            assertTrue(changed.stderr().startsWith("vps: HOSTKEY: the host key of [127.0.0.1]:" + jump.port + " has CHANGED"), changed.stderr());
        }
    }

    @Test
    void hostKeyAliasNamesTheKnownHostsEntry(@TempDir Path tmp) throws Exception {
        String key = vps.knownHostsLine(vps.port).split(" ", 2)[1];
        Path known = Files.writeString(tmp.resolve("known_hosts"), "my-vps-alias " + key + "\n");
        Path config = Files.writeString(tmp.resolve("config"), """
                Host aliased
                  HostName 127.0.0.1
                  Port %d
                  User root
                  HostKeyAlias my-vps-alias
                  UserKnownHostsFile %s
                """.formatted(vps.port, known));
        Runs.Result r = run(List.of("-H", "aliased", "--ssh-config", config.toString(), "-i", vps.key.toString(), "--", "echo alias"));
        assertEquals("alias\n", r.stdout(), r.toString());
    }

    @Test
    void severalJumpHostsInOrderAndAHopThatRefusesToForward(@TempDir Path tmp) throws Exception {
        int first = vps.extraSshd();
        int noForwarding = vps.extraSshd("AllowTcpForwarding=no");
        int second = vps.extraSshd();
        Path known = Files.writeString(tmp.resolve("known_hosts"), String.join("\n", vps.knownHostsLine(vps.port),
                vps.knownHostsLine(first), vps.knownHostsLine(noForwarding), vps.knownHostsLine(second)) + "\n");
        List<String> base = List.of("-H", "127.0.0.1", "-p", Integer.toString(vps.port), "-u", "root", "-i", vps.key.toString(),
                "--known-hosts", known.toString());
        Runs.Result r = run(concat(base, "-J", "root@127.0.0.1:" + first + ",root@127.0.0.1:" + second, "--", "echo two-hops"));
        assertEquals("two-hops\n", r.stdout(), r.toString());
        Runs.Result refused = run(concat(base, "-J", "root@127.0.0.1:" + first + ",root@127.0.0.1:" + noForwarding, "--", "true"));
        assertEquals(255, refused.exit(), refused.toString());
        assertTrue(refused.stderr().startsWith("vps: NETWORK: jump host 127.0.0.1:" + noForwarding + " could not open a connection to 127.0.0.1:"
                + vps.port), refused.stderr());
        assertTrue(refused.stderr().contains("AllowTcpForwarding"), refused.stderr());
    }

    @Test
    void changedKeyIsRefusedOnEveryPath() throws Exception {
        Path known = Files.createTempFile(dir, "known_hosts", "");
        Files.writeString(known, "[127.0.0.1]:" + vps.port + " " + HostKeyTest.OTHER_KEY + "\n");
        Path config = Files.writeString(dir.resolve("lax_config"), """
                Host lax
                  HostName 127.0.0.1
                  Port %d
                  User root
                  StrictHostKeyChecking no
                  UserKnownHostsFile %s
                """.formatted(vps.port, known));
        Runs.Result viaConfig = run(List.of("-H", "lax", "--ssh-config", config.toString(), "-i", vps.key.toString(), "--", "true"));
        assertTrue(viaConfig.stderr().startsWith("vps: HOSTKEY: ") && viaConfig.stderr().contains("CHANGED"), viaConfig.toString());
        TestSupport.freshEnvironment(Map.of("VPS_HOST", "127.0.0.1", "VPS_PORT", Integer.toString(vps.port), "VPS_USER", "root",
                "VPS_KEY", vps.key.toString(), "VPS_KNOWN_HOSTS", known.toString()));
        Runs.Result viaEnv = Runs.exec(List.of("--accept-new", "--", "true"));
        assertTrue(viaEnv.stderr().startsWith("vps: HOSTKEY: ") && viaEnv.stderr().contains("CHANGED"), viaEnv.toString());
    }

    @Test
    void hashedKnownHostsEntriesAreRecognized() throws Exception {
        Path known = knownHostsFor(vps.port);
        vps.container.copyFileToContainer(org.testcontainers.utility.MountableFile.forHostPath(known), "/tmp/kh");
        vps.exec("ssh-keygen -H -f /tmp/kh >/dev/null 2>&1");
        Path hashed = dir.resolve("hashed_known_hosts");
        vps.container.copyFileFromContainer("/tmp/kh", hashed.toString());
        assertTrue(Files.readString(hashed).startsWith("|1|"), "hashed by ssh-keygen -H");
        List<String> args = List.of("-H", "127.0.0.1", "-p", Integer.toString(vps.port), "-u", "root", "-i", vps.key.toString(),
                "--known-hosts", hashed.toString(), "--", "echo hashed");
        assertEquals("hashed\n", run(args).stdout());
    }

    @Test
    void loginThroughARealSshAgent(@TempDir Path tmp) throws Exception {
        try (SshAgent agent = new SshAgent(tmp, rsaKey)) {
            TestSupport.freshEnvironment(Map.of("SSH_AUTH_SOCK", agent.socket.toString()));
            Runs.Result r = Runs.exec(List.of("-H", "127.0.0.1", "-p", Integer.toString(vps.port), "-u", "root",
                    "--known-hosts", vps.knownHosts.toString(), "--", "echo via-agent"));
            assertEquals("via-agent\n", r.stdout(), r.toString());
            Runs.Result refused = Runs.exec(List.of("-H", "127.0.0.1", "-p", Integer.toString(vps.port), "-u", "alice",
                    "--known-hosts", vps.knownHosts.toString(), "--", "true"));
            assertTrue(refused.stderr().contains("agent key"), "the refused agent key is named: " + refused.stderr());
        }
    }

    @Test
    void passwordOnlyWhenAskedAndNeverShown() throws Exception {
        List<String> base = List.of("-H", "127.0.0.1", "-p", Integer.toString(vps.port), "-u", "bob", "--known-hosts", vps.knownHosts.toString());
        TestSupport.freshEnvironment(Map.of("VPS_PASSWORD", "a-password"));
        Runs.Result withoutFlag = Runs.exec(concat(base, "--", "whoami"));
        assertEquals(255, withoutFlag.exit(), "a password is not used unless --password-auth");
        Runs.Result r = Runs.exec(concat(base, "--password-auth", "-v", "--", "whoami"));
        assertEquals("bob\n", r.stdout(), r.toString());
        assertTrue(!r.stderr().contains("a-password"), "never logged");
        TestSupport.freshEnvironment(Map.of("VPS_PASSWORD", "wrong"));
        Runs.Result wrong = Runs.exec(concat(base, "--password-auth", "--", "whoami"));
        assertTrue(wrong.stderr().startsWith("vps: AUTH: ") && wrong.stderr().contains("a password"), wrong.toString());
        TestSupport.freshEnvironment();
        Runs.Result missing = Runs.exec(concat(base, "--password-auth", "--", "whoami"));
        assertTrue(missing.stderr().startsWith("vps: CONFIG: --password-auth needs a password"), missing.toString());
    }

    @Test
    void keyboardInteractiveIsAnsweredWithThePassword(@TempDir Path tmp) throws Exception {
        int port = vps.extraSshd("PasswordAuthentication=no", "KbdInteractiveAuthentication=yes", "UsePAM=yes");
        Path pw = Files.writeString(tmp.resolve("pw"), "a-password\n");
        Runs.Result r = run(List.of("-H", "127.0.0.1", "-p", Integer.toString(port), "-u", "bob", "--known-hosts", knownHostsFor(port).toString(),
                "--password-auth", "--password-file", pw.toString(), "--", "whoami"));
        assertEquals("bob\n", r.stdout(), r.toString());
    }

    private static List<String> concat(List<String> a, String... b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(List.of(b));
        return all;
    }
}
