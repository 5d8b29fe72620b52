import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Options > environment > .env > ssh config > defaults, with the origin of each value. */
class TargetResolutionTest {
    private static Target resolve(String... args) {
        TargetOptions options = new TargetOptions();
        new CommandLine(new Holder(options)).parseArgs(args);
        return options.resolve();
    }

    @CommandLine.Command
    static final class Holder {
        @CommandLine.Mixin
        TargetOptions options;

        Holder(TargetOptions options) {
            this.options = options;
        }
    }

    /** One parser for [user@]host[:port] (issue 24): `[::1]:2222` as an mcp-server target was host `::1]:2222`. */
    @Test
    void anIpv6AddressInBracketsKeepsItsPortAsATargetNameAndAsAJumpHop() {
        TestSupport.freshEnvironment();
        Target named = new TargetNames(new TargetOptions(), System.err).resolve("root@[::1]:2222");
        assertEquals("::1", named.host());
        assertEquals(2222, named.port());
        assertEquals("root", named.user());
        Target bare = new TargetNames(new TargetOptions(), System.err).resolve("::1");
        assertEquals("::1", bare.host(), "a bare IPv6 address is all host");
        assertEquals(22, bare.port());
        Target hop = resolve("-H", "db", "-J", "admin@[::1]:2200").jumps().get(0);
        assertEquals("::1", hop.host());
        assertEquals(2200, hop.port());
        assertEquals("admin", hop.user());
        VpsException badPort = assertThrows(VpsException.class,
                () -> new TargetNames(new TargetOptions(), System.err).resolve("vps.example:99999"));
        assertTrue(badPort.getMessage().contains("99999"), badPort.getMessage());
    }

    /** A size that overflows a long wrapped silently: 16777216t... 17179869184g became 0, which --max-output reads as unlimited. */
    @Test
    void aSizeTooLargeForALongIsAUsageError() {
        ByteSizes sizes = new ByteSizes();
        assertEquals(1L << 30, sizes.convert("1g"));
        for (String tooLarge : List.of("17179869184g", "9223372036854775808", "99999999999999999999k")) {
            CommandLine.TypeConversionException e = assertThrows(CommandLine.TypeConversionException.class,
                    () -> sizes.convert(tooLarge), tooLarge);
            assertTrue(e.getMessage().startsWith("too large a size"), e.getMessage());
        }
    }

    @Test
    void optionsWinOverEnvironment() {
        TestSupport.freshEnvironment(Map.of("VPS_HOST", "env-host", "VPS_PORT", "2200", "VPS_USER", "envuser"));
        Target t = resolve("-H", "opt-host", "-u", "optuser");
        assertEquals("opt-host", t.host());
        assertEquals(2200, t.port());
        assertEquals("optuser", t.user());
        assertEquals("option", t.origins().get("host"));
        assertEquals("environment VPS_PORT", t.origins().get("port"));
    }

    @Test
    void dotenvFillsWhatTheEnvironmentLeaves(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        TestSupport.freshEnvironment(Map.of("VPS_USER", "envuser"));
        Path env = Files.writeString(dir.resolve("vps.env"), "VPS_HOST=dotenv-host\nVPS_PORT=2022\nVPS_USER=ignored\nVPS_KEY_PASSPHRASE='s3cret phrase'\n");
        Target t = resolve("--env-file", env.toString());
        assertEquals("dotenv-host", t.host());
        assertEquals(2022, t.port());
        assertEquals("envuser", t.user());
        assertEquals("s3cret phrase", t.keyPassphrase());
        assertEquals(".env VPS_HOST", t.origins().get("host"));
    }

    @Test
    void sshConfigAliasGivesHostNamePortUserAndKey(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        TestSupport.freshEnvironment();
        Path config = Files.writeString(dir.resolve("config"), """
                Host other
                  HostName wrong.example
                Host vps
                  HostName 127.0.0.9
                  Port 2222
                  User deploy
                  IdentityFile %s
                """.formatted(dir.resolve("id_test")));
        Target t = resolve("-H", "vps", "--ssh-config", config.toString());
        assertEquals("127.0.0.9", t.host());
        assertEquals("vps", t.alias());
        assertEquals(2222, t.port());
        assertEquals("deploy", t.user());
        assertEquals(List.of(dir.resolve("id_test")), t.identities());
        assertTrue(t.origins().get("user").contains(config.toString()));
    }

    @Test
    void defaultsArePort22AndTheLocalUser() {
        TestSupport.freshEnvironment(Map.of("VPS_HOST", "h"));
        Target t = resolve();
        assertEquals(22, t.port());
        assertEquals(System.getProperty("user.name"), t.user());
        assertTrue(t.knownHosts().endsWith(Path.of(".ssh/known_hosts")));
    }

    @Test
    void missingHostIsAConfigErrorWithAHint() {
        TestSupport.freshEnvironment();
        VpsException e = assertThrows(VpsException.class, () -> resolve());
        assertEquals(VpsException.Kind.CONFIG, e.kind);
        assertTrue(e.hint.contains("--sandbox"));
    }

    @Test
    void badPortIsAConfigError() {
        TestSupport.freshEnvironment(Map.of("VPS_HOST", "h", "VPS_PORT", "99999"));
        assertEquals(VpsException.Kind.CONFIG, assertThrows(VpsException.class, () -> resolve()).kind);
    }

    @Test
    void durationsParseAsPeopleWriteThem() {
        assertEquals(500, Durations.parse("500ms").toMillis());
        assertEquals(30_000, Durations.parse("30s").toMillis());
        assertEquals(30_000, Durations.parse("30").toMillis());
        assertEquals(300_000, Durations.parse("5m").toMillis());
        assertEquals(1_500, Durations.parse("1.5s").toMillis());
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("soon"));
    }
}
