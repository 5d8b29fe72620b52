import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Quoting checked against a real POSIX shell: what goes in comes out byte for byte. */
class ShellQuoteTest {
    @ParameterizedTest
    @ValueSource(strings = {"plain", "", "with space", "it's", "'", "''", "$(touch /tmp/pwned)", "`id`", "a\nb",
            "-rf", "*", "~", "$HOME", "\\", "\"", "é ü 日本", "tab\there", "!bang", "semi;colon", "a&b|c>d<e", "=x", "=ls"})
    void roundTripsThroughSh(String value) throws Exception {
        Process p = new ProcessBuilder("/bin/sh", "-c", "printf %s " + ShellQuote.quote(value)).start();
        String echoed = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor());
        assertEquals(value, echoed);
    }

    @Test
    void aWordStartingWithEqualsIsQuotedForZsh() {
        // zsh replaces a bare =word with the path of the command word (=ls: /usr/bin/ls).
        assertEquals("'=ls'", ShellQuote.quote("=ls"));
        assertEquals("a=b", ShellQuote.quote("a=b"));
    }

    @Test
    void refusesNul() {
        assertThrows(VpsException.class, () -> ShellQuote.quote("a\0b"));
    }
}
