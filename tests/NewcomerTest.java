import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A newcomer's first ten minutes: help, a typo, a forgotten --, a wrong host or port, a missing
 * file. Each ends at once with the right exit code and KIND, in words, never a Java class name.
 */
class NewcomerTest extends VpsTestBase {
    static final Pattern CLASS_NAME = Pattern.compile("[A-Z][a-zA-Z]+(Exception|Error)\\b");

    private List<String> vpsTarget(String... more) {
        return TestSupport.args(List.of("-H", "127.0.0.1", "-p", Integer.toString(vps.port), "-u", "root",
                "--known-hosts", vps.knownHosts.toString()), more);
    }

    private static void assertUsageError(Runs.Result r, String messagePart) {
        assertEquals(2, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: CONFIG: ") && r.stderr().contains(messagePart), r.toString());
        assertTrue(r.stderr().contains("\nhint: "), r.toString());
    }

    /** DESIGN §4: a usage problem is 2 whether picocli or our own check finds it; 255 is for reaching and logging in. */
    @Test
    void usageProblemsFoundByOurOwnChecksExitTwo(@TempDir Path dir) {
        assertUsageError(Runs.exec(vpsTarget("-i", vps.key.toString(), "--env", "1BAD=x", "--", "true")), "--env '1BAD'");
        assertUsageError(Runs.exec(List.of("--", "true")), "no target host given");
        assertUsageError(Runs.exec(vpsTarget("-i", dir.resolve("no-key").toString(), "--", "true")), "does not exist");
        assertUsageError(Runs.exec(vpsTarget("-i", vps.key.toString(), "--env-file", dir.resolve("no.env").toString(), "--", "true")),
                "env file");
        assertUsageError(Runs.exec(vpsTarget("-i", vps.key.toString(), "--ssh-config", dir.resolve("no-config").toString(), "--", "true")),
                "ssh config");
        assertUsageError(Runs.exec(vpsTarget("-i", vps.key.toString(), "--passphrase-file", dir.resolve("no-pass").toString(), "--", "true")),
                "cannot read " + dir.resolve("no-pass") + ": no such file or folder");
        Runs.Result json = Runs.exec(vpsTarget("-i", dir.resolve("no-key").toString(), "--json", "--", "true"));
        assertEquals(2, json.exit(), json.toString());
        assertEquals("CONFIG", ((Map<?, ?>) json.json().get("error")).get("kind"), json.toString());
    }

    @Test
    void aForgottenDoubleDashSaysWhereTheCommandGoes() {
        Runs.Result ls = Runs.exec(vpsTarget("-i", vps.key.toString(), "ls", "-la", "/tmp"));
        assertUsageError(ls, "-la after 'ls' looks like an option of the remote command");
        assertTrue(ls.stderr().contains("hint: put the remote command after --: exec-command [options] -- ls -la /tmp"), ls.stderr());
        // -h is picocli's help: `df -h` must not print the help and exit 0 as if the command had run.
        Runs.Result df = Runs.exec(vpsTarget("-i", vps.key.toString(), "df", "-h", "/"));
        assertUsageError(df, "-h/--help after 'df'");
        assertTrue(df.stderr().contains("-- df -h /"), df.stderr());
        assertFalse(df.stdout().contains("Usage:"), df.stdout());
        Runs.Result help = Runs.exec(List.of("-h"));
        assertEquals(0, help.exit(), "-h alone is still the help");
    }

    @Test
    void aMistypedOptionGetsASuggestion() {
        Runs.Result r = Runs.exec(List.of("--hots", "127.0.0.1", "--", "true"));
        assertUsageError(r, "Unknown option: '--hots'");
        assertTrue(r.stderr().contains("hint: did you mean --host"), r.stderr());
    }

    /** AGENTS.md promises PROTOCOL "not an SSH server (it answered like HTTP)": in exec-command as in diagnose-auth. */
    @Test
    void aWebServerOnThePortIsNotAnSshServer(@TempDir Path dir) throws Exception {
        try (HttpLike http = new HttpLike()) {
            List<String> target = List.of("-H", "127.0.0.1", "-p", Integer.toString(http.port()), "-u", "root", "-i", vps.key.toString(),
                    "--known-hosts", vps.knownHosts.toString(), "--connect-timeout", "3s");
            Runs.Result exec = Runs.exec(TestSupport.args(target, "--", "true"));
            assertEquals(255, exec.exit(), exec.toString());
            assertTrue(exec.stderr().startsWith("vps: PROTOCOL: 127.0.0.1:" + http.port() + " is not an SSH server (it answered like HTTP)"),
                    exec.stderr());
            Runs.Result diagnosed = DiagnoseAuthTest.diagnose(target);
            assertEquals(255, diagnosed.exit(), diagnosed.toString());
            Map<?, ?> verdict = DiagnoseAuthTest.verdict(diagnosed);
            assertTrue(((String) verdict.get("cause")).contains("not an SSH server (it answered like HTTP)"), verdict.toString());
            assertNoClassName(diagnosed);
        }
    }

    @Test
    void diagnoseAuthSaysWhyTheAgentWasNotUsedAndGivesKeySizesInBits(@TempDir Path dir) throws Exception {
        Path key = dir.resolve("id_ed25519");
        Process keygen = new ProcessBuilder("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key.toString()).redirectErrorStream(true).start();
        assertEquals(0, keygen.waitFor(), new String(keygen.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        Runs.Result r = DiagnoseAuthTest.diagnose(vpsTarget("-i", key.toString()));
        Map<String, String> details = new java.util.HashMap<>();
        for (Object c : (List<?>) r.json().get("checks")) {
            details.merge((String) ((Map<?, ?>) c).get("name"), (String) ((Map<?, ?>) c).get("detail"), (a, b) -> a + "\n" + b);
        }
        assertTrue(details.get("key").contains("ssh-ed25519 256 bits"), details.get("key"));
        assertTrue(details.get("agent").contains("SSH_AUTH_SOCK is not set"), details.get("agent"));
    }

    /** The grep of the issue: every error line of a set of newcomer mistakes, stderr and --json alike. */
    @Test
    void newcomerMistakesNeverShowAJavaClassName(@TempDir Path dir) throws Exception {
        List<Runs.Result> results = new ArrayList<>();
        String key = vps.key.toString();
        results.add(Runs.exec(vpsTarget("-i", key, "--timeout", "soon", "--", "true")));
        results.add(Runs.exec(vpsTarget("-i", key, "--max-output", "lots", "--", "true")));
        results.add(Runs.exec(List.of("-H", "127.0.0.1", "-p", "ssh", "--", "true")));
        results.add(Runs.exec(vpsTarget("-i", key, "--passphrase-file", dir.toString() + "/nope", "--json", "--", "true")));
        results.add(Runs.exec(vpsTarget("-i", dir.toString(), "--", "true")));
        results.add(Runs.exec(vpsTarget("-i", key, "--ssh-config", dir.toString(), "--", "true")));
        results.add(Runs.exec(List.of("-H", "127.0.0.1", "-p", Integer.toString(VpsServer.freePort()), "-i", key, "--json", "--", "true")));
        results.add(Runs.exec(List.of("-H", "no-such-host.invalid", "-i", key, "--", "true")));
        results.add(Runs.run(TestSupport.args(vpsTarget("-i", key), dir.resolve("missing.txt").toString(), "/tmp/x"), new byte[0], SftpPut::new));
        results.add(Runs.run(TestSupport.args(vpsTarget("-i", key), "/etc/hostname", dir.resolve("no/such/folder/x").toString()),
                new byte[0], SftpGet::new));
        results.add(DiagnoseAuthTest.diagnose(vpsTarget("-i", dir.resolve("missing-key").toString())));
        results.add(DiagnoseAuthTest.diagnose(List.of("-H", "127.0.0.1", "-p", Integer.toString(VpsServer.freePort()), "-i", key)));
        for (Runs.Result r : results) {
            assertNoClassName(r);
            assertTrue(r.millis() < 15_000, "no hang: " + r);
        }
    }

    /** The exit-code table is written once (Cli.EXIT_CODES): every --help shows it, README and AGENTS.md list the same codes. */
    @Test
    void everyHelpEndsWithTheOneExitCodeTable() throws IOException {
        List<Runs.Factory> commands = List.of((o, e, i) -> new ExecCommand(o, e, i), SftpPut::new, SftpGet::new,
                (o, e, i) -> new DiagnoseAuth(o, e), (o, e, i) -> new JobCommand(o, e), (o, e, i) -> new SandboxCommand(o, e));
        for (Runs.Factory command : commands) {
            String help = Runs.run(List.of("--help"), new byte[0], command).stdout();
            assertTrue(help.contains("Exit codes:"), help);
            Cli.EXIT_CODES.keySet().forEach(code -> assertTrue(help.contains("\n  " + code + " "), code + " in\n" + help));
        }
        for (String doc : List.of("README.md", "AGENTS.md")) {
            String text = Files.readString(EndToEndTest.ROOT.resolve(doc));
            List<String> documented = text.lines().filter(l -> l.matches("\\| (\\d+|\\d+\\.\\.\\d+) \\|.*"))
                    .map(l -> l.split("\\|")[1].trim()).toList();
            assertEquals(List.copyOf(Cli.EXIT_CODES.keySet()), documented, doc);
        }
    }

    /** picocli formats every help text: a bare % breaks it, and every --help then starts with "[picocli WARN] Could not format". */
    @Test
    void everyHelpFormatsWithoutAWarning() {
        List<Object> commands = List.of(new ExecCommand(), new SftpPut(), new SftpGet(), new DiagnoseAuth(System.out, System.err),
                new JobCommand(System.out, System.err), new SandboxCommand(System.out, System.err));
        PrintStream realErr = System.err;
        java.io.ByteArrayOutputStream warnings = new java.io.ByteArrayOutputStream();
        System.setErr(new PrintStream(warnings, true, StandardCharsets.UTF_8));   // where picocli's tracer writes
        try {
            for (Object command : commands) {
                picocli.CommandLine cl = new picocli.CommandLine(command);
                cl.getUsageMessage();
                cl.getSubcommands().values().forEach(picocli.CommandLine::getUsageMessage);
            }
        } finally {
            System.setErr(realErr);
        }
        assertEquals("", warnings.toString(StandardCharsets.UTF_8));
    }

    private static void assertNoClassName(Runs.Result r) {
        for (String line : (r.stderr() + "\n" + r.stdout()).split("\n")) {
            assertFalse(CLASS_NAME.matcher(line).find(), "a Java class name in: " + line + "\n" + r);
        }
    }

    /** A web server as found on a wrong port: it waits for a request line, answers 400 and hangs up. */
    private static final class HttpLike implements AutoCloseable {
        private final ServerSocket socket = new ServerSocket(0, 10, InetAddress.getByName("127.0.0.1"));
        private final Thread thread = Daemons.thread("http-like", this::serve);

        HttpLike() throws IOException {
            thread.start();
        }

        int port() {
            return socket.getLocalPort();
        }

        private void serve() {
            for (int i = 0; i < 20; i++) {
                try (Socket s = socket.accept()) {
                    s.setSoTimeout(5000);
                    InputStream in = s.getInputStream();
                    for (int n = 0, c; n < 1000 && (c = in.read()) >= 0 && c != '\n'; n++) {
                        // the request line: HTTP answers only after it
                    }
                    s.getOutputStream().write("HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n<html>400</html>"
                            .getBytes(StandardCharsets.US_ASCII));
                } catch (IOException e) {
                    if (socket.isClosed()) {
                        return;
                    }
                }
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
