import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.DynamicContainer.dynamicContainer;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;
import org.testcontainers.utility.MountableFile;
import picocli.CommandLine;

/**
 * Every example of the ```bash blocks of README.md and AGENTS.md, read when the test runs, is run by
 * bash as written, block by block and line by line in order (a block's lines share their exported
 * variables and working folder), against the test server, and must exit as documented: 0 unless
 * {@link #EXITS} says otherwise, with no `vps: KIND:` failure line. The examples under "Examples:"
 * in each command's --help run the same way. So the documentation cannot drift from the commands again.
 *
 * <p>How "as written" stays honest:
 * <ul>
 * <li>The placeholder targets (vps, HOST, my.vps.example, 203.0.113.10, bastion, db, ...) are
 * ~/.ssh/config aliases of the test server in a home of the test's own, which also holds the key
 * files the examples name (the test key; encrypted where the example gives a passphrase) and a
 * known_hosts that knows the server. Only the placeholders in {@link #rewrites} change: users and
 * a port that do not exist there; deployer, whose sudo asks for a password, is bob.
 * <li>{@code ./jbang ALIAS}, {@code jbang ALIAS@vps} and a bare {@code ALIAS} run the catalog alias's
 * main class with java on the tests' class path, as the launcher's warm path does; EndToEndTest runs
 * ./jbang and the catalog themselves.
 * <li>The test server has no systemd and tests reach nothing beyond 127.0.0.1: for the duration of
 * this class {@code apt-get} and {@code systemctl} on it are stubs that print their arguments and exit 0.
 * <li>Examples that need what no test can have are in {@link #SKIPS}, reported as skipped with why.
 * </ul>
 */
class DocsExamplesTest {
    static final Path ROOT = Path.of(System.getenv().getOrDefault("VPS_REPO_ROOT", System.getProperty("user.dir"))).toAbsolutePath();
    static final List<String> DOCUMENTS = List.of("README.md", "AGENTS.md");
    static final List<String> PLACEHOLDER_HOSTS = List.of("vps", "HOST", "my.vps.example", "203.0.113.10", "my-vps", "bastion",
            "bastion.example.com", "inner-hop", "10.0.0.5", "db");

    record Skip(String containing, String why) {}

    static final List<Skip> SKIPS = List.of(
            new Skip("tests/run", "it runs the whole test suite, this test included"),
            new Skip("jbang catalog add", "it registers the catalog in JBang's own user folder; "
                    + "EndToEndTest.catalogAliasWorksFromAnyFolder adds it with a private JBANG_DIR"),
            new Skip(" mcp add ", "it needs that MCP client (Claude Code, Amp or Codex) installed; "
                    + "McpServerTest drives mcp-server over stdio as those clients do"),
            new Skip("./jbang install", "it puts vps into the user's ~/.local/bin; EngineTest.installPutsVpsOnThePath runs it with --bin"));

    record Exit(String document, String containing, int exit, String why) {}

    static final List<Exit> EXITS = List.of(
            new Exit("README.md", "vps connection status", 1, "vps runs cold here (EngineTest drives the engine): no engine runs, 1, as its --help says"),
            new Exit("AGENTS.md", "vps connection status", 1, "vps runs cold here (EngineTest drives the engine): no engine runs, 1, as its --help says"),
            new Exit("connection --help", "connection status", 1, "the first example: no engine runs in a cold call"));

    /** The first line of a failure (DESIGN §4). */
    static final Pattern FAILURE_LINE = Pattern.compile("vps: [A-Z]+: ");

    static VpsServer vps;
    static Path base;
    static Path home;
    static Path bin;
    static final List<Path> states = new ArrayList<>();
    static boolean fixturesMade;
    /** sftp-put's help uploads to /tmp/app.conf on the sandbox, which is this machine. */
    static final Path SANDBOX_UPLOAD = Path.of("/tmp/app.conf");
    static boolean sandboxUploadExisted;

    record Example(String document, int line, String text) {}

    record Proc(int exit, String stdout, String stderr) {
        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout\n" + cut(stdout) + "\n--- stderr\n" + cut(stderr);
        }

        private static String cut(String s) {
            return s.length() > 3000 ? s.substring(0, 3000) + "..." : s;
        }
    }

    record Rewrite(String from, String to) {}

    /** Placeholders the test server cannot stand in for as they are: users it does not have, a port nothing listens on. */
    static List<Rewrite> rewrites() {
        return List.of(new Rewrite("-u USER", "-u root"), new Rewrite("-u deployer", "-u bob"), new Rewrite("-u deploy ", "-u root "),
                new Rewrite("admin@bastion:2222", "root@bastion:" + vps.port));
    }

    @TestFactory
    Stream<DynamicNode> everyExampleRunsAsDocumented() throws Exception {
        List<DynamicNode> documents = new ArrayList<>();
        for (String document : DOCUMENTS) {
            List<List<Example>> blocks = blocks(document, Files.readAllLines(ROOT.resolve(document)));
            assertFalse(blocks.isEmpty(), document + " has no ```bash block: were the examples moved?");
            documents.add(dynamicContainer(document, blocks.stream().map(DocsExamplesTest::block)));
        }
        documents.add(dynamicContainer("--help", helpBlocks().stream().map(DocsExamplesTest::block)));
        return documents.stream();
    }

    /** The examples each command's --help shows under "Examples:" (its footer), a block per command. */
    static List<List<Example>> helpBlocks() throws Exception {
        List<List<Example>> blocks = new ArrayList<>();
        for (Map.Entry<String, String> alias : mainClasses().entrySet()) {
            List<String> footer = List.of(Class.forName(alias.getValue()).getAnnotation(CommandLine.Command.class).footer());
            List<Example> examples = new ArrayList<>();
            for (int i = footer.indexOf("Examples:") + 1; i > 0 && i < footer.size() && footer.get(i).startsWith("  "); i++) {
                examples.add(new Example(alias.getKey() + " --help", i + 1, footer.get(i).trim()));
            }
            if (!examples.isEmpty()) {
                blocks.add(examples);
            }
        }
        return blocks;
    }

    /** Each catalog alias and the main class of its script. */
    static Map<String, String> mainClasses() throws IOException {
        Map<String, String> mains = new java.util.TreeMap<>();
        Map<?, ?> catalog = Json.read(Files.readString(ROOT.resolve("jbang-catalog.json")), Map.class);
        for (Map.Entry<?, ?> alias : ((Map<?, ?>) catalog.get("aliases")).entrySet()) {
            String script = (String) ((Map<?, ?>) alias.getValue()).get("script-ref");
            String main = Files.readAllLines(ROOT.resolve(script)).stream().filter(l -> l.startsWith("//MAIN ")).findFirst()
                    .orElseThrow(() -> new AssertionError(script + " has no //MAIN line")).substring("//MAIN ".length()).trim();
            mains.put((String) alias.getKey(), main);
        }
        return mains;
    }

    /** The examples of each ```bash block, a line each (a line ending in a backslash goes on). */
    static List<List<Example>> blocks(String document, List<String> lines) {
        List<List<Example>> blocks = new ArrayList<>();
        List<Example> current = null;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            String trimmed = line.trim();
            if (current == null) {
                if (trimmed.equals("```bash")) {
                    current = new ArrayList<>();
                }
                continue;
            }
            if (trimmed.startsWith("```")) {
                blocks.add(current);
                current = null;
                continue;
            }
            if (trimmed.isEmpty() || trimmed.startsWith("#")) {
                continue;
            }
            int first = i;
            StringBuilder text = new StringBuilder(trimmed);
            while (text.toString().endsWith("\\") && i + 1 < lines.size()) {
                text.setLength(text.length() - 1);
                text.append(' ').append(lines.get(++i).trim());
            }
            current.add(new Example(document, first + 1, text.toString()));
        }
        return blocks;
    }

    static DynamicContainer block(List<Example> examples) {
        Block block = new Block();
        Example first = examples.get(0);
        return dynamicContainer(first.document() + " line " + first.line(),
                examples.stream().map(e -> dynamicTest(e.document() + ":" + e.line() + "  " + e.text(), () -> block.check(e))));
    }

    /** One ```bash block's run: its own working folder with the local files its examples name, and its exported variables. */
    static final class Block {
        Path folder;
        Path state;

        void check(Example e) throws Exception {
            for (Skip s : SKIPS) {
                if (e.text().contains(s.containing())) {
                    Assumptions.abort(s.why());
                }
            }
            if (folder == null) {
                folder = workingFolder();
                state = folder.resolveSibling(folder.getFileName() + ".state");
                synchronized (states) {
                    states.add(state);
                }
            }
            String line = e.text();
            for (Rewrite r : rewrites()) {
                line = line.replace(r.from(), r.to());
            }
            Proc p = bash(line);
            int expected = EXITS.stream().filter(x -> x.document().equals(e.document()) && e.text().contains(x.containing()))
                    .mapToInt(Exit::exit).findFirst().orElse(0);
            String what = e.document() + ":" + e.line() + " ran as: " + line + "\n" + p;
            assertEquals(expected, p.exit(), what);
            assertFalse(p.stderr().contains("Unknown option"), what);
            if (expected == 0) {
                assertFalse(p.stderr().lines().anyMatch(l -> FAILURE_LINE.matcher(l).lookingAt()), what);
            }
        }

        /** Runs LINE in a new bash that starts with this block's exported variables and saves them again for the next line. */
        Proc bash(String line) throws Exception {
            String q = ShellQuote.quote(state.toString());
            String script = "[ -f " + q + " ] && . " + q + "\n" + line + "\nrc=$?\nexport -p > " + q + "\nexit $rc\n";
            ProcessBuilder pb = new ProcessBuilder("bash", "-c", script).directory(folder.toFile());
            Map<String, String> env = pb.environment();
            env.clear();
            env.put("PATH", bin + ":/usr/local/bin:/usr/bin:/bin");
            env.put("HOME", home.toString());
            env.put("USER", System.getProperty("user.name"));
            env.put("LOGNAME", System.getProperty("user.name"));
            env.put("LANG", "C.UTF-8");
            Path out = folder.resolveSibling(folder.getFileName() + ".out");
            Path err = folder.resolveSibling(folder.getFileName() + ".err");
            Process p = pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!Processes.waitOrKill(p, Duration.ofSeconds(150))) {
                throw new AssertionError("still running after 150 s: " + line + "\n" + Files.readString(err));
            }
            return new Proc(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        }
    }

    /** A fresh folder holding the local files the examples name, and ./jbang. */
    static Path workingFolder() throws IOException {
        Path w = Files.createTempDirectory(base, "block");
        Files.writeString(w.resolve("nginx.conf"), "events {}\n");
        Files.writeString(w.resolve("app.conf"), "port = 8080\n");
        Files.createDirectories(w.resolve("site"));
        Files.writeString(w.resolve("site/index.html"), "<p>hello</p>\n");
        Files.createDirectories(w.resolve("build"));
        Files.write(w.resolve("build/app.jar"), new byte[4096]);
        Files.createDirectories(w.resolve("logs"));
        executable(w.resolve("setup.sh"), "#!/bin/sh\necho set up on $(hostname)\n");
        Files.createSymbolicLink(w.resolve("jbang"), bin.resolve("jbang"));
        return w;
    }

    @BeforeAll
    static void prepare() throws Exception {
        vps = VpsServer.shared();
        base = Files.createTempDirectory("vps-docs");
        home = Files.createDirectories(base.resolve("home"));
        bin = Files.createDirectories(base.resolve("bin"));
        writeShims();
        writeHome();
        sandboxUploadExisted = Files.exists(SANDBOX_UPLOAD);
        String ready = vps.exec(SERVER_FIXTURES + "echo fixtures-ready\n");
        assertEquals("fixtures-ready", ready.trim(), "the server's fixtures");
        fixturesMade = true;
    }

    @AfterAll
    static void cleanUp() {
        for (Path state : states) {
            Matcher m = Pattern.compile("SSH_AGENT_PID=\"(\\d+)\"").matcher(read(state));
            while (m.find()) {
                ProcessHandle.of(Long.parseLong(m.group(1))).ifPresent(ProcessHandle::destroy);
            }
        }
        TestSupport.freshEnvironment(Map.of("VPS_TOOLKIT_HOME", home.resolve(".vps-toolkit").toString()));
        new Sandbox(home.resolve(".vps-toolkit/sandbox")).stop();
        TestSupport.freshEnvironment();
        if (fixturesMade) {
            vps.exec(SERVER_CLEANUP);
        }
        deleteTree(base);
        if (!sandboxUploadExisted) {
            SANDBOX_UPLOAD.toFile().delete();
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What the examples expect on a server: folders and files they read, ./deploy.sh, apt-get and systemctl. */
    static final String SERVER_FIXTURES = """
            set -e
            for d in /etc/nginx /etc/app /var/log/nginx /var/www /opt/app; do [ ! -e $d ] || { echo "$d exists"; exit 1; }; done
            mkdir -p /etc/nginx /etc/app /var/log/nginx /var/backups
            echo 'events {}' > /etc/nginx/nginx.conf
            echo 'GET / 200' > /var/log/nginx/access.log
            echo 'no error' > /var/log/nginx/error.log
            head -c 100000 /dev/urandom > /var/backups/db.dump
            echo 'app started' > /var/log/app.log
            printf '#!/bin/sh\\necho deploying; sleep 1; echo deployed\\n' > /root/deploy.sh
            chmod 755 /root/deploy.sh
            printf '#!/bin/sh\\necho "apt-get $* (stub of DocsExamplesTest: tests reach no mirror)"\\n' > /usr/local/bin/apt-get
            printf '#!/bin/sh\\necho active\\n' > /usr/local/bin/systemctl
            chmod 755 /usr/local/bin/apt-get /usr/local/bin/systemctl
            rm -rf /root/.vps-toolkit/jobs/upgrade /root/.vps-toolkit/jobs/deploy-42
            cp -p /root/.ssh/authorized_keys /root/.ssh/authorized_keys.before-docs
            """;

    static final String SERVER_CLEANUP = """
            rm -rf /etc/nginx /etc/app /var/log/nginx /var/www /opt/app /var/backups/db.dump /var/log/app.log /root/deploy.sh \
              /usr/local/bin/apt-get /usr/local/bin/systemctl /root/.vps-toolkit/jobs/upgrade /root/.vps-toolkit/jobs/deploy-42
            mv /root/.ssh/authorized_keys.before-docs /root/.ssh/authorized_keys
            """;

    /**
     * One shim per catalog alias, running its script's main class; `jbang` (also ./jbang in each
     * working folder) runs `ALIAS@vps` or `ALIAS` through them.
     */
    static void writeShims() throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classPath = System.getProperty("java.class.path");
        for (Map.Entry<String, String> alias : mainClasses().entrySet()) {
            executable(bin.resolve(alias.getKey()), "#!/bin/sh\nexec " + ShellQuote.quote(java)
                    + " -Duser.home=\"$HOME\" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto -cp " + ShellQuote.quote(classPath)
                    + " " + alias.getValue() + " \"$@\"\n");
        }
        executable(bin.resolve("jbang"), "#!/bin/sh\nalias=\"${1%@vps}\"; shift\nexec " + ShellQuote.quote(bin.toString()) + "/\"$alias\" \"$@\"\n");
        // vps takes the same options and prints the same as the scripts: here it runs them cold (EngineTest runs the real one).
        executable(bin.resolve("vps"), "#!/bin/sh\ncase \"$1\" in exec) a=exec-command ;; put) a=sftp-put ;; get) a=sftp-get ;; *) a=\"$1\" ;; esac\n"
                + "shift\nexec " + ShellQuote.quote(bin.toString()) + "/\"$a\" \"$@\"\n");
    }

    /** ~/.ssh as a user of the docs has it: the placeholder hosts as aliases, the server known, the key files the examples name. */
    static void writeHome() throws Exception {
        Path ssh = Files.createDirectories(home.resolve(".ssh"));
        Files.setPosixFilePermissions(ssh, PosixFilePermissions.fromString("rwx------"));
        // IdentityFile as in README's sample config: without it the encrypted ~/.ssh/id_rsa below, a default key, would fail
        // every login that has no agent (Identities: a default key no agent may hold must open).
        Files.writeString(ssh.resolve("config"), "Host " + String.join(" ", PLACEHOLDER_HOSTS) + "\n  HostName 127.0.0.1\n  Port " + vps.port
                + "\n  User root\n  IdentityFile ~/.ssh/id_ed25519\n");
        Files.copy(vps.knownHosts, ssh.resolve("known_hosts"));
        for (String name : List.of("id_ed25519", "deploy_ed25519")) {
            Files.copy(vps.key, ssh.resolve(name));
            Files.copy(Path.of(vps.key + ".pub"), ssh.resolve(name + ".pub"));
        }
        // The examples' encrypted keys: the test key under the passphrase each example gives, made by the real tools.
        vps.container.copyFileToContainer(MountableFile.forHostPath(vps.key, 0600), "/tmp/docs-keys/key");
        String made = vps.exec("""
                set -e; cd /tmp/docs-keys
                printf %s 'my phrase' > ppk-phrase
                puttygen key -O private -o server.ppk --new-passphrase ppk-phrase
                cp key id_rsa; ssh-keygen -q -p -P '' -N 'docs phrase' -f id_rsa >/dev/null
                echo keys-made
                """);
        assertEquals("keys-made", made.trim());
        Files.createDirectories(home.resolve("keys"));
        vps.container.copyFileFromContainer("/tmp/docs-keys/server.ppk", home.resolve("keys/server.ppk").toString());
        vps.container.copyFileFromContainer("/tmp/docs-keys/id_rsa", ssh.resolve("id_rsa").toString());
        vps.exec("rm -rf /tmp/docs-keys");
        Files.createDirectories(home.resolve(".config/vps"));
        Files.writeString(home.resolve(".config/vps/phrase"), "docs phrase\n");
        Files.writeString(home.resolve(".config/vps/sudo-password"), VpsServer.BOB_PASSWORD + "\n");   // deployer's, played by bob
        for (Path secret : List.of(ssh.resolve("id_ed25519"), ssh.resolve("deploy_ed25519"), ssh.resolve("id_rsa"), home.resolve("keys/server.ppk"),
                home.resolve(".config/vps/phrase"), home.resolve(".config/vps/sudo-password"))) {
            Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        }
    }

    static void executable(Path file, String text) throws IOException {
        Files.writeString(file, text);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
