import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * What to run on the server and how. Nothing of it reaches a process list: the exec request is the
 * fixed {@link #EXEC_REQUEST}, which every login shell (sh, dash, bash, zsh, fish, tcsh) parses alike
 * and which starts /bin/sh reading {@link #stdinHeader} from the channel's stdin: length-prefixed
 * POSIX sh scripts holding the values (--env, --cwd, the lock, the sudo step), read byte-exactly so
 * that forwarded stdin follows intact. Values live in shell memory and in the command's environment,
 * never in an argv. The user's command runs under the login shell ($SHELL -c CMD, one argv word, as
 * `ssh host CMD` does); the toolkit's own scripts ({@link #of}) run in /bin/sh itself.
 */
record RemoteCommand(String command, String interpreter, Map<String, String> env, String cwd,
                     Privilege privilege, boolean forwardStdin, Duration timeout, String runId, RemoteLock lock, boolean internal,
                     boolean pty) {

    RemoteCommand(String command, String interpreter, Map<String, String> env, String cwd,
                  Privilege privilege, boolean forwardStdin, Duration timeout) {
        this(command, interpreter, env, cwd, privilege, forwardStdin, timeout, newRunId(), null, false, false);
    }

    /** As above; SUDO: as root through sudo -n (a sudo that never asks for a password). */
    RemoteCommand(String command, String interpreter, Map<String, String> env, String cwd,
                  boolean sudo, boolean forwardStdin, Duration timeout) {
        this(command, interpreter, env, cwd, sudo ? Privilege.sudo(null, null) : Privilege.NONE, forwardStdin, timeout);
    }

    /** The same command, run only while holding LOCK (null: no lock). */
    RemoteCommand withLock(RemoteLock lock) {
        return new RemoteCommand(command, interpreter, env, cwd, privilege, forwardStdin, timeout, runId, lock, internal, pty);
    }

    /** The same command, run as PRIVILEGE says (sudo, su or neither). */
    RemoteCommand withPrivilege(Privilege privilege) {
        return new RemoteCommand(command, interpreter, env, cwd, privilege, forwardStdin, timeout, runId, lock, internal, pty);
    }

    /** The same command with ENV for its --env variables (a dry run shows them masked). */
    RemoteCommand withEnv(Map<String, String> env) {
        return new RemoteCommand(command, interpreter, env, cwd, privilege, forwardStdin, timeout, runId, lock, internal, pty);
    }

    /** The same command, run with a terminal ({@link Terminal}): its stdin is the terminal, unless --stdin feeds it. */
    RemoteCommand withPty(boolean pty) {
        return new RemoteCommand(command, interpreter, env, cwd, privilege, forwardStdin, timeout, runId, lock, internal, pty);
    }

    private static String newRunId() {
        byte[] bytes = new byte[8];
        new java.security.SecureRandom().nextBytes(bytes);
        return java.util.HexFormat.of().formatHex(bytes);
    }

    /**
     * Reads one length-prefixed script from stdin and runs it. head -c reads no byte past it and
     * read(1) builtins read a byte at a time from a pipe, so whatever follows stays for the next reader.
     */
    static final String BOOTSTRAP = "read -r n && s=$(head -c \"$n\") && eval \"$s\"";

    /** The whole exec request: no value, and no newline, backslash or '!' that a csh or fish would read otherwise. */
    static final String EXEC_REQUEST = "exec /bin/sh -c '" + BOOTSTRAP + "'";

    /** The line the bootstrap prints first, before anything of ours runs: proof that the login shell ran it. */
    String marker() {
        return "vps-toolkit-started-" + runId + "\n";
    }

    /**
     * The line the privileged shell prints first (after sudo or su let it run): without it the
     * privilege step failed and the command never ran.
     */
    String privilegedMarker() {
        return "vps-toolkit-privileged-" + runId + "\n";
    }

    /**
     * What the bootstrap reads from stdin: the login user's script (starting with {@link #marker}
     * when MARKER); with sudo or su then the password line, if any, and the script the privileged
     * shell reads (starting with {@link #privilegedMarker} when MARKER). Forwarded stdin follows it.
     */
    byte[] stdinHeader(boolean marker) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        out.writeBytes(loginPart(marker));
        out.writeBytes(privilege.passwordLines());
        out.writeBytes(privilegedPart(marker));
        return out.toByteArray();
    }

    /** The header's part before the password line: the login user's script. */
    byte[] loginPart(boolean marker) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        framed(out, (marker ? printf(marker()) : "") + userScript());
        return out.toByteArray();
    }

    /** The header's part after the password line: the privileged shell's script (nothing without sudo or su). */
    byte[] privilegedPart(boolean marker) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        if (privilege.escalates()) {
            framed(out, (marker ? printf(privilegedMarker()) : "") + finalScript());
        }
        return out.toByteArray();
    }

    private static String printf(String text) {
        return "printf %s " + ShellQuote.quote(text) + "\n";
    }

    private static void framed(java.io.ByteArrayOutputStream out, String script) {
        byte[] bytes = script.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        out.writeBytes((bytes.length + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        out.writeBytes(bytes);
    }

    /** Runs as the login user: the lock, the working folder, then the command or the step to sudo or su. */
    private String userScript() {
        String body = (cwd == null ? "" : "cd -- " + ShellQuote.quote(cwd) + " || exit 1\n")
                + (privilege.escalates()
                        // The step's argv holds no value: the privileged shell reads its script from the same stdin, next in line.
                        ? privilege.step(pty)
                        : "set -- \"${SHELL:-/bin/sh}\"\n" + finalScript());
        return lock == null ? body : lock.wrap(body, runId);
    }

    /**
     * The last step, with the login shell's path in $1: the environment, then the command. Every
     * value is quoted for /bin/sh, the only shell that reads this; the command's argv is built in
     * the positional parameters before the exports, so that no --env name can change it.
     */
    private String finalScript() {
        StringBuilder s = new StringBuilder();
        if (pty) {
            s.append(Terminal.restore(runId));   // the header is read: the terminal becomes an ordinary one
        } else if (!forwardStdin) {
            s.append("exec </dev/null\n");
        }
        if (internal) {
            return s.append(exports()).append(command).append('\n').toString();
        }
        boolean viaFile = interpreter != null && !isShell(interpreter);
        if (interpreter == null) {
            s.append("set -- \"$1\" -c ").append(ShellQuote.quote(command)).append('\n');
        } else if (!viaFile) {
            s.append("set -- ").append(quoteWords(interpreter)).append(" -c ").append(ShellQuote.quote(command)).append('\n');
        } else {
            // Interpreters disagree on how to take code (python -c, perl -e, node -e): give them a file, removed when they end.
            s.append("f=$(mktemp) || exit 1\ntrap \"rm -f -- $f\" EXIT\nprintf %s ").append(ShellQuote.quote(command)).append(" > \"$f\"\n")
                    .append("set -- ").append(quoteWords(interpreter)).append(" \"$f\"\n");
        }
        if (timeout != null) {
            // timeout(1) runs the command in its own process group and signals the whole group.
            // With a terminal, --foreground keeps the command in the terminal's foreground group (else reading it stops it, SIGTTIN).
            s.append("if command -v timeout >/dev/null 2>&1; then set -- timeout ").append(pty ? "--foreground " : "").append("-k ").append(KILL_GRACE_SECONDS).append(' ')
                    .append(Durations.seconds(timeout)).append(" \"$@\"; fi\n");
        }
        s.append(exports());
        return s.append(viaFile ? "\"$@\"\n" : "exec \"$@\"\n").toString();
    }

    private String exports() {
        StringBuilder s = new StringBuilder("export");
        new java.util.TreeMap<>(NON_INTERACTIVE).forEach((k, v) -> s.append(' ').append(k).append('=').append(ShellQuote.quote(v)));
        env.forEach((k, v) -> s.append(' ').append(k).append('=').append(ShellQuote.quote(v)));
        return s.append(" VPS_RUN_ID=").append(runId).append('\n').toString();
    }

    /**
     * The toolkit's script that sends SIGNAL to every process of this run, found by the VPS_RUN_ID its
     * environment carries: this reaches children that left the process group, and works where
     * sshd refuses "signal" requests (OpenSSH does for root sessions).
     */
    RemoteCommand killer(String signal) {
        String loop = "for d in /proc/[0-9]*; do tr '\\0' '\\n' < \"$d/environ\" 2>/dev/null | grep -qx 'VPS_RUN_ID=" + runId
                + "' && kill -" + signal + " \"${d#/proc/}\" 2>/dev/null; done; exit 0";
        return new RemoteCommand(loop, null, Map.of(), null, privilege, false, null, newRunId(), null, true, false);
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

    /** The toolkit's own POSIX sh SCRIPT, run by the bootstrap's /bin/sh itself (never the login shell, which may be fish or tcsh). */
    static RemoteCommand of(String script) {
        return new RemoteCommand(script, null, Map.of(), null, Privilege.NONE, false, null, newRunId(), null, true, false);
    }

    /** The user's COMMAND as it is, for the login shell (as `ssh host COMMAND`). */
    static RemoteCommand userCommand(String command) {
        return new RemoteCommand(command, null, Map.of(), null, Privilege.NONE, false, null);
    }

    /**
     * --env NAME=VALUE, or --env NAME for the local variable NAME's value: a secret then stays out
     * of the local argv too (as with docker run -e NAME).
     */
    static Map<String, String> parseEnv(List<String> assignments) {
        Map<String, String> env = new LinkedHashMap<>();
        for (String a : assignments) {
            int eq = a.indexOf('=');
            String name = eq < 0 ? a : a.substring(0, eq);
            if (!ENV_NAME.matcher(name).matches()) {
                throw VpsException.config("--env '" + name + "' does not start with a valid variable name",
                        "write it as --env NAME=value or --env NAME (letters, digits and _ in the name)");
            }
            String value = eq < 0 ? Environment.all().get(name) : a.substring(eq + 1);
            if (value == null) {
                throw VpsException.config("--env " + name + ": there is no local variable " + name + " to send",
                        "export " + name + " first, or write --env " + name + "=value");
            }
            env.put(name, value);
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
