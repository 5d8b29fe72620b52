import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The embedded sandbox: starts on demand, verifies its host key, runs commands as the user. */
class SandboxTest {
    static Path dir;
    static Map<String, String> env;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("vps-sandbox");
        env = Map.of("VPS_SANDBOX_DIR", dir.toString());
        TestSupport.sandbox(dir);
    }

    @AfterAll
    static void stop() {
        TestSupport.freshEnvironment(env);
        new Sandbox(dir).stop();
    }

    @Test
    void execCommandStartsItAndRunsInTheSandboxHome() {
        TestSupport.freshEnvironment(env);
        Runs.Result r = Runs.exec(List.of("--sandbox", "--", "pwd; whoami; echo $HOME; exit 3"));
        assertEquals(3, r.exit(), r.toString());
        String home = dir.resolve("home").toString();
        assertEquals(home + "\n" + System.getProperty("user.name") + "\n" + home + "\n", r.stdout());
        assertTrue(Runs.sandbox("status").exit() == 0);
    }

    @Test
    void lifecycleUpStatusEnvDown() {
        TestSupport.freshEnvironment(env);
        Runs.Result up = Runs.sandbox("up", "--json");
        assertEquals(0, up.exit(), up.toString());
        Map<?, ?> j = up.json();
        assertEquals("running", j.get("status"));
        int port = ((Number) j.get("port")).intValue();
        Runs.Result e = Runs.sandbox("env");
        assertTrue(e.stdout().contains("export VPS_PORT='" + port + "'"), e.stdout());
        assertTrue(e.stdout().contains("VPS_KNOWN_HOSTS="), e.stdout());
        Runs.Result down = Runs.sandbox("down");
        assertEquals(0, down.exit());
        assertEquals(1, Runs.sandbox("status").exit());
        assertEquals(0, Runs.exec(List.of("--sandbox", "--", "true")).exit(), "started again on demand");
    }

    @Test
    void variablesFromSandboxEnvWorkForAnyScript() {
        TestSupport.freshEnvironment(env);
        Runs.sandbox("up");
        Map<String, String> vars = new java.util.HashMap<>(new Sandbox(dir).environment());
        vars.put("VPS_SANDBOX_DIR", dir.toString());
        TestSupport.freshEnvironment(vars);
        Runs.Result r = Runs.exec(List.of("--json", "--", "echo via-env"));
        assertEquals("via-env\n", r.json().get("stdout"), r.toString());
    }

    @Test
    void itsHostKeyIsVerified() throws Exception {
        TestSupport.freshEnvironment(env);
        Runs.sandbox("up");
        Path known = dir.resolve("known_hosts");
        String original = Files.readString(known);
        try {
            String[] parts = original.trim().split(" ");
            Files.writeString(known, parts[0] + " " + HostKeyTest.OTHER_KEY + "\n");
            Runs.Result r = Runs.exec(List.of("--sandbox", "--", "true"));
            assertEquals(255, r.exit(), r.toString());
            assertTrue(r.stderr().startsWith("vps: HOSTKEY: "), r.stderr());
        } finally {
            Files.writeString(known, original);
        }
    }

    @Test
    void servesSftp() throws Exception {
        TestSupport.freshEnvironment(env);
        Sandbox sandbox = new Sandbox(dir).ensureRunning();
        try (VpsConnection c = VpsConnection.open(sandbox.target(java.time.Duration.ofSeconds(10)), null)) {
            com.jcraft.jsch.ChannelSftp sftp = c.openSftp();
            sftp.connect(10_000);
            byte[] data = "sftp works\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            sftp.put(new java.io.ByteArrayInputStream(data), dir.resolve("home/via-sftp.txt").toString());
            sftp.disconnect();
        }
        assertEquals("sftp works\n", Files.readString(dir.resolve("home/via-sftp.txt")));
        assertEquals("sftp works\n", Runs.exec(List.of("--sandbox", "--", "cat via-sftp.txt")).stdout());
    }

    /** MINA's SFTP server takes the final mode and owner set on the handle too: a replaced file keeps its mode. */
    @Test
    void sftpPutReplacesAFileKeepingItsMode(@TempDir Path local) throws Exception {
        TestSupport.freshEnvironment(env);
        Path target = Files.writeString(dir.resolve("home/replaced.txt"), "old\n");
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-r-----"));
        Path src = Files.writeString(local.resolve("replaced.txt"), "new\n");
        Files.setPosixFilePermissions(src, PosixFilePermissions.fromString("rwxr-xr-x"));
        Runs.Result up = Runs.run(List.of("--sandbox", "--json", src.toString(), target.toString()), new byte[0], SftpPut::new);
        assertEquals(0, up.exit(), up.toString());
        assertEquals("new\n", Files.readString(target));
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(target)));
    }

    /** `job --sandbox list` (the target option before the subcommand) as well as `job list --sandbox`. */
    @Test
    void jobsRunOnTheSandboxWithTheOptionOnEitherSide() {
        TestSupport.freshEnvironment(env);
        Runs.Factory job = (out, err, in) -> new JobCommand(out, err);
        Runs.Result start = Runs.run(List.of("--sandbox", "start", "--id", "in-sandbox", "--", "echo from-sandbox"), new byte[0], job);
        assertEquals(0, start.exit(), start.toString());
        assertEquals(0, Runs.run(List.of("wait", "in-sandbox", "--sandbox", "--max", "20s"), new byte[0], job).exit());
        for (List<String> args : List.of(List.of("--sandbox", "list"), List.of("list", "--sandbox"))) {
            Runs.Result list = Runs.run(args, new byte[0], job);
            assertEquals(0, list.exit(), "job " + String.join(" ", args) + "\n" + list);
            assertTrue(list.stdout().contains("in-sandbox  exited (exit 0)"), list.stdout());
        }
        assertEquals("from-sandbox\n", Runs.run(List.of("--sandbox", "logs", "in-sandbox"), new byte[0], job).stdout());
    }

    @Test
    void neverChosenImplicitly() {
        TestSupport.freshEnvironment(env);
        Runs.Result r = Runs.exec(List.of("--", "true"));
        assertEquals(2, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: CONFIG: no target host given"), r.stderr());
        assertFalse(r.stderr().contains("127.0.0.1"));
    }

    static final String WHAT_IT_IS = "runs commands as you on this machine, not an isolated one";

    /** A newcomer learns from `sandbox up`'s first line and from `sandbox --help` that it is not a jail. */
    @Test
    void itSaysWhatItIsInItsFirstLineAndItsHelp() {
        TestSupport.freshEnvironment(env);
        Runs.Result up = Runs.sandbox("up");
        assertEquals(0, up.exit(), up.toString());
        assertTrue(up.stdout().lines().findFirst().orElse("").contains(WHAT_IT_IS), up.stdout());
        Runs.Result help = Runs.sandbox("--help");
        assertTrue(help.stdout().replaceAll("\\s+", " ").contains(WHAT_IT_IS), help.stdout());
        assertTrue(help.stdout().contains("status (the default)"), "`sandbox` alone is documented as status: " + help.stdout());
        assertEquals(Runs.sandbox("status").exit(), Runs.sandbox().exit());
        Runs.Result unknown = Runs.sandbox("start");
        assertEquals(2, unknown.exit(), unknown.toString());
        assertTrue(unknown.stderr().startsWith("vps: CONFIG: unknown action 'start'"), unknown.stderr());
    }

    /** The sandbox is this machine: sftp-put's --help example writes into the sandbox folder, nowhere else. */
    @Test
    void theHelpExampleWritesOnlyInsideTheSandboxFolder(@TempDir Path local) throws Exception {
        TestSupport.freshEnvironment(env);
        Runs.Result help = Runs.run(List.of("--help"), new byte[0], SftpPut::new);
        String example = help.stdout().lines().filter(l -> l.trim().startsWith("sftp-put --sandbox")).findFirst().orElseThrow().trim();
        List<String> words = List.of(example.replaceFirst("\\s+#.*", "").split("\\s+"));
        assertEquals(List.of("sftp-put", "--sandbox", "./app.conf"), words.subList(0, 3), example);
        String remote = words.get(words.size() - 1);
        assertFalse(remote.startsWith("/") || remote.startsWith("~"), "a relative remote path: " + example);
        Path source = Files.writeString(local.resolve("app.conf"), "example\n");
        Runs.Result put = Runs.run(List.of("--sandbox", source.toString(), remote), new byte[0], SftpPut::new);
        assertEquals(0, put.exit(), put.toString());
        assertEquals("example\n", Files.readString(dir.resolve("home").resolve(remote)));
    }
}
