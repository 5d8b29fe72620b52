import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * exec-command --pty, --expect/--send/--send-env and --input-wait (issue 18, items 2-4) against the
 * real OpenSSH container. root's login shell is bash, so `read -p` prints its prompt on a terminal.
 */
class TerminalTest extends VpsTestBase {
    private static Runs.Result exec(String... more) {
        return Runs.exec(TestSupport.args(vps.target("root"), more));
    }

    @Test
    void ptyGivesTheCommandATerminalWithBothStreamsMerged() {
        Runs.Result r = exec("--pty", "--", "tty; echo to-stderr >&2");
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.stdout().matches("(?s)/dev/pts/\\d+\r?\n.*to-stderr.*"), r.toString());
        assertEquals("", r.stderr(), "the terminal merges stderr into its output");
        Map<?, ?> j = exec("--pty", "--json", "--", "tty; echo to-stderr >&2").json();
        assertEquals(true, j.get("pty"));
        assertTrue(((String) j.get("stdout")).contains("to-stderr"), j.toString());
        assertEquals("", j.get("stderr"));
        Runs.Result size = exec("--pty", "--", "stty size; echo $TERM");
        assertTrue(size.stdout().startsWith("40 120\r\n"), "120x40 when the caller's size is unknown: " + size);
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"dana", "zed", "fin", "tom"})
    void everyLoginShellRunsTheCommandOnATerminal(String user) {
        Runs.Result r = Runs.exec(TestSupport.args(vps.target(user), "--pty", "--env", "V=a b", "--", "tty; echo \"$V\""));
        assertEquals(0, r.exit(), user + ": " + r);
        assertTrue(r.stdout().matches("/dev/pts/\\d+\r\na b\r\n"), user + ": " + r);
    }

    @Test
    void theHeaderMeetsNoLineDisciplineSoValuesArriveExactAndAreNeverEchoed() {
        // ^C ^D ^U ^W ^V, CR and a quote: a cooked terminal would signal, end, erase or map them, and echo the header.
        String awkward = "a\u0003b\u0004c\u0015d\u0017e\u0016f\rg it's";
        Runs.Result r = exec("--pty", "--env", "AWKWARD=" + awkward, "--", "printf '%s|' \"$AWKWARD\"; stty -a | grep -o ' echo '");
        assertEquals(0, r.exit(), r.toString());
        assertEquals(awkward + "| echo \r\n", r.stdout(), "the value exact, nothing echoed, and the terminal cooked again for the command");
    }

    @Test
    void exitStatusAndTimeoutWorkAsWithoutATerminal() {
        assertEquals(7, exec("--pty", "--", "exit 7").exit());
        Runs.Result r = exec("--pty", "--timeout", "2s", "--", "sleep 3011 & sleep 3012; echo never");
        assertEquals(124, r.exit(), r.toString());
        assertTrue(r.millis() < 10_000, "ended within 10 s: " + r);
        assertTrue(r.stderr().startsWith("vps: TIMEOUT: "), r.stderr());
        vps.await("pgrep -f 'sleep 301[12]' | wc -l", "0");
    }

    @Test
    void sudoWithATerminalReadsItsScriptRawToo() {
        // Debian's sudoers has use_pty: sudo puts the command on a pty of its own, copied from ours.
        Runs.Result r = Runs.exec(TestSupport.args(vps.target("alice"), "--pty", "--sudo", "--env", "V=x\u0003y", "--",
                "id -u; tty; printf '%s\\n' \"$V\""));
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.stdout().matches("0\r\n/dev/pts/\\d+\r\nx\u0003y\r\n"), r.toString());
    }

    @Test
    void forwardedStdinIsTypedIntoACookedTerminalAndItsEndIsCtrlD() {
        Runs.Result r = Runs.exec(TestSupport.args(vps.target("root"), "--pty", "--stdin", "--timeout", "20s", "--",
                "read x; echo \"got $x\"; cat; echo cat-ended"), "typed\nmore\nlast".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.millis() < 15_000, "ended by the Ctrl-D, not the timeout: " + r);
        // The terminal echoes what is typed, as for a person; then cat prints the rest again, the partial last line too.
        String out = r.stdout();
        assertTrue(out.startsWith("typed\r\n") && out.contains("got typed\r\n"), r.toString());
        assertTrue(out.lastIndexOf("more\r\nlast") > out.indexOf("got typed") && out.endsWith("lastcat-ended\r\n"), r.toString());
    }

    @Test
    void expectAnswersAReadPromptOnATerminal() {
        Runs.Result r = exec("--pty", "--expect", "Continue\\? \\[y/N\\]", "--send", "y\\n", "--",
                "read -p 'Continue? [y/N] ' a; echo got=$a");
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.stdout().contains("got=y"), r.toString());
    }

    @Test
    void expectRulesRunInOrderOverAPipeAndTheCommandThenSeesEof() {
        Runs.Result r = exec("--expect", "Name: ", "--send", "bob\\n", "--expect", "Age\\? ", "--send", "42\\n", "--",
                "printf 'Name: ' >&2; read n; printf 'Age? '; read a; echo \"$n is $a\"; cat; echo eof");
        assertEquals(0, r.exit(), r.toString());
        assertEquals("Age? bob is 42\neof\n", r.stdout(), r.toString());
    }

    @Test
    void vpsDetachAfterLeavesAnInteractiveCommandAttachedWhileTheOptionIsRefused() {
        TestSupport.freshEnvironment(Map.of("VPS_DETACH_AFTER", "1s"));
        Runs.Result r = exec("--expect", "Name: ", "--send", "x\\n", "--", "printf 'Name: '; read n; sleep 2; echo done $n");
        assertEquals(0, r.exit(), "ran to its end, not detached into a job: " + r);
        assertEquals("Name: done x\n", r.stdout());
        Runs.Result refused = exec("--pty", "--detach-after", "1s", "--", "true");
        assertEquals(2, refused.exit(), refused.toString());
        assertTrue(refused.stderr().startsWith("vps: CONFIG: --pty cannot run with --detach-after"), refused.stderr());
    }

    @Test
    void aRuleThatNeverMatchesEndsAsTimeoutNamingIt() {
        Runs.Result r = exec("--expect", "ok", "--send", "\\n", "--expect", "never-printed", "--send", "x\\n", "--expect-timeout", "2s",
                "--", "echo ok; read x; echo last words; sleep 3021");
        assertEquals(124, r.exit(), r.toString());
        assertTrue(r.millis() < 10_000, r.toString());
        assertTrue(r.stderr().contains("vps: TIMEOUT: rule 2 (--expect 'never-printed') did not match within 2s"), r.stderr());
        assertTrue(r.stderr().contains("last output line: last words"), r.stderr());
        assertTrue(r.stderr().contains("\nhint: "), r.stderr());
        vps.await("pgrep -f 'sleep 302[1]' | wc -l", "0");
        Map<?, ?> j = exec("--json", "--expect", "never", "--send", "x", "--expect-timeout", "1s", "--", "echo hi; sleep 3022").json();
        assertEquals("timed_out", j.get("status"));
        assertEquals("TIMEOUT", ((Map<?, ?>) j.get("error")).get("kind"));
        assertEquals("hi\n", j.get("stdout"));
    }

    @Test
    void anUnansweredPromptOnATerminalEndsAsTimeoutWithThePromptShown() {
        Runs.Result r = exec("--pty", "--input-wait", "2s", "--", "read -p 'Continue? [y/N] ' a; echo never; sleep 3031");
        assertEquals(124, r.exit(), r.toString());
        assertTrue(r.millis() < 2_000 + 5_000, "within input-wait + 5 s: " + r);
        assertTrue(r.stderr().startsWith("vps: TIMEOUT: waiting for input: Continue? [y/N]"), r.stderr());
        assertTrue(r.stderr().contains("\nhint: answer it with --expect"), r.stderr());
        assertFalse(r.stdout().contains("never"), r.toString());
        vps.await("pgrep -f 'Continu[e]' | wc -l", "0");
    }

    @Test
    void aPromptNobodyCanReadIsNoWaitForInput() {
        // Without a terminal or forwarded stdin the command reads EOF: a prompt-like pause is just work.
        Runs.Result r = exec("--input-wait", "1s", "--", "printf 'Sure? '; sleep 3; echo done");
        assertEquals(0, r.exit(), r.toString());
        assertEquals("Sure? done\n", r.stdout());
    }

    @Test
    void aProgressBarThatPausesIsNoPrompt() {
        Runs.Result r = exec("--pty", "--input-wait", "1s", "--", "printf '[=====>     ] 45%%'; sleep 3; echo ' done'");
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.stdout().endsWith("45% done\r\n"), r.toString());
    }

    @Test
    void whatLooksLikeAPrompt() {
        for (String prompt : List.of("Continue? [y/N] ", "[sudo] password for bob: ", "Password:", "mysql> ", "root@host:~# ",
                "Are you sure you want to continue connecting (yes/no/[fingerprint])? ", "Overwrite? ", "\u001B[1mName\u001B[0m: ")) {
            assertTrue(InputWait.prompt("some output\n" + prompt) != null, prompt);
        }
        for (String output : List.of("", "done\n", "Continue? [y/N] \n", "[=====>     ] 45%", "[=========>]", "Downloading 12 MB",
                "waiting 3 s")) {
            assertEquals(null, InputWait.prompt(output), output);
        }
        assertEquals("Continue? [y/N]", InputWait.prompt("50%\rContinue? [y/N] "), "a line redrawn in place shows its last version");
    }

    @Test
    void aSecretSplitAcrossWritesIsMaskedAndNothingElseIsHeld() throws Exception {
        java.io.ByteArrayOutputStream sink = new java.io.ByteArrayOutputStream();
        SecretRedactor r = new SecretRedactor(sink, List.of("hunter2".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        for (String part : List.of("typed: hun", "ter2\r\nhu", "nt", "er2 and hunt")) {
            r.write(part.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        assertEquals("typed: ***\r\n*** and ", sink.toString(java.nio.charset.StandardCharsets.UTF_8), "held: only what may start the secret");
        r.release();
        assertEquals("typed: ***\r\n*** and hunt", sink.toString(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void aSendEnvValueIsTypedButAppearsNowhere() throws Exception {
        String secret = "s3cr3t-Answer-" + System.nanoTime();
        TestSupport.freshEnvironment(Map.of("ANSWER_TOKEN", secret, "EXPECTED", secret));
        String barrier = "/tmp/terminal-test-" + System.nanoTime();
        String command = "read -p 'Token: ' t; echo \"length=${#t}\"; [ \"$t\" = \"$EXPECTED\" ] && echo same; touch " + barrier
                + ".reached; " + VpsServer.waitForFile(barrier) + "; echo \"$t\"";
        CompletableFuture<Runs.Result> run = CompletableFuture.supplyAsync(() -> exec("--pty", "--json", "--env", "EXPECTED",
                "--expect", "Token: ", "--send-env", "ANSWER_TOKEN", "--", command));
        try {
            vps.await("[ -e " + barrier + ".reached ] && echo yes", "yes");
            String processes = vps.exec("ps -eo args");
            assertFalse(processes.contains(secret), "no process list holds the value: " + processes);
        } finally {
            vps.exec("touch " + barrier);
        }
        Runs.Result r = run.get(60, TimeUnit.SECONDS);
        assertEquals(0, r.exit(), r.toString());
        Map<?, ?> j = r.json();
        String out = (String) j.get("stdout");
        assertTrue(out.contains("length=" + secret.length()) && out.contains("same"), "the value was typed: " + out);
        assertTrue(out.contains("***"), "its echo and its print are masked: " + out);
        assertFalse(r.stdout().contains(secret) || r.stderr().contains(secret), "the value appears nowhere: " + r);
    }

    @Test
    void sendEnvWithoutTheVariableIsAConfigErrorBeforeConnecting() {
        Runs.Result r = exec("--expect", "x", "--send-env", "NOT_SET_ANYWHERE", "--", "true");
        assertEquals(2, r.exit(), r.toString());
        assertTrue(r.stderr().startsWith("vps: CONFIG: --send-env NOT_SET_ANYWHERE"), r.stderr());
    }

    @Test
    void badPairsAreUsageErrors() {
        for (List<String> bad : List.of(List.of("--send", "y"), List.of("--expect", "a"), List.of("--expect", "a", "--expect", "b", "--send", "c"),
                List.of("--expect", "(", "--send", "x"), List.of("--expect", "a", "--send", "\\q"), List.of("--expect", "a", "--send", "b", "--stdin"))) {
            List<String> args = new java.util.ArrayList<>(bad);
            args.addAll(List.of("--", "true"));
            Runs.Result r = exec(args.toArray(String[]::new));
            assertEquals(2, r.exit(), bad + ": " + r);
            assertTrue(r.stderr().startsWith("vps: CONFIG: ") && r.stderr().contains("\nhint: "), bad + ": " + r.stderr());
        }
    }
}
