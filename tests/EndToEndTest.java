import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** True end-to-end runs: the ./jbang launcher and the JBang catalog, from a foreign folder. */
class EndToEndTest {
    static final Path ROOT = Path.of(System.getenv().getOrDefault("VPS_REPO_ROOT", System.getProperty("user.dir"))).toAbsolutePath();
    static Path elsewhere;
    static Path sandboxDir;

    record Proc(int exit, String stdout, String stderr) {}

    @BeforeAll
    static void dirs() throws IOException {
        elsewhere = Files.createTempDirectory("vps-elsewhere");
        sandboxDir = Files.createTempDirectory("vps-e2e-sandbox");
        TestSupport.sandbox(sandboxDir);
    }

    @AfterAll
    static void stop() {
        TestSupport.freshEnvironment(Map.of("VPS_SANDBOX_DIR", sandboxDir.toString()));
        new Sandbox(sandboxDir).stop();
    }

    static Proc run(Map<String, String> env, String... command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(List.of(command))).directory(elsewhere.toFile());
        pb.environment().put("VPS_SANDBOX_DIR", sandboxDir.toString());
        pb.environment().putAll(env);
        Path out = Files.createTempFile("e2e", ".out");
        Path err = Files.createTempFile("e2e", ".err");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        if (!Processes.waitOrKill(p, Duration.ofMinutes(5))) {
            throw new AssertionError("timed out: " + List.of(command));
        }
        return new Proc(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    /** From cron or `env -i` there is no locale: javac then reads ASCII, and the sources are UTF-8. */
    @Test
    void aFirstCallCompilesWithoutALocale() throws Exception {
        Path cache = Files.createTempDirectory("vps-jbang-cache");
        ProcessBuilder pb = new ProcessBuilder(ROOT.resolve("jbang").toString(), "sandbox", "--version").directory(elsewhere.toFile());
        pb.environment().clear();
        pb.environment().putAll(Map.of("PATH", System.getenv("PATH"), "HOME", System.getenv("HOME"),
                "JBANG_CACHE_DIR", cache.toString(), "VPS_LAUNCHER_FAST", "0"));
        Path out = Files.createTempFile("e2e", ".out");
        Process p = pb.redirectErrorStream(true).redirectOutput(out.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "compiling took more than 5 minutes");
        String output = Files.readString(out);
        assertEquals(0, p.exitValue(), output);
        assertTrue(output.contains("sandbox (vps-toolkit "), output);
    }

    @Test
    void launcherRunsExecCommandAgainstTheSandboxFromAnyFolder() throws Exception {
        Proc p = run(Map.of(), ROOT.resolve("jbang").toString(), "exec-command", "--sandbox", "--", "echo e2e; exit 7");
        assertEquals(7, p.exit(), p.toString());
        assertEquals("e2e\n", p.stdout());
        Proc warm = run(Map.of(), ROOT.resolve("jbang").toString(), "exec-command", "--sandbox", "--json", "--", "echo warm");
        assertEquals(0, warm.exit(), warm.toString());
        assertTrue(warm.stdout().contains("\"stdout\":\"warm\\n\""), warm.stdout());
        assertEquals("", warm.stderr(), "a warm run prints nothing of its own");
    }

    @Test
    void catalogAliasWorksFromAnyFolder() throws Exception {
        Path jbangDir = Files.createTempDirectory("vps-jbang-dir");
        Map<String, String> env = Map.of("JBANG_DIR", jbangDir.toString());
        Proc add = run(env, ROOT.resolve("jbang").toString(), "catalog", "add", "--name", "vps", ROOT.resolve("jbang-catalog.json").toString());
        assertEquals(0, add.exit(), add.toString());
        Proc list = run(env, ROOT.resolve("jbang").toString(), "alias", "list", "vps");
        assertTrue((list.stdout() + list.stderr()).contains("exec-command"), list.toString());
        Proc p = run(env, ROOT.resolve("jbang").toString(), "exec-command@vps", "--sandbox", "--", "echo via-catalog");
        assertEquals(0, p.exit(), p.toString());
        assertEquals("via-catalog\n", p.stdout());
    }

    @Test
    void filesThroughTheLauncherToTheSandbox() throws Exception {
        Path file = Files.writeString(elsewhere.resolve("config.yml"), "key: 'value'\n");
        Path remote = sandboxDir.resolve("home/uploaded.yml");
        Proc put = run(Map.of(), ROOT.resolve("jbang").toString(), "sftp-put", "--sandbox", "--json", file.toString(), remote.toString());
        assertEquals(0, put.exit(), put.toString());
        assertTrue(put.stdout().contains("\"status\":\"done\""), put.stdout());
        Proc get = run(Map.of(), ROOT.resolve("jbang").toString(), "sftp-get", "--sandbox", "-q", remote.toString(), "-");
        assertEquals(0, get.exit(), get.toString());
        assertEquals("key: 'value'\n", get.stdout());
    }

    @Test
    void aSignalToTheLauncherEndsTheCommandAlsoOnTheRunThatRecordsItsClassArchive() throws Exception {
        Path cache = Files.createTempDirectory("vps-launcher-cache");
        Map<String, String> env = Map.of("VPS_LAUNCHER_CACHE", cache.toString());
        assertEquals(0, run(env, ROOT.resolve("jbang").toString(), "exec-command", "--sandbox", "--", "true").exit());   // remembers the command
        ProcessBuilder pb = new ProcessBuilder(ROOT.resolve("jbang").toString(), "exec-command", "--sandbox", "--", "sleep 60").directory(elsewhere.toFile());
        pb.environment().put("VPS_SANDBOX_DIR", sandboxDir.toString());
        pb.environment().putAll(env);
        Process launcher = pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();   // records the archive: not exec'd
        List<ProcessHandle> java = List.of();
        for (long end = System.nanoTime() + 30_000_000_000L; java.isEmpty() && System.nanoTime() < end; Thread.sleep(200)) {
            java = launcher.descendants().filter(h -> h.info().command().orElse("").endsWith("java")).toList();
        }
        assertEquals(1, java.size(), "the launcher runs java as its child");
        Thread.sleep(2000);   // connected and running the remote sleep
        launcher.destroy();   // SIGTERM to the launcher only, as a tool-call timeout may send it
        assertTrue(launcher.waitFor(20, TimeUnit.SECONDS), "the launcher ended");
        assertEquals(143, launcher.exitValue());
        assertTrue(java.get(0).onExit().completeOnTimeout(null, 20, TimeUnit.SECONDS).get() != null, "java ended with it, not left running");
    }

    @Test
    void versionAndHelp() throws Exception {
        Proc v = run(Map.of(), ROOT.resolve("jbang").toString(), "exec-command", "--version");
        assertEquals(0, v.exit(), v.toString());
        assertTrue(v.stdout().contains("vps-toolkit " + Cli.VERSION), v.stdout());
        Proc h = run(Map.of(), ROOT.resolve("jbang").toString(), "sandbox", "--help");
        assertEquals(0, h.exit(), h.toString());
        assertTrue(h.stdout().contains("Usage: sandbox"), h.stdout());
    }
}
