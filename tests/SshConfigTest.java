import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ssh_config(5) semantics, read from real files. */
class SshConfigTest {
    @TempDir
    Path sshDir;

    private Path write(String name, String text) throws IOException {
        Path file = sshDir.resolve(name);
        Files.createDirectories(file.getParent());
        return Files.writeString(file, text);
    }

    private SshConfig config(String text) throws IOException {
        return SshConfig.parse(write("config", text), sshDir);
    }

    @Test
    void firstValueObtainedWinsAcrossBlocks() throws IOException {
        Path file = write("config", """
                Host web
                  User alice
                Host *
                  User bob
                  Port 2222
                Host web
                  Port 22
                """);
        SshConfig config = SshConfig.parse(file, sshDir);
        SshConfig.Entry web = config.lookup("web");
        assertEquals("alice", web.get("user"));
        assertEquals("2222", web.get("PORT"));
        assertEquals(file + ":5", web.origin("Port"));
        assertEquals("bob", config.lookup("other").get("User"));
        assertNull(web.get("HostName"));
        assertNull(web.origin("HostName"));
    }

    @Test
    void settingsBeforeAnyHostApplyToAllAndComeFirst() throws IOException {
        SshConfig config = config("""
                User root
                # a comment, then a blank line

                Host a
                  User alice
                  HostName a.example
                """);
        assertEquals("root", config.lookup("a").get("User"));
        assertEquals("a.example", config.lookup("a").get("HostName"));
        assertEquals("root", config.lookup("b").get("User"));
        assertNull(config.lookup("b").get("HostName"));
    }

    @Test
    void negatedPatternExcludesEvenWhenAnotherMatches() throws IOException {
        SshConfig config = config("""
                Host *.example.com !db.example.com
                  User web
                Host !lonely
                  Port 2200
                """);
        assertEquals("web", config.lookup("www.example.com").get("User"));
        assertNull(config.lookup("db.example.com").get("User"));
        assertNull(config.lookup("www.example.com").get("Port"), "a block with only negated patterns never applies");
    }

    @Test
    void wildcardsMatchTheTypedNameCaseInsensitively() throws IOException {
        SshConfig config = config("""
                Host web-? *.lan,box
                  User matched
                """);
        assertEquals("matched", config.lookup("web-1").get("User"));
        assertEquals("matched", config.lookup("WEB-2").get("User"));
        assertEquals("matched", config.lookup("printer.lan").get("User"));
        assertEquals("matched", config.lookup("box").get("User"), "comma lists are accepted");
        assertNull(config.lookup("web-12").get("User"), "? is exactly one character");
        assertNull(config.lookup("lan").get("User"));
    }

    @Test
    void includeExpandsGlobsInNameOrderRelativeToSshDir() throws IOException {
        write("config.d/b.conf", "Host *\n  Port 2002\n  User from-b\n");
        write("config.d/a.conf", "Host *\n  Port 2001\n");
        write("config.d/.a.conf", "Host *\n  Port 9999\n");
        write("config.d/notes.txt", "Host *\n  Port 9998\n");
        write("extra", "Host app\n  HostName app.internal\n");
        SshConfig config = config("""
                Include config.d/*.conf extra does-not-exist.conf
                Include ~/surely-missing-%s/*
                Host *
                  User last
                """);
        SshConfig.Entry app = config.lookup("app");
        assertEquals("2001", app.get("Port"));
        assertEquals(sshDir.resolve("config.d/a.conf").toAbsolutePath() + ":2", app.origin("Port"));
        assertEquals("from-b", app.get("User"), "included settings come where the Include line is");
        assertEquals("app.internal", app.get("HostName"));
        assertNull(config.lookup("db").get("HostName"));
    }

    @Test
    void includeInsideNonMatchingHostHasNoEffect() throws IOException {
        write("extra", "User from-extra\nHost target\n  Port 2200\n");
        SshConfig config = config("""
                Host other
                  Include extra
                Host target
                  Include extra
                Host *
                  User last
                """);
        assertEquals("from-extra", config.lookup("other").get("User"));
        assertNull(config.lookup("other").get("Port"), "the included Host target block does not match other");
        assertEquals("from-extra", config.lookup("target").get("User"));
        assertEquals("2200", config.lookup("target").get("Port"));
        assertEquals("last", config.lookup("third").get("User"));
        assertNull(config.lookup("third").get("Port"));
    }

    @Test
    void includeCycleIsAnError() throws IOException {
        write("loop", "Include config\n");
        Path file = write("config", "Host *\n  Include loop\n");
        VpsException e = assertThrows(VpsException.class, () -> SshConfig.parse(file, sshDir));
        assertEquals(VpsException.Kind.CONFIG, e.kind);
        assertTrue(e.getMessage().contains("cycle"), e.getMessage());
        assertTrue(e.getMessage().contains(sshDir.resolve("loop").toAbsolutePath() + ":1"), e.getMessage());
    }

    @Test
    void includeDepthIsLimitedTo16() throws IOException {
        for (int i = 1; i <= 17; i++) {
            write("nest" + i, "Include nest" + (i + 1) + "\n");
        }
        write("nest18", "User deep\n");
        Path file = write("config", "Include nest1\n");
        VpsException e = assertThrows(VpsException.class, () -> SshConfig.parse(file, sshDir));
        assertTrue(e.getMessage().contains(sshDir.resolve("nest16").toAbsolutePath() + ":1: Include nested more than 16"), e.getMessage());
        Files.writeString(sshDir.resolve("nest16"), "User deep\n");
        assertEquals("deep", SshConfig.parse(file, sshDir).lookup("h").get("User"), "16 levels are fine");
    }

    @Test
    void identityFilesAccumulateInOrder() throws IOException {
        SshConfig config = config("""
                IdentityFile ~/.ssh/global
                Host vps
                  IdentityFile ~/.ssh/vps
                  IdentitiesOnly yes
                Host *
                  IdentityFile ~/.ssh/fallback
                  IdentitiesOnly no
                """);
        SshConfig.Entry vps = config.lookup("vps");
        assertEquals(List.of("~/.ssh/global", "~/.ssh/vps", "~/.ssh/fallback"), vps.getAll("identityfile"));
        assertEquals("~/.ssh/global", vps.get("IdentityFile"));
        assertEquals(List.of("yes"), vps.getAll("IdentitiesOnly"), "a single-valued keyword keeps only its first value");
        assertEquals(List.of("~/.ssh/global", "~/.ssh/fallback"), config.lookup("x").getAll("IdentityFile"));
        assertEquals(List.of(), vps.getAll("CertificateFile"));
    }

    @Test
    void quotedValuesKeepTheirSpaces() throws IOException {
        SshConfig.Entry e = config("""
                Host "my box" plain
                  IdentityFile "/keys/my key"   # trailing comment
                  HostName "box.example"
                  SendEnv LANG "LC_*"
                  UserKnownHostsFile ~/.ssh/known_hosts "/etc/my hosts"
                """).lookup("my box");
        assertEquals("~/.ssh/known_hosts /etc/my hosts", e.get("UserKnownHostsFile"), "it may list several files");
        assertEquals("/keys/my key", e.get("IdentityFile"));
        assertEquals("box.example", e.get("HostName"));
        assertEquals(List.of("LANG", "LC_*"), e.getAll("SendEnv"));
    }

    @Test
    void keywordEqualsValueForm() throws IOException {
        SshConfig.Entry e = config("""
                Host=eq
                  Port=2222
                  User = alice
                  HostName =eq.example
                """).lookup("eq");
        assertEquals("2222", e.get("Port"));
        assertEquals("alice", e.get("User"));
        assertEquals("eq.example", e.get("HostName"));
    }

    @Test
    void toleratesBomAndCrlf() throws IOException {
        Path file = sshDir.resolve("config");
        String text = "\uFEFFUser crlf\r\nHost win\r\n  HostName win.example\r\n  Port 2022\r\n";
        Files.write(file, text.getBytes(StandardCharsets.UTF_8));
        SshConfig.Entry e = SshConfig.parse(file, sshDir).lookup("win");
        assertEquals("crlf", e.get("User"));
        assertEquals("win.example", e.get("HostName"));
        assertEquals("2022", e.get("Port"));
        assertEquals(file + ":4", e.origin("Port"));
        assertEquals(List.of(), e.unsupported());
    }

    @Test
    void unsupportedKeywordsAreListedWithFileAndLine() throws IOException {
        Path file = write("config", """
                Compression yes
                Host vps
                  ForwardAgent yes
                  ProxyCommand ssh -W "%h:%p" bastion
                  HostName vps.example
                """);
        SshConfig config = SshConfig.parse(file, sshDir);
        SshConfig.Entry vps = config.lookup("vps");
        assertEquals(List.of("Compression (" + file + ":1)", "ForwardAgent (" + file + ":3)",
                "ProxyCommand (" + file + ":4)"), vps.unsupported());
        assertEquals("ssh -W \"%h:%p\" bastion", vps.get("proxycommand"), "a command is kept verbatim");
        assertEquals(List.of("Compression (" + file + ":1)"), config.lookup("other").unsupported());
    }

    @Test
    void matchBlocksNeverApplyAndAreReported() throws IOException {
        Path file = write("config", """
                Match host vps exec "true"
                  User matched
                  Port 2200
                Host *
                  User normal
                """);
        SshConfig config = SshConfig.parse(file, sshDir);
        for (String host : List.of("vps", "anything")) {
            SshConfig.Entry e = config.lookup(host);
            assertEquals("normal", e.get("User"));
            assertNull(e.get("Port"));
            assertEquals(List.of("Match (" + file + ":1)"), e.unsupported());
        }
    }

    @Test
    void expandsTokens() {
        String home = System.getProperty("user.home");
        String me = System.getProperty("user.name");
        assertEquals(home + "/.ssh/cm-deploy@srv.example:2222 100% " + me,
                SshConfig.expandTokens("%d/.ssh/cm-%r@%h:%p 100%% %u", "srv.example", "deploy", 2222));
        assertEquals(home + "/.ssh/id_ed25519", SshConfig.expandTokens("~/.ssh/id_ed25519", "h", "r", 22));
        assertEquals("/keys/~not-home", SshConfig.expandTokens("/keys/~not-home", "h", "r", 22));
        VpsException unknown = assertThrows(VpsException.class, () -> SshConfig.expandTokens("%x", "h", "r", 22));
        assertTrue(unknown.getMessage().contains("%x"), unknown.getMessage());
        assertThrows(VpsException.class, () -> SshConfig.expandTokens("50%", "h", "r", 22));
    }

    @Test
    void algorithmSpecForms() {
        String defaults = "curve25519-sha256,ecdh-sha2-nistp256,ecdh-sha2-nistp384,diffie-hellman-group14-sha256";
        assertEquals("a,b", SshConfig.applyAlgorithmSpec(defaults, "a,b"));
        assertEquals(defaults + ",diffie-hellman-group1-sha1",
                SshConfig.applyAlgorithmSpec(defaults, "+diffie-hellman-group1-sha1,curve25519-sha256"));
        assertEquals("curve25519-sha256,diffie-hellman-group14-sha256",
                SshConfig.applyAlgorithmSpec(defaults, "-ecdh-sha2-*"));
        assertEquals("ecdh-sha2-nistp256,diffie-hellman-group14-sha256",
                SshConfig.applyAlgorithmSpec(defaults, "-curve?????-sha256,ecdh-sha2-nistp3*"));
        assertEquals("ecdh-sha2-nistp384,curve25519-sha256,ecdh-sha2-nistp256,diffie-hellman-group14-sha256",
                SshConfig.applyAlgorithmSpec(defaults, "^ecdh-sha2-nistp384"));
    }

    @Test
    void syntaxErrorsNameFileAndLine() throws IOException {
        for (String bad : List.of("Host x\n  Port\n", "Host x\n  IdentityFile \"/keys/open\n", "Host x\n  Port 70000\n",
                "Host x\n  User a b\n", "Host x\n  User \"\"\n")) {
            Path file = write("config", bad);
            VpsException e = assertThrows(VpsException.class, () -> SshConfig.parse(file, sshDir), bad);
            assertEquals(VpsException.Kind.CONFIG, e.kind);
            assertTrue(e.getMessage().startsWith("ssh config " + file + ":2: "), e.getMessage());
            assertTrue(e.hint != null && !e.hint.isEmpty());
        }
    }
}
