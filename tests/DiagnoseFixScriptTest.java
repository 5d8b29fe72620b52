import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.testcontainers.containers.Container;

/**
 * diagnose-auth --fix-script against a real OpenSSH server: each cause on the server's side is
 * broken for a user of its own, diagnose-auth must fail, and its script, run as root in the
 * container, must make exec-command's login work; a second run must find nothing to fix.
 */
class DiagnoseFixScriptTest {
    /** This class's own server: the tests change sshd_config and reload its sshd. */
    static VpsServer server;

    @BeforeAll
    static void start() {
        server = new VpsServer();
        // The sshd causes, one user each, as Match blocks after the Include (a drop-in is read first).
        reloadedBy(server, () -> server.exec("printf '%s\\n' 'Match User pkoff' '  PubkeyAuthentication no' 'Match User algo' "
                + "'  PubkeyAcceptedAlgorithms ssh-ed25519' 'Match User elsewhere' '  AuthorizedKeysFile /etc/ssh/keys/%u' "
                + ">> /etc/ssh/sshd_config && kill -HUP 1"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @BeforeEach
    void freshEnvironment() {
        TestSupport.freshEnvironment();
    }

    @Test
    void keyNotInAuthorizedKeysIsAdded() throws Exception {
        server.exec("useradd -m -s /bin/bash nokey");
        String script = scriptFor(server, "nokey", server.key);
        assertFalse(script.contains("PRIVATE"), script);
        String privateBody = Files.readAllLines(server.key).get(1);
        assertFalse(script.contains(privateBody), "no private key material: " + script);
        String output = fixAndLogIn(server, "nokey", server.key, script);
        assertTrue(output.contains("fixed: added the key to /home/nokey/.ssh/authorized_keys"), output);
    }

    @ParameterizedTest
    @CsvSource({"modehome, chmod 777 /home/modehome, /home/modehome was mode 777",
            "modessh, chmod 644 /home/modessh/.ssh, /home/modessh/.ssh was mode 644: now 700",
            "modefile, chmod 666 /home/modefile/.ssh/authorized_keys, /home/modefile/.ssh/authorized_keys was mode 666: now 600"})
    void wrongModesAreFixed(String user, String breakIt, String finding) {
        server.exec(userWithKey(user) + " && " + breakIt);
        String output = fixAndLogIn(server, user, server.key, scriptFor(server, user, server.key));
        assertTrue(output.contains("fixed: " + finding), output);
    }

    @Test
    void wrongOwnersAreFixed() {
        server.exec(userWithKey("owner") + " && chown alice /home/owner && chown -R alice:alice /home/owner/.ssh");
        String output = fixAndLogIn(server, "owner", server.key, scriptFor(server, "owner", server.key));
        assertTrue(output.contains("fixed: /home/owner was owned by alice: now by owner"), output);
        assertTrue(output.contains("fixed: /home/owner/.ssh/authorized_keys was owned by alice: now by owner"), output);
    }

    @Test
    void keyGoesWhereAuthorizedKeysFileSays() {
        // The key sits in ~/.ssh/authorized_keys, which sshd does not read for this user.
        server.exec(userWithKey("elsewhere"));
        String output = fixAndLogIn(server, "elsewhere", server.key, scriptFor(server, "elsewhere", server.key));
        assertTrue(output.contains("fixed: added the key to /etc/ssh/keys/elsewhere"), output);
        assertEquals("600 elsewhere", server.exec("stat -c '%a %U' /etc/ssh/keys/elsewhere").trim());
    }

    @Test
    void missingUserIsCreated() {
        String output = fixAndLogIn(server, "ghost", server.key, scriptFor(server, "ghost", server.key));
        assertTrue(output.contains("fixed: user ghost did not exist: created it (shell /bin/bash)"), output);
        assertEquals("/home/ghost", server.exec("getent passwd ghost | cut -d: -f6").trim());
    }

    @ParameterizedTest
    @ValueSource(strings = {"/usr/sbin/nologin", "/bin/false"})
    void shellThatRunsNothingIsReplaced(String shell) {
        String user = shell.endsWith("false") ? "falseshell" : "nologin";
        server.exec(userWithKey(user) + " && usermod -s " + shell + " " + user);
        Runs.Result before = diagnose(server, user, server.key);
        assertEquals("the login shell of " + user + " runs no commands (nologin or false)", verdict(before).get("cause"), before.toString());
        String output = fixAndLogIn(server, user, server.key, script(before));
        assertTrue(output.contains("fixed: the login shell of " + user + " was '" + shell + "', which runs no commands: set it to /bin/bash"), output);
    }

    @Test
    void pubkeyAuthenticationOffIsTurnedOnForTheUser() {
        server.exec(userWithKey("pkoff"));
        Runs.Result before = diagnose(server, "pkoff", server.key);
        assertEquals("the server does not accept keys for pkoff", verdict(before).get("cause"), before.toString());
        String output = fixAndLogIn(server, "pkoff", server.key, script(before));
        assertTrue(output.contains("found: PubkeyAuthentication is no for pkoff"), output);
        assertTrue(output.contains("in /etc/ssh/sshd_config.d/00-vps-toolkit-pkoff.conf"), output);
        assertTrue(output.contains("reloaded sshd (SIGHUP to pid 1)"), output);
    }

    @Test
    void withoutAnIncludeTheBlockGoesBeforeTheFirstMatch() {
        server.exec(userWithKey("noinc"));
        reloadedBy(server, () -> server.exec("cp -p /etc/ssh/sshd_config /tmp/sshd_config.saved && sed -i '/^Include /d' /etc/ssh/sshd_config"
                + " && printf '%s\\n' 'Match User noinc' '  PubkeyAuthentication no' >> /etc/ssh/sshd_config && kill -HUP 1"));
        try {
            String output = fixAndLogIn(server, "noinc", server.key, scriptFor(server, "noinc", server.key));
            assertTrue(output.contains("(in /etc/ssh/sshd_config)"), output);
            String config = server.exec("cat /etc/ssh/sshd_config");
            // Right before the file's first Match: every global line above it stays global.
            int block = config.indexOf("# BEGIN vps-toolkit diagnose-auth --fix-script for noinc\nMatch User noinc\n");
            assertTrue(block > 0 && block < config.indexOf("Match User pkoff"), config);
        } finally {
            reloadedBy(server, () -> server.exec("cp -p /tmp/sshd_config.saved /etc/ssh/sshd_config && kill -HUP 1"));
        }
    }

    @Test
    void keyTypeNotAcceptedIsAdded() {
        server.exec(userWithKey("algo"));
        String output = fixAndLogIn(server, "algo", server.key, scriptFor(server, "algo", server.key));
        assertTrue(output.contains("found: sshd does not accept ecdsa-sha2-nistp256 keys for algo (pubkeyacceptedalgorithms ssh-ed25519)"), output);
        assertEquals("pubkeyacceptedalgorithms ssh-ed25519,ecdsa-sha2-nistp256",
                server.exec("sshd -T -C user=algo,host=x,addr=127.0.0.1 | grep ^pubkeyacceptedalgorithms").trim());
    }

    @Test
    void everyCauseAtOnceOnDebian13() {
        // OpenSSH 10: sshd-session children, the same Include; one script fixes all the causes together.
        try (VpsServer trixie = new VpsServer(VpsServer.TRIXIE_IMAGE, "-o LogLevel=VERBOSE")) {
            reloadedBy(trixie, () -> trixie.exec(userWithKey("all") + " && usermod -s /usr/sbin/nologin all && chmod 755 /home/all/.ssh"
                    + " && chown root /home/all/.ssh/authorized_keys && printf '%s\\n' 'Match User all' '  PubkeyAuthentication no'"
                    + " '  PubkeyAcceptedAlgorithms ssh-ed25519' >> /etc/ssh/sshd_config && kill -HUP 1"));
            String output = fixAndLogIn(trixie, "all", trixie.key, scriptFor(trixie, "all", trixie.key));
            for (String fix : List.of("the login shell of all was '/usr/sbin/nologin'", "/home/all/.ssh was mode 755: now 700",
                    "/home/all/.ssh/authorized_keys was owned by root: now by all", "sshd now accepts the ecdsa-sha2-nistp256 key of all")) {
                assertTrue(output.contains("fixed: " + fix), output);
            }
        }
    }

    @Test
    void hostileKeyCommentIsDataNotCode(@TempDir Path dir) throws Exception {
        String comment = "$(touch /tmp/pwned1) `touch /tmp/pwned2`; touch /tmp/pwned3 ' \" \\ end";
        Path key = dir.resolve("id_hostile");
        String publicKey = KeyFiles.generate(key, comment).trim();
        server.exec("useradd -m -s /bin/bash hostile");
        String output = fixAndLogIn(server, "hostile", key, scriptFor(server, "hostile", key));
        assertTrue(output.contains("fixed: added the key to /home/hostile/.ssh/authorized_keys"), output);
        assertEquals(publicKey, server.exec("cat /home/hostile/.ssh/authorized_keys").trim());
        assertEquals("", server.exec("ls /tmp/pwned1 /tmp/pwned2 /tmp/pwned3 2>/dev/null"));
    }

    @Test
    void hostileUserNameRunsNothing() throws Exception {
        String user = "x$(touch /tmp/pwned4)';touch /tmp/pwned5;'";
        String script = scriptFor(server, user, server.key);
        Container.ExecResult r = server.container.execInContainer("sh", "-c", script);
        assertEquals(1, r.getExitCode(), r.getStdout() + r.getStderr());
        assertTrue(r.getStderr().contains("vps-fix: cannot fix: '" + user + "' is not a user name this script handles"), r.getStderr());
        assertEquals("", server.exec("ls /tmp/pwned4 /tmp/pwned5 2>/dev/null"));
    }

    @Test
    void unreachablePortGivesNoScript() throws Exception {
        List<String> args = target(server, "root", server.key, VpsServer.freePort());
        args.addAll(List.of("--fix-script", "--json"));
        Runs.Result r = Runs.run(args, new byte[0], (out, err, in) -> new DiagnoseAuth(out, err));
        assertEquals(255, r.exit(), r.toString());
        Map<?, ?> fix = (Map<?, ?>) r.json().get("fix");
        assertNull(fix.get("script"), r.toString());
        assertTrue(((String) fix.get("note")).contains("no fix script applies: the host cannot be reached"), r.toString());
    }

    @Test
    void severalHostsNeedJson() {
        String host = "root@127.0.0.1:" + server.port;
        List<String> args = new ArrayList<>(List.of("-H", host + "," + host.replace("127.0.0.1", "localhost"), "-i", server.key.toString(),
                "--known-hosts", server.knownHosts.toString(), "--fix-script"));
        Runs.Result r = Runs.run(args, new byte[0], (out, err, in) -> new DiagnoseAuth(out, err));
        assertEquals(2, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: CONFIG: --fix-script prints one host's script: with several hosts it needs --json"), r.toString());
        assertEquals("", r.stdout());
    }

    @Test
    void passwordOnlyHasNoKeyToAuthorize() {
        TestSupport.freshEnvironment(Map.of("VPS_PASSWORD", "not-the-password"));
        List<String> args = target(server, "bob", null, server.port);
        args.addAll(List.of("--password-auth", "--fix-script", "--json"));
        Runs.Result r = Runs.run(args, new byte[0], (out, err, in) -> new DiagnoseAuth(out, err));
        assertEquals(1, r.exit(), r.toString());
        Map<?, ?> fix = (Map<?, ?>) r.json().get("fix");
        assertNull(fix.get("script"), r.toString());
        assertTrue(((String) fix.get("note")).contains("there is no key to authorize for bob"), r.toString());
    }

    @Test
    void textModePrintsOnlyTheScriptOnStdout() {
        server.exec("useradd -m -s /bin/bash plain");
        List<String> args = target(server, "plain", server.key, server.port);
        args.add("--fix-script");
        Runs.Result text = Runs.run(args, new byte[0], (out, err, in) -> new DiagnoseAuth(out, err));
        assertEquals(1, text.exit(), text.toString());
        assertEquals(scriptFor(server, "plain", server.key), text.stdout());
        assertTrue(text.stderr().contains("verdict:  the server refused every key for user 'plain'"), text.toString());
        assertTrue(text.stderr().contains("script:   run it as root on the server"), text.toString());
    }

    // --- helpers

    static List<String> target(VpsServer s, String user, Path key, int port) {
        List<String> a = new ArrayList<>(List.of("-H", "127.0.0.1", "-p", Integer.toString(port), "-u", user,
                "--known-hosts", s.knownHosts.toString(), "--connect-timeout", "10s"));
        if (key != null) {
            a.addAll(List.of("-i", key.toString()));
        }
        return a;
    }

    static Runs.Result diagnose(VpsServer s, String user, Path key) {
        List<String> args = target(s, user, key, s.port);
        args.addAll(List.of("--fix-script", "--json"));
        return Runs.run(args, new byte[0], (out, err, in) -> new DiagnoseAuth(out, err));
    }

    static Map<?, ?> verdict(Runs.Result r) {
        return (Map<?, ?>) r.json().get("verdict");
    }

    static String script(Runs.Result r) {
        Map<?, ?> fix = (Map<?, ?>) r.json().get("fix");
        assertNotNull(fix, r.toString());
        assertNotNull(fix.get("script"), r.toString());
        return (String) fix.get("script");
    }

    /** diagnose-auth fails for USER with KEY; the script it gives. */
    static String scriptFor(VpsServer s, String user, Path key) {
        Runs.Result r = diagnose(s, user, key);
        assertEquals(1, r.exit(), r.toString());
        return script(r);
    }

    /** A user whose key (the server's client key) is in place, with the right modes. */
    static String userWithKey(String user) {
        String ssh = "/home/" + user + "/.ssh";
        return "useradd -m -s /bin/bash " + user + " && mkdir " + ssh + " && cp /tmp/client.pub " + ssh + "/authorized_keys && chmod 700 "
                + ssh + " && chmod 600 " + ssh + "/authorized_keys && chown -R " + user + ":" + user + " " + ssh;
    }

    /** Runs SCRIPT as root in the container, then proves the login; a second run must change nothing. Returns the first run's output. */
    static String fixAndLogIn(VpsServer s, String user, Path key, String script) {
        String output = runAsRoot(s, script);
        assertTrue(output.contains("vps-fix: done: "), output);
        Runs.Result login = Runs.exec(withCommand(target(s, user, key, s.port), "id -un"));
        assertEquals(0, login.exit(), output + "\n" + login);
        assertEquals(user, login.stdout().trim());
        String again = runAsRoot(s, script);
        assertFalse(again.contains("fixed:"), again);
        assertTrue(again.contains("vps-fix: nothing to fix for " + user), again);
        return output;
    }

    static List<String> withCommand(List<String> args, String command) {
        args.addAll(List.of("--", command));
        return args;
    }

    /** The script's output (it must succeed); when it reloaded sshd, returns once the new sshd listens. */
    static String runAsRoot(VpsServer s, String script) {
        long before = listening(s);
        Container.ExecResult r;
        try {
            r = s.container.execInContainer("sh", "-c", script);
        } catch (java.io.IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
        String output = r.getStdout() + r.getStderr();
        assertEquals(0, r.getExitCode(), output);
        if (output.contains("reloaded sshd")) {
            awaitListening(s, before);
        }
        return output;
    }

    /** Runs ACTION, which reloads sshd, and returns once the reloaded sshd listens again. */
    static void reloadedBy(VpsServer s, Runnable action) {
        long before = listening(s);
        action.run();
        awaitListening(s, before);
    }

    /** How many times the server's sshd has said it listens (once at start, once after each SIGHUP). */
    static long listening(VpsServer s) {
        return s.container.getLogs().lines().filter(l -> l.contains("Server listening on 127.0.0.1 port " + s.port)).count();
    }

    static void awaitListening(VpsServer s, long before) {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (listening(s) <= before) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("sshd did not listen again within 20 s after its reload");
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted");
            }
        }
    }
}
