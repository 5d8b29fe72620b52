import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * What to run on the server and how, turned into the one line the server's login shell executes.
 * Every user value is quoted with {@link ShellQuote}; the command runs under the login shell
 * ($SHELL -c, as `ssh host CMD` does), exec'ed so that its exit status or signal reaches us.
 */
record RemoteCommand(String command, String interpreter, Map<String, String> env, String cwd,
                     boolean sudo, boolean forwardStdin, Duration timeout, String runId, RemoteLock lock) {

    RemoteCommand(String command, String interpreter, Map<String, String> env, String cwd,
                  boolean sudo, boolean forwardStdin, Duration timeout) {
        this(command, interpreter, env, cwd, sudo, forwardStdin, timeout, newRunId(), null);
    }

    /** The same command, run only while holding LOCK (null: no lock). */
    RemoteCommand withLock(RemoteLock lock) {
        return new RemoteCommand(command, interpreter, env, cwd, sudo, forwardStdin, timeout, runId, lock);
    }

    private static String newRunId() {
        byte[] bytes = new byte[8];
        new java.security.SecureRandom().nextBytes(bytes);
        return java.util.HexFormat.of().formatHex(bytes);
    }

    /**
     * A shell line that sends SIGNAL to every process of this run, found by the VPS_RUN_ID its
     * environment carries: this reaches children that left the process group, and works where
     * sshd refuses "signal" requests (OpenSSH does for root sessions).
     */
    String killLine(String signal) {
        String loop = "for d in /proc/[0-9]*; do tr '\\0' '\\n' < \"$d/environ\" 2>/dev/null | grep -qx 'VPS_RUN_ID=" + runId
                + "' && kill -" + signal + " \"${d#/proc/}\" 2>/dev/null; done; exit 0";
        return (sudo ? "sudo -n " : "") + "sh -c " + ShellQuote.quote(loop);
    }

    /** Seconds timeout(1) waits after TERM before it sends KILL. */
    static final int KILL_GRACE_SECONDS = 5;

    /** Keeps tools from waiting for a person: no pagers, no debconf or needrestart dialogs, no git prompts. */
    static final Map<String, String> NON_INTERACTIVE = Map.of(
            "DEBIAN_FRONTEND", "noninteractive",
            "NEEDRESTART_MODE", "a",
            "PAGER", "cat",
            "GIT_PAGER", "cat",
            "SYSTEMD_PAGER", "cat",
            "MANPAGER", "cat",
            "GIT_TERMINAL_PROMPT", "0");

    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    static RemoteCommand of(String command) {
        return new RemoteCommand(command, null, Map.of(), null, false, false, null);
    }

    static Map<String, String> parseEnv(List<String> assignments) {
        Map<String, String> env = new LinkedHashMap<>();
        for (String a : assignments) {
            int eq = a.indexOf('=');
            String name = eq < 0 ? a : a.substring(0, eq);
            if (eq < 0 || !ENV_NAME.matcher(name).matches()) {
                throw VpsException.config("--env '" + a + "' is not NAME=VALUE with a valid variable name",
                        "write it as --env NAME=value (letters, digits and _ in the name)");
            }
            env.put(name, a.substring(eq + 1));
        }
        return env;
    }

    /** The interpreter a script's #! line asks for, or null for the login shell. */
    static String interpreterOf(String script) {
        if (!script.startsWith("#!")) {
            return null;
        }
        int end = script.indexOf('\n');
        String line = (end < 0 ? script.substring(2) : script.substring(2, end)).trim();
        return line.isEmpty() ? null : line;
    }

    /** The line for the server's login shell; under a lock, the line runs in a subshell while the outer shell holds it. */
    String toShellLine() {
        return lock == null ? commandLine() : lock.wrap(commandLine(), runId);
    }

    private String commandLine() {
        StringBuilder line = new StringBuilder();
        if (!forwardStdin) {
            line.append("exec </dev/null; ");
        }
        if (cwd != null) {
            // In the outer shell, so that a script's own interpreter (python, ...) never sees shell code.
            line.append("cd -- ").append(ShellQuote.quote(cwd)).append(" || exit 1; ");
        }
        String inner = command;
        String shell = interpreter == null ? "\"${SHELL:-/bin/sh}\"" : quoteWords(interpreter);
        if (interpreter != null && !isShell(interpreter)) {
            // Interpreters disagree on how to take code (python -c, perl -e, node -e): give them a file.
            inner = "f=$(mktemp) || exit 1; trap 'rm -f \"$f\"' EXIT; printf '%s' " + ShellQuote.quote(command) + " > \"$f\"; "
                    + quoteWords(interpreter) + " \"$f\"";
            shell = "\"${SHELL:-/bin/sh}\"";
        }
        String run = shell + " -c " + ShellQuote.quote(inner);

        StringBuilder envPart = new StringBuilder("env");
        new java.util.TreeMap<>(NON_INTERACTIVE).forEach((k, v) -> envPart.append(' ').append(k).append('=').append(ShellQuote.quote(v)));
        env.forEach((k, v) -> envPart.append(' ').append(k).append('=').append(ShellQuote.quote(v)));
        envPart.append(" VPS_RUN_ID=").append(runId);

        String prefix = "exec " + (sudo ? "sudo -n -- " : "") + envPart + " ";
        if (timeout == null) {
            line.append(prefix).append(run);
        } else {
            String secs = Durations.seconds(timeout);
            // timeout(1) runs the command in its own process group and signals the whole group.
            line.append("if command -v timeout >/dev/null 2>&1; then ")
                    .append(prefix).append("timeout -k ").append(KILL_GRACE_SECONDS).append(' ').append(secs).append(' ').append(run)
                    .append("; else ").append(prefix).append(run).append("; fi");
        }
        return line.toString();
    }

    private static boolean isShell(String interpreter) {
        String[] words = interpreter.trim().split("\\s+");
        String program = words[0].endsWith("/env") && words.length > 1 ? words[1] : words[0];
        String name = program.substring(program.lastIndexOf('/') + 1);
        return name.matches("(ba|da|z|k|a)?sh");
    }

    private static String quoteWords(String words) {
        StringBuilder out = new StringBuilder();
        for (String w : words.trim().split("\\s+")) {
            out.append(out.length() == 0 ? "" : " ").append(ShellQuote.quote(w));
        }
        return out.toString();
    }
}
