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
        assertTrue(r.stdout().contains("policy: allow (no rule applies)"), r.toString());
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
        assertEquals("allow (no rule applies)", plan.get("policy"));
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
        // As a job (--detach-after) the values travel inside the job's start script: masked there too.
        Runs.Result job = exec(vps.target("bob"), "--dry-run", "--detach-after", "10s", "--sudo", "--sudo-password-file", pwFile.toString(),
                "--env", "DEPLOY_TOKEN", "--", "true");
        assertEquals(0, job.exit(), job.toString());
        assertTrue(job.stdout().contains("setsid /bin/sh -c"), "the job's start is shown: " + job);
        assertFalse(job.stdout().contains(password) || job.stdout().contains(token) || job.stderr().contains(password), job.toString());
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

    private static Runs.Result put(String... args) {
        return Runs.run(TestSupport.args(vps.target("root"), args), new byte[0], SftpPut::new);
    }

    private static Runs.Result get(String... args) {
        return Runs.run(TestSupport.args(vps.target("root"), args), new byte[0], SftpGet::new);
    }

    /** Every path under REMOTE with its size, mode and modification time: what a write would change. */
    private static String remoteTree(String remote) {
        return vps.exec("find " + ShellQuote.quote(remote) + " -printf '%p %s %m %T@\\n' | sort");
    }

    private static String localTree(Path root) throws IOException {
        try (var paths = Files.walk(root)) {
            return paths.sorted().map(p -> {
                try {
                    return p + " " + (Files.isDirectory(p) ? "dir" : Files.size(p) + " " + Files.getLastModifiedTime(p));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).reduce("", (a, b) -> a + b + "\n");
        }
    }

    private static Map<String, Map<?, ?>> byPath(Runs.Result r) {
        Map<String, Map<?, ?>> files = new java.util.TreeMap<>();
        for (Object f : (List<?>) r.json().get("files")) {
            files.put((String) ((Map<?, ?>) f).get("path"), (Map<?, ?>) f);
        }
        return files;
    }

    @Test
    void putDryRunSaysCreateReplaceOrSameAndWritesNothing() throws IOException {
        String remote = "/tmp/dry-put-" + System.nanoTime();
        vps.exec("mkdir -p " + remote + "/site && cd " + remote + "/site && printf same > a.txt && printf old > b.txt && printf XXXX > c.txt");
        Path site = Files.createDirectories(dir.resolve("site"));
        Files.writeString(site.resolve("a.txt"), "same");
        Files.writeString(site.resolve("b.txt"), "longer now");
        Files.writeString(site.resolve("c.txt"), "cccc");
        Files.writeString(site.resolve("d.txt"), "new");
        Files.writeString(Files.createDirectories(site.resolve("sub")).resolve("e.txt"), "deep");
        String before = remoteTree(remote);

        Runs.Result r = put("--dry-run", "--json", site.toString(), remote + "/");
        assertEquals(0, r.exit(), r.toString());
        Map<String, Map<?, ?>> files = byPath(r);
        assertEquals("same", files.get(remote + "/site/a.txt").get("action"), r.toString());
        assertEquals("replace", files.get(remote + "/site/b.txt").get("action"));
        Map<?, ?> c = files.get(remote + "/site/c.txt");
        assertEquals("replace", c.get("action"), "same size, other content: " + r);
        assertEquals(digest("cccc"), c.get("sha256"));
        assertEquals(digest("XXXX"), c.get("remoteSha256"));
        assertEquals("create", files.get(remote + "/site/d.txt").get("action"));
        assertEquals("create", files.get(remote + "/site/sub/e.txt").get("action"));
        assertEquals(List.of(remote + "/site/sub"), r.json().get("folders"));

        Runs.Result text = put("--dry-run", site.toString(), remote + "/");
        assertEquals(0, text.exit(), text.toString());
        assertTrue(text.stdout().contains("create   " + remote + "/site/d.txt  0.0 MiB\n"), text.toString());
        assertTrue(text.stdout().contains("mkdir    " + remote + "/site/sub\n"), text.toString());

        Runs.Result kept = put("--dry-run", "--json", "--no-clobber", site.toString(), remote + "/");
        assertEquals("exists", byPath(kept).get(remote + "/site/a.txt").get("action"), kept.toString());

        Runs.Result noParent = put("--dry-run", site.resolve("d.txt").toString(), remote + "/missing/d.txt");
        assertEquals(1, noParent.exit(), "no folder and no --mkdir: refused as the real run is: " + noParent);
        Runs.Result withMkdir = put("--dry-run", "--json", "--mkdir", site.resolve("d.txt").toString(), remote + "/missing/d.txt");
        assertEquals(List.of(remote + "/missing"), withMkdir.json().get("folders"), withMkdir.toString());

        assertEquals(before, remoteTree(remote), "the remote tree is unchanged: no file, folder or partial written");
    }

    @Test
    void putDryRunSaysWhereAPartialWouldResumeAndLeavesEveryPartialAlone() throws IOException {
        String remote = "/tmp/dry-resume-" + System.nanoTime();
        // Two MiB of zeros here; on the server an earlier partial holding its first 1.5 MiB, and one that matches nothing.
        Path big = Files.write(dir.resolve("big.bin"), new byte[2 << 20]);
        Path other = Files.write(dir.resolve("other.bin"), new byte[2 << 20]);
        vps.exec("mkdir -p " + remote + " && cd " + remote + " && head -c 1572864 /dev/zero > .big.bin.vps-partial.0123456789abcdef"
                + " && head -c 1048576 /dev/urandom > .other.bin.vps-partial.0123456789abcdef && chmod 600 .*.vps-partial.*");
        String before = remoteTree(remote);

        Runs.Result r = put("--dry-run", "--json", big.toString(), other.toString(), remote + "/");
        assertEquals(0, r.exit(), r.toString());
        Map<String, Map<?, ?>> files = byPath(r);
        Map<?, ?> resumed = files.get(remote + "/big.bin");
        assertEquals("create", resumed.get("action"), r.toString());
        assertTrue(((Number) resumed.get("resumeFrom")).longValue() >= 1 << 20, r.toString());
        assertTrue(((String) resumed.get("reason")).startsWith("resumes its partial at "), r.toString());
        assertEquals(0, ((Number) files.get(remote + "/other.bin").get("resumeFrom")).longValue(), "a partial that does not match is not resumed: " + r);
        assertEquals(before, remoteTree(remote), "both partials are left as they were (a real run would remove the one that does not match)");
    }

    @Test
    void getDryRunSaysCreateReplaceOrSameAndWritesNothingLocally() throws IOException {
        String remote = "/tmp/dry-get-" + System.nanoTime();
        vps.exec("mkdir -p " + remote + "/logs/old && cd " + remote + "/logs && printf same > a.log && printf remote > b.log && printf zz > old/c.log");
        Path local = Files.createDirectories(dir.resolve("here/logs"));
        Files.writeString(local.resolve("a.log"), "same");
        Files.writeString(local.resolve("b.log"), "local!");
        String before = localTree(dir);

        Runs.Result r = get("--dry-run", "--json", remote + "/logs", dir.resolve("here").toString() + "/");
        assertEquals(0, r.exit(), r.toString());
        Map<String, Map<?, ?>> files = byPath(r);
        String base = dir.resolve("here").toString() + "/logs";
        assertEquals("same", files.get(base + "/a.log").get("action"), r.toString());
        assertEquals("replace", files.get(base + "/b.log").get("action"), "same size, other content: " + r);
        assertEquals(digest("local!"), files.get(base + "/b.log").get("localSha256"));
        assertEquals("create", files.get(base + "/old/c.log").get("action"));
        assertEquals(List.of(base + "/old"), r.json().get("folders"));
        assertEquals(before, localTree(dir), "the local tree is unchanged");
    }

    @Test
    void aHostileRemoteNameIsShownQuotedAndNeverRun() throws IOException {
        String remote = "/tmp/dry-hostile-" + System.nanoTime();
        String marker = "dry-ran-" + System.nanoTime();   // in root's home, where the hashing shell starts
        String name = "q'$(touch " + marker + ")\nz";
        vps.exec("mkdir -p " + remote + " && printf abd > " + ShellQuote.quote(remote + "/" + name));
        Files.writeString(dir.resolve(name), "abc");   // the same size: the server hashes its file by that name
        String before = remoteTree(remote);

        Runs.Result r = put("--dry-run", dir.resolve(name).toString(), remote + "/");
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.stdout().contains("replace  " + Json.write(remote + "/" + name) + "  0.0 MiB  (content differs)\n"), r.toString());
        assertEquals(2, r.stdout().split("\n").length, "one line for the file, its newline escaped: " + r);

        Path local = Files.createDirectories(dir.resolve("down"));
        Runs.Result g = get("--dry-run", remote, local + "/");
        assertEquals(0, g.exit(), g.toString());
        assertTrue(g.stdout().contains("create   " + Json.write(local + "/" + remote.substring(5) + "/" + name)), g.toString());
        assertEquals("absent", vps.exec("[ -e /root/" + marker + " ] && echo present || echo absent").strip());
        assertEquals(before, remoteTree(remote));
        try (var left = Files.list(local)) {
            assertEquals(0, left.count(), "nothing written locally");
        }
    }

    private static String digest(String text) {
        return java.util.HexFormat.of().formatHex(Sha256.digest().digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    @Test
    void mcpServerPlansExecUploadAndDownloadWithDryRun() throws IOException {
        String secret = "mcp-secret-" + System.nanoTime();
        String remote = "/tmp/dry-mcp-" + System.nanoTime();
        Path home = Files.createDirectories(dir.resolve("mcp-home"));
        Path config = Files.writeString(dir.resolve("mcp_ssh_config"), "");
        try (McpServerTest.Session mcp = new McpServerTest.Session(home, config, vps.target("root"), Map.of())) {
            McpServerTest.Call exec = mcp.call("exec", McpServerTest.args("command", "touch " + remote, "env", Map.of("API_TOKEN", secret), "dry_run", true));
            assertFalse(exec.isError(), exec.toString());
            assertEquals(true, exec.get("dryRun"));
            Map<?, ?> request = (Map<?, ?>) ((List<?>) exec.get("requests")).get(0);
            assertEquals(RemoteCommand.EXEC_REQUEST, request.get("exec"));
            assertTrue(((String) request.get("stdin")).contains("touch " + remote) && ((String) request.get("stdin")).contains("API_TOKEN="), exec.toString());
            assertFalse(exec.text().contains(secret), "the env value is masked: " + exec);
            assertEquals("allow (no rule applies)", exec.get("policy"));

            Path local = Files.writeString(dir.resolve("up.txt"), "hello");
            McpServerTest.Call up = mcp.call("upload", McpServerTest.args("local", local.toString(), "remote", remote + "/up.txt", "mkdir", true, "dry_run", true));
            assertFalse(up.isError(), up.toString());
            assertEquals(List.of(remote), up.get("folders"));
            assertEquals("create", ((Map<?, ?>) ((List<?>) up.get("files")).get(0)).get("action"), up.toString());

            Path down = dir.resolve("down/hostname");
            McpServerTest.Call get = mcp.call("download", McpServerTest.args("remote", "/etc/hostname", "local", down.toString(), "mkdir", true, "dry_run", true));
            assertFalse(get.isError(), get.toString());
            assertEquals("create", ((Map<?, ?>) ((List<?>) get.get("files")).get(0)).get("action"), get.toString());
            assertFalse(Files.exists(down.getParent()), "nothing written locally");
        }
        assertEquals("absent", vps.exec("[ -e " + remote + " ] && echo present || echo absent").strip(), "nothing ran or was written on the server");
    }

    @Test
    void aTransferDryRunOnAHostSetPlansEachHost() throws IOException {
        String remote = "/tmp/dry-fleet-" + System.nanoTime();
        String server = "  HostName 127.0.0.1\n  Port " + vps.port + "\n  User root\n  IdentityFile " + vps.key + "\n  UserKnownHostsFile " + vps.knownHosts + "\n";
        Path config = Files.writeString(dir.resolve("fleet_config"), "Host one\n" + server + "Host two\n" + server);
        Path local = Files.writeString(dir.resolve("app.conf"), "x=1\n");
        Runs.Result r = Runs.run(List.of("-H", "one,two", "--ssh-config", config.toString(), "--dry-run", "--json", "--mkdir", local.toString(), remote + "/app.conf"),
                new byte[0], SftpPut::new);
        assertEquals(0, r.exit(), r.toString());
        Map<?, ?> hosts = (Map<?, ?>) r.json().get("hosts");
        assertEquals(List.of("one", "two"), List.copyOf(hosts.keySet()));
        for (Object plan : hosts.values()) {
            assertEquals(List.of(remote), ((Map<?, ?>) plan).get("folders"), r.toString());
        }
        assertEquals("absent", vps.exec("[ -e " + remote + " ] && echo present || echo absent").strip());
    }

    /** An alias for the container's address on a port nobody listens on. */
    private static String alias(String name) throws IOException {
        return "Host " + name + "\n  HostName 127.0.0.1\n  Port " + VpsServer.freePort() + "\n  User alice\n  IdentityFile " + vps.key + "\n";
    }
}
