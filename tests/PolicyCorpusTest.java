import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The policy without a server: a corpus of attempts to get a change past a read-only rule (every one
 * refused), the read-only commands people run (every one allowed), deny rules found inside chains and
 * wrappers, and policy files that fail closed with FILE:LINE.
 */
class PolicyCorpusTest {
    private static final Path FILE = Path.of("/home/owner/.config/vps-toolkit/policy.yaml");
    private static final Policy READ_ONLY = Policy.parse("default:\n  mode: read-only\n", FILE);
    private static final Policy DENY = Policy.parse("""
            default:
              mode: full
              deny:
                - "rm -rf /*"
                - "reboot*"
            """, FILE);

    static List<String> bypasses() {
        return List.of(
                "ls; rm -rf /", "ls && reboot", "ls || rm x", "ls | rm x", "ls |& tee f", "ls & rm x", "ls\nrm x", "ls\r\nrm x",
                "echo $(rm x)", "echo `rm x`", "echo \"$(rm x)\"", "cat <(rm x)", "ls > /etc/passwd", "ls >> f", "ls >| f", "ls &> f",
                "ls 2> f", "ls 1>f", "cat <<< x > f", "cat <<EOF > f\nx\nEOF", "cat <<EOF\n$(rm x)\nEOF", "ls >&f", "ls <> f",
                "sh -c 'rm x'", "bash -c \"rm x\"", "dash -c 'ls; rm x'", "zsh -c 'rm x'", "bash -c \"$(echo cm0= | base64 -d)\"",
                "sh -lc 'rm x'", "echo rm x | sh", "bash script.sh", "env rm x", "env -i PATH=/bin rm x", "sudo rm x", "sudo -u root ls",
                "xargs rm", "find / -name x | xargs rm", "nice -n 5 rm x", "nohup rm x", "timeout 1 rm x", "timeout -s KILL 5 rm x",
                "stdbuf -oL rm x", "ionice -c 3 rm x", "command rm x", "exec rm x", "time rm x", "chroot / rm x", "setsid rm x",
                "find / -delete", "find . -exec rm {} \\;", "find . -execdir rm {} +", "find . -ok rm {} \\;", "find . -fprint f",
                "systemctl stop nginx", "systemctl restart nginx", "systemctl -q stop x", "journalctl --vacuum-time=1s",
                "journalctl --rotate", "ip link set eth0 down", "ip addr add 1.2.3.4 dev eth0", "docker rm x", "docker run alpine",
                "dpkg -i x.deb", "dpkg --purge x", "apt install x", "apt-get install x", "python3 -c 'import os; os.remove(\"x\")'",
                "perl -e 'unlink \"x\"'", "ruby -e 'File.delete(\"x\")'", "node -e 'require(\"fs\").unlinkSync(\"x\")'",
                "php -r 'unlink(\"x\");'", "awk 'BEGIN{system(\"rm x\")}'", "gawk 'BEGIN{print > \"f\"}'", "sed -i s/a/b/ f", "tee f",
                "cp a b", "mv a b", "dd if=/dev/zero of=f", "ln -s a b", "chmod 777 f", "chown root f", "touch f", "mkdir d",
                "truncate -s0 f", "eval ls", "eval 'rm x'", ". ./x", "source ./x", "$CMD", "${X:-rm} x", "$(echo rm) x", "`echo rm` x",
                "r''m x", "\\rm x", "\"rm\" x", "'rm' x", "r\"\"m x", "\u0441at /etc/passwd", "l\u0455 /", "ls\u200b /",
                "ls " + "a".repeat(100 * 1024), "echo 'unbalanced", "echo \"unbalanced", "echo `unbalanced", "echo $(unclosed",
                "(rm x)", "{ rm x; }", "ls; (cd /; rm x)", "alias ls=rm; ls", "f(){ rm x; }; f", "ls(){ rm x; }; ls",
                "PATH=/tmp ls", "LD_PRELOAD=/tmp/x.so ls", "SYSTEMD_PAGER='sh -c \"rm x\"' systemctl status", "export PATH=/tmp; ls",
                "date -s 2020-01-01", "hostname evil", "sort -o f x", "sort -of x", "uniq a b", "dmesg -c", "crontab -r", "crontab f",
                "sysctl -w x=1", "sysctl x=1", "mount /dev/sda1 /mnt", "curl -o f http://x", "wget http://x", "git clean -fdx",
                "less /etc/passwd", "vi f", "top", "su -c 'rm x'", "watch rm x", "if true; then rm x; fi", "while true; do rm x; done",
                "for f in a; do rm $f; done", "case x in x) rm x;; esac", "ls $(< /etc/shadow) $(rm x)", "echo $((1 + $(rm x)))",
                "cat <<'EOF' | sh\nrm x\nEOF", "> f", ">> f", "exec > f", "echo x | tee -a f", "kill -9 1", "pkill sshd",
                "shutdown now", "busybox rm x", "/bin/rm x", "./ls", "/tmp/cat x", "ls;rm x", "ls&&rm x", "ls&rm x");
    }

    @ParameterizedTest
    @MethodSource("bypasses")
    void everyBypassIsRefusedUnderReadOnly(String line) {
        Decision d = READ_ONLY.decide(List.of("prod"), PolicyAction.exec(List.of(line), false));
        assertEquals(Decision.Verdict.REFUSE, d.verdict(), () -> abbreviated(line) + " -> " + d);
        assertEquals(FILE + ":2", d.rule(), d::toString);
    }

    @Test
    void envVariablesThatChangeWhatRunsAreJudgedByName() {
        assertEquals(Decision.Verdict.REFUSE, READ_ONLY.decide(List.of("x"), PolicyAction.exec(List.of("ls"), false, List.of("LD_PRELOAD"))).verdict());
        assertEquals(Decision.Verdict.REFUSE, READ_ONLY.decide(List.of("x"), PolicyAction.exec(List.of("ls"), false, List.of("PATH"))).verdict());
        assertEquals(Decision.Verdict.ALLOW, READ_ONLY.decide(List.of("x"), PolicyAction.exec(List.of("ls"), false, List.of("LANG", "TZ"))).verdict());
        assertEquals("ls", PolicyAction.exec(List.of("ls"), false, List.of("PATH")).shown());
    }

    @Test
    void theCorpusHoldsAtLeastSixtyAttempts() {
        assertTrue(bypasses().size() >= 60, "corpus size " + bypasses().size());
    }

    @ParameterizedTest
    @ValueSource(strings = {"ls -la /var/log", "df -h", "journalctl -u nginx --since today | tail -50", "systemctl status nginx",
            "ps aux | grep java", "cat /etc/os-release", "free -m && uptime", "du -sh /var/* 2>/dev/null | sort -h | tail -5",
            "ls /nonexistent 2>&1", "grep -r 'error' /var/log/syslog | wc -l", "systemctl list-units --failed", "systemctl is-active nginx",
            "ip addr show", "ip route", "ip -br a", "docker ps -a", "docker logs --tail 50 web", "dpkg -l | grep nginx", "dpkg -L nginx",
            "apt list --installed", "apt policy nginx", "find /var/log -name '*.gz' -mtime +7", "ss -tlnp", "uname -a; hostname -f",
            "env", "LANG=C ls", "env LC_ALL=C df -h", "timeout 5 df -h", "head -n 20 /etc/passwd",
            "tail -f /var/log/syslog", "cat /etc/hosts | grep -v '^#'", "echo \"$HOME\"", "stat -c %s /etc/hosts", "id; whoami",
            "/usr/bin/cat /etc/hostname", "date +%s", "sort -n /tmp/x | uniq -c", "top -b -n 1", "crontab -l", "sysctl net.ipv4.ip_forward",
            "ls \\\n -la", "ls # rm x", "echo $(date)", "lsblk && findmnt /"})
    void readOnlyCommandsPass(String line) {
        Decision d = READ_ONLY.decide(List.of("prod"), PolicyAction.exec(List.of(line), false));
        assertEquals(Decision.Verdict.ALLOW, d.verdict(), () -> line + " -> " + d + " " + ShellCommands.parse(line));
    }

    @ParameterizedTest
    @ValueSource(strings = {"rm -rf /*", "ls; sudo rm -rf /*", "echo ok && rm -rf /", "ls | xargs rm -rf /*", "echo $(rm -rf /tmp)",
            "sh -c 'ls; rm -rf /'", "env X=1 nice rm -rf /*", "sudo -u root bash -c 'rm -rf /'", "r''m -rf /", "reboot", "sudo reboot now"})
    void denyRulesAreFoundInsideChainsAndWrappers(String line) {
        Decision d = DENY.decide(List.of("any"), PolicyAction.exec(List.of(line), false));
        assertEquals(Decision.Verdict.REFUSE, d.verdict(), () -> line + " -> " + d);
        assertTrue(d.rule().startsWith(FILE + ":"), d::toString);
    }

    @Test
    void fullModeWithDenyRulesRunsWhatItCanCheckAndRefusesWhatItCannot() {
        assertEquals(Decision.Verdict.ALLOW, DENY.decide(List.of("x"), PolicyAction.exec(List.of("rm -f /tmp/build.log; make"), false)).verdict());
        Decision eval = DENY.decide(List.of("x"), PolicyAction.exec(List.of("eval \"$X\""), false));
        assertEquals(Decision.Verdict.REFUSE, eval.verdict());
        assertTrue(eval.reason().contains("eval"), eval::toString);
        assertEquals(FILE + ":4", eval.rule());
    }

    @Test
    void confirmAsksForChangesAndUncertaintyButNotForReads() {
        Policy confirm = Policy.parse("default:\n  mode: confirm\n", FILE);
        assertEquals(Decision.Verdict.ALLOW, confirm.decide(List.of("x"), PolicyAction.exec(List.of("df -h"), false)).verdict());
        assertEquals(Decision.Verdict.CONFIRM, confirm.decide(List.of("x"), PolicyAction.exec(List.of("rm x"), false)).verdict());
        assertEquals(Decision.Verdict.CONFIRM, confirm.decide(List.of("x"), PolicyAction.exec(List.of("df -h"), true)).verdict());
        assertEquals(Decision.Verdict.CONFIRM, confirm.decide(List.of("x"), PolicyAction.exec(List.of("eval x"), false)).verdict());
        assertEquals(Decision.Verdict.CONFIRM, confirm.decide(List.of("x"), PolicyAction.transfer(PolicyAction.Kind.UPLOAD, "a -> b")).verdict());
        assertEquals(Decision.Verdict.ALLOW, confirm.decide(List.of("x"), PolicyAction.transfer(PolicyAction.Kind.DOWNLOAD, "a")).verdict());
    }

    @Test
    void targetsMatchByGlobFirstMatchWinsAndAllowRulesPass() {
        Policy p = Policy.parse("""
                default:
                  mode: full
                targets:
                  - match: ["prod-*", "db"]
                    mode: read-only
                    allow: ["systemctl restart nginx"]
                  - match: "prod-web"
                    mode: full
                """, FILE);
        PolicyAction restart = PolicyAction.exec(List.of("systemctl restart nginx"), false);
        assertEquals(Decision.Verdict.ALLOW, p.decide(List.of("prod-web"), restart).verdict());
        Decision stop = p.decide(List.of("prod-web", "10.0.0.5"), PolicyAction.exec(List.of("systemctl stop nginx"), false));
        assertEquals(Decision.Verdict.REFUSE, stop.verdict());
        assertEquals(FILE + ":5", stop.rule());
        assertEquals(Decision.Verdict.REFUSE, p.decide(List.of("staging", "db"), PolicyAction.exec(List.of("rm x"), false)).verdict());
        assertEquals(Decision.Verdict.ALLOW, p.decide(List.of("staging"), PolicyAction.exec(List.of("rm x"), false)).verdict());
        assertEquals(Decision.Verdict.REFUSE, p.decide(List.of("prod-web"), PolicyAction.exec(List.of("systemctl restart nginx; rm x"), false)).verdict());
        assertEquals(Decision.Verdict.REFUSE, p.decide(List.of("prod-web"), PolicyAction.of(PolicyAction.Kind.JOB_START, List.of("ls"), false, "ls")).verdict());
    }

    @Test
    void theParserYieldsEverySimpleCommand() {
        List<String> texts = ShellCommands.parse("a 1; b \"2 3\" | c && (d) || { e; }; echo $(f `g`) <(h) <<EOF\n$(i)\nEOF\nsudo -u x env Y=1 j k")
                .commands().stream().map(ShellCommands.Simple::text).sorted().toList();
        assertEquals(List.of("a 1", "b 2 3", "c", "d", "e", "echo $(...) <(...)", "f `...`", "g", "h", "i", "sudo -u x env Y=1 j k"), texts);
        ShellCommands.Simple sudo = ShellCommands.parse("sudo -u x env Y=1 j k").commands().get(0);
        assertEquals("env Y=1 j k", sudo.inner().text());
        assertEquals("j k", sudo.inner().inner().text());
        assertTrue(ShellCommands.parse("ls 'a b'").certain());
        assertFalse(ShellCommands.parse("ls 'a b").certain());
    }

    @ParameterizedTest
    @ValueSource(strings = {"default:\n  mode: readonly\n", "default:\n  mode: full\n  colour: red\n", "targets:\n  - mode: full\n",
            "default: [\n", "targets:\n  - match: x\n    deny: {a: b}\n", "nonsense: 1\n", "default:\n  mode: full\n  mode: confirm\n"})
    void aBadPolicyFileIsAConfigErrorWithFileAndLine(String text) {
        VpsException e = assertThrows(VpsException.class, () -> Policy.parse(text, FILE));
        assertEquals(VpsException.Kind.CONFIG, e.kind);
        assertTrue(e.getMessage().matches("(?s)" + java.util.regex.Pattern.quote(FILE.toString()) + ":\\d+: .*"), e.getMessage());
    }

    private static String abbreviated(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }
}
