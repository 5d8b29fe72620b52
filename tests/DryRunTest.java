import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --dry-run (issue 20, item 3): the plan of what a call would do, against the OpenSSH container; nothing is sent or written. */
class DryRunTest extends VpsTestBase {
    @TempDir
    Path dir;

    private static Runs.Result exec(List<String> target, String... more) {
        return Runs.exec(TestSupport.args(target, more));
    }

    /** The container's target, but on a port nobody listens on. */
    private static List<String> nowhere(String user) throws IOException {
        List<String> args = new ArrayList<>(vps.target(user));
        args.set(args.indexOf("-p") + 1, Integer.toString(VpsServer.freePort()));
        return args;
    }

    @Test
    void execDryRunConnectsNowhereAndShowsTheExactRequest() throws IOException {
        Runs.Result r = exec(nowhere("root"), "--dry-run", "--", "echo planned");
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.stdout().contains("exec: " + RemoteCommand.EXEC_REQUEST + "\n"), r.toString());
        assertTrue(r.stdout().contains("  | set -- \"$1\" -c 'echo planned'\n"), r.toString());
        assertTrue(r.stdout().contains("policy: not checked (no policy module yet)"), r.toString());
        assertTrue(r.stdout().contains("keys: " + vps.key), r.toString());

        Runs.Result j = exec(nowhere("root"), "--dry-run", "--json", "-c", "echo one", "-c", "echo two");
        assertEquals(0, j.exit(), j.toString());
        Map<?, ?> plan = j.json();
        assertEquals(true, plan.get("dryRun"));
        assertEquals("root", ((Map<?, ?>) plan.get("target")).get("user"));
        List<?> requests = (List<?>) plan.get("requests");
        assertEquals(2, requests.size());
        assertEquals(RemoteCommand.EXEC_REQUEST, ((Map<?, ?>) requests.get(0)).get("exec"));
        assertTrue(((String) ((Map<?, ?>) requests.get(1)).get("stdin")).contains("-c 'echo two'"), j.toString());
        assertEquals("not checked (no policy module yet)", plan.get("policy"));
    }

    @Test
    void execDryRunAgainstTheServerRunsNothing() {
        String marker = "/tmp/dry-run-marker-" + System.nanoTime();
        Runs.Result r = exec(vps.target("root"), "--dry-run", "--timeout", "5s", "--", "touch " + marker);
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.stdout().contains("touch " + marker), r.toString());
        assertTrue(r.stdout().contains("set -- timeout -k 5 5 \"$@\""), "the timeout wrapper is shown: " + r);
        assertEquals("absent", vps.exec("[ -e " + marker + " ] && echo present || echo absent").strip());
    }

    @Test
    void noSecretIsEverShown() throws IOException {
        String password = "sudo-pw-" + System.nanoTime();
        String token = "env-token-" + System.nanoTime();
        String typed = "typed-" + System.nanoTime();
        String plain = "plain-" + System.nanoTime();
        TestSupport.freshEnvironment(Map.of("DEPLOY_TOKEN", token, "ANSWER", typed));
        Path pwFile = Files.writeString(dir.resolve("pw"), password + "\n");
        for (String format : List.of("--dry-run", "--json")) {
            List<String> args = new ArrayList<>(List.of("--dry-run", "--sudo", "--sudo-password-file", pwFile.toString(), "--env", "DEPLOY_TOKEN",
                    "--env", "PLAIN=" + plain, "--pty", "--expect", "Token: ", "--send-env", "ANSWER"));
            if (format.equals("--json")) {
                args.add("--json");
            }
            args.addAll(List.of("--", "read -p 'Token: ' t"));
            Runs.Result r = exec(vps.target("bob"), args.toArray(String[]::new));
            assertEquals(0, r.exit(), r.toString());
            String all = r.stdout() + r.stderr();
            for (String secret : List.of(password, token, typed, plain)) {
                assertFalse(all.contains(secret), "no secret in the plan: " + secret + " in " + r);
            }
            assertTrue(all.contains("DEPLOY_TOKEN='***'") && all.contains("PLAIN='***'"), "names shown, values masked: " + r);
            assertTrue(all.contains("***\\n\\n") || all.contains("  | ***\n"), "the password line is masked: " + r);
            assertTrue(all.contains("--send-env ANSWER (its value: ***)"), r.toString());
            assertTrue(all.contains("sudo -A"), "the sudo step is shown: " + r);
        }
    }

    @Test
    void aHostilePathIsShownQuotedAndNotRun() {
        String marker = "/tmp/dry-run-hostile-" + System.nanoTime();
        String cwd = "/tmp/x'; touch " + marker + "; '\n$(touch " + marker + ")";
        Runs.Result r = exec(vps.target("root"), "--dry-run", "--cwd", cwd, "--", "pwd");
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.stdout().contains("cd -- " + ShellQuote.quote(cwd).replace("\n", "\n  | ") + " || exit 1"), r.toString());
        assertEquals("absent", vps.exec("[ -e " + marker + " ] && echo present || echo absent").strip());
    }

    @Test
    void aHostSetGetsOnePlanPerHost() throws IOException {
        Path config = Files.writeString(dir.resolve("ssh_config"), alias("web1") + alias("web2"));
        Runs.Result r = Runs.exec(List.of("-H", "web1,web2", "--ssh-config", config.toString(), "--dry-run", "--json", "--", "uptime"));
        assertEquals(0, r.exit(), r.toString());
        Map<?, ?> hosts = (Map<?, ?>) r.json().get("hosts");
        assertEquals(List.of("web1", "web2"), List.copyOf(hosts.keySet()));
        for (Object plan : hosts.values()) {
            assertEquals(true, ((Map<?, ?>) plan).get("dryRun"), r.toString());
        }
    }

    /** An alias for the container's address on a port nobody listens on. */
    private static String alias(String name) throws IOException {
        return "Host " + name + "\n  HostName 127.0.0.1\n  Port " + VpsServer.freePort() + "\n  User alice\n  IdentityFile " + vps.key + "\n";
    }
}
