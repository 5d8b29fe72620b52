import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The programs a read-only target may run, each with the arguments that keep it read-only. This is THE
 * list (README "Security model" points here). Not in it on purpose: awk, sed, tee, less, more, vi, vim,
 * nano, cp, mv, rm, dd, ln, chmod, chown, install, touch, mkdir, truncate, curl, wget, git, make, any
 * interpreter (they write files, run other programs or open an editor/pager that can).
 */
final class ReadOnlyPrograms {
    private static final Predicate<List<String>> ANY = args -> true;

    /** Any arguments: these only read, print, or run the command after them (which is checked on its own). */
    private static final List<String> ANY_ARGUMENTS = List.of("cat", "ls", "df", "du", "free", "uptime", "uname", "whoami", "id", "w", "who", "last", "lastlog", "ps", "pgrep",
                    "pstree", "pidof", "head", "tail", "wc", "grep", "egrep", "fgrep", "zgrep", "zcat", "bzcat", "xzcat", "stat",
                    "file", "echo", "printf", "true", "false", "pwd", "test", "[", "which", "whereis", "lsblk", "lscpu", "lsof",
                    "lsmod", "lsusb", "lspci", "lsns", "lslocks", "findmnt", "ss", "netstat", "cut", "tr", "column", "nl", "od",
                    "hexdump", "md5sum", "sha1sum", "sha256sum", "sha512sum", "b2sum", "cksum", "basename", "dirname", "realpath",
                    "readlink", "diff", "cmp", "comm", "getent", "groups", "nproc", "arch", "vmstat", "iostat", "mpstat", "tree",
                    "jq", "dpkg-query", "env", "nice", "nohup", "timeout", "command", "exec", "stdbuf", "ionice", "xargs", "setsid",
                    "cd", "sleep", "seq", "expand", "fold", "fmt", "rev", "tac", "strings", "getconf", "locale", "ulimit",
                    "getenforce", "sestatus", "nslookup", "dig", "host");

    private static final Map<String, Predicate<List<String>>> RULES = rules(
            Map.entry("find", args -> args.stream().noneMatch(a -> a.matches("-(exec|execdir|ok|okdir|delete|fprint0?|fprintf|fls)"))),
            Map.entry("systemctl", args -> verb(args, Set.of("-t", "--type", "-p", "--property", "-n", "--lines", "-o", "--output", "--state"))
                    .map(v -> v.equals("status") || v.equals("show") || v.equals("cat") || v.startsWith("list-") || v.startsWith("is-"))
                    .orElse(true)),
            Map.entry("journalctl", args -> args.stream().noneMatch(a -> a.matches("--(vacuum.*|rotate|flush|relinquish.*|smart-relinquish.*|sync|setup-keys|update-catalog).*"))),
            Map.entry("ip", ReadOnlyPrograms::ipShows),
            Map.entry("docker", args -> verb(args, Set.of("-H", "--host", "-c", "--context", "--config", "-l", "--log-level"))
                    .map(Set.of("ps", "images", "logs", "inspect", "version", "info")::contains).orElse(false)),
            Map.entry("dpkg", args -> !args.isEmpty() && args.get(0).matches("-[lLsS]|--(list|listfiles|status|search|get-selections|print-architecture)")),
            Map.entry("apt", args -> verb(args, Set.of("-o")).map(Set.of("list", "show", "policy", "search", "depends", "rdepends", "madison")::contains).orElse(false)),
            Map.entry("apt-cache", args -> verb(args, Set.of("-o", "-c")).map(v -> !v.equals("gencaches")).orElse(false)),
            Map.entry("rpm", args -> !args.isEmpty() && args.stream().allMatch(a -> !a.startsWith("-") || a.matches("-q\\w*|--query|-[a-z]*q[a-z]*|--(all|list|info|requires|provides|whatprovides|whatrequires|changelog)"))
                    && args.stream().anyMatch(a -> a.matches("-[a-z]*q[a-z]*|--query"))),
            Map.entry("crontab", args -> args.equals(List.of("-l")) || args.size() == 3 && args.get(0).equals("-u") && args.get(2).equals("-l")),
            Map.entry("sysctl", args -> args.stream().noneMatch(a -> a.contains("=") || a.matches("-w|--write|-p.*|--load.*|--system"))),
            Map.entry("date", args -> args.stream().noneMatch(a -> a.matches("-s.*|--set.*")) && args.stream().allMatch(a -> a.startsWith("-") || a.startsWith("+"))),
            Map.entry("hostname", args -> args.stream().allMatch(a -> a.startsWith("-") && !a.matches("-F|--file|-b|--boot"))),
            Map.entry("uniq", args -> args.stream().filter(a -> !a.startsWith("-")).count() <= 1),
            Map.entry("xxd", args -> args.stream().filter(a -> !a.startsWith("-")).count() <= 1 && !args.contains("-r")),
            Map.entry("sort", args -> args.stream().noneMatch(a -> a.matches("-o.*|--output.*|-[a-zA-Z]*o.*") && !a.startsWith("--") || a.startsWith("--output"))),
            Map.entry("dmesg", args -> args.stream().noneMatch(a -> a.matches("-[a-zA-Z]*[cCDEn].*|--(clear|read-clear|console-.*)"))),
            Map.entry("top", args -> args.contains("-b") || args.stream().anyMatch(a -> a.matches("-[a-zA-Z]*b[a-zA-Z]*"))),
            Map.entry("mount", List::isEmpty),
            Map.entry("time", args -> args.stream().noneMatch(a -> a.matches("-o|--output.*"))));

    private ReadOnlyPrograms() {}

    /** Whether PROGRAM (as {@link ShellCommands#programName} gives it) with ARGS only reads. */
    static boolean allows(String program, List<String> args) {
        Predicate<List<String>> rule = RULES.get(program);
        return rule != null && rule.test(args);
    }

    /** The documented list, for the README and error hints. */
    static Set<String> names() {
        return new java.util.TreeSet<>(RULES.keySet());
    }

    @SafeVarargs
    private static Map<String, Predicate<List<String>>> rules(Map.Entry<String, Predicate<List<String>>>... withRules) {
        Map<String, Predicate<List<String>>> m = new java.util.HashMap<>();
        ANY_ARGUMENTS.forEach(name -> m.put(name, ANY));
        for (Map.Entry<String, Predicate<List<String>>> e : withRules) {
            m.put(e.getKey(), e.getValue());
        }
        return Map.copyOf(m);
    }

    /** The first word that is not an option (nor an option's value, for OPTIONS_WITH_VALUE). */
    private static java.util.Optional<String> verb(List<String> args, Set<String> optionsWithValue) {
        for (int k = 0; k < args.size(); k++) {
            String a = args.get(k);
            if (optionsWithValue.contains(a)) {
                k++;
            } else if (!a.startsWith("-")) {
                return java.util.Optional.of(a);
            }
        }
        return java.util.Optional.empty();
    }

    /** ip [OPTIONS] OBJECT [show|list|get ...]: an object alone shows it. */
    private static boolean ipShows(List<String> args) {
        int k = 0;
        while (k < args.size() && args.get(k).startsWith("-")) {
            k += args.get(k).matches("-(n|netns|f|family|rc|batch|b)") ? 2 : 1;
        }
        if (k >= args.size()) {
            return false;
        }
        return k + 1 >= args.size() || args.get(k + 1).matches("show|sh|list|ls|lst|l|get");
    }
}
