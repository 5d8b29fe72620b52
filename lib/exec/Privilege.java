import java.nio.charset.StandardCharsets;

/**
 * Who runs the command: the login user ({@link #NONE}), USER (default root) through sudo, or root
 * through su; with the password sudo or su asks for, if one is configured. The password reaches
 * sudo or su only over the channel's stdin, as one line between the login user's script and the
 * privileged one (see {@link RemoteCommand#stdinHeader}); no argv, file or message ever holds it.
 *
 * sudo reads it through a one-shot askpass helper: a file of fixed text in the login user's
 * private ~/.vps-toolkit/run (not /tmp, which may be noexec) that deletes itself before it reads
 * the line from the stdin it shares with sudo. A wrong password therefore gets no second try:
 * sudo's retry finds no helper and gives up. su (PAM) reads the line itself and never retries.
 * When nobody asks (NOPASSWD, or root calling su), the privileged shell skips the line itself: an
 * empty line always follows the password (which is never empty), so the first line it reads is
 * either that empty line or the unread password.
 */
record Privilege(Way way, String user, String password) {
    enum Way { NONE, SUDO, SU }

    static final Privilege NONE = new Privilege(Way.NONE, null, null);

    Privilege {
        if (password != null && (password.isEmpty() || password.indexOf('\n') >= 0 || password.indexOf('\r') >= 0 || password.indexOf('\0') >= 0)) {
            throw VpsException.config("the " + (way == Way.SU ? "su" : "sudo") + " password is empty or holds a line break",
                    "set " + passwordVariable(way) + " to the password alone, on one line");
        }
    }

    /** sudo to USER (null: root), with PASSWORD when sudo asks (null: sudo -n, which never asks). */
    static Privilege sudo(String user, String password) {
        return new Privilege(Way.SUDO, user, password);
    }

    /** su to root with PASSWORD (null when the login user is root, whom su never asks). */
    static Privilege su(String password) {
        return new Privilege(Way.SU, null, password);
    }

    boolean escalates() {
        return way != Way.NONE;
    }

    /** The variable the password comes from: VPS_SUDO_PASSWORD or VPS_SU_PASSWORD. */
    static String passwordVariable(Way way) {
        return way == Way.SU ? "VPS_SU_PASSWORD" : "VPS_SUDO_PASSWORD";
    }

    /** Never the password: a record would print it. */
    @Override
    public String toString() {
        return way == Way.NONE ? "none" : way.name().toLowerCase(java.util.Locale.ROOT) + (user == null ? "" : " -u " + user)
                + (password == null ? "" : " (with a password)");
    }

    /** In the privileged shell, before the bootstrap: consume the password line if nobody read it, and the empty line after it. */
    private static final String SKIP_PASSWORD = "IFS= read -r l; [ -z \"$l\" ] || { IFS= read -r l; [ -z \"$2\" ] || rm -f \"$2\"; }; l=; ";

    /** The askpass helper's text: it removes itself first, so that sudo's second try finds nothing to run. */
    private static final String ASKPASS = "#!/bin/sh\nrm -f \"$0\"; IFS= read -r p || exit 1; printf '%s\\n' \"$p\"\n";

    private static final String RUN_DIR = "\"$HOME/.vps-toolkit/run\"";

    /**
     * The login user's last step, in /bin/sh: exec sudo or su running the bootstrap again, which
     * then reads the privileged script from the same stdin. Its argv holds no value (the target
     * user's name aside, which ps shows as the command's owner anyway). TERMINAL: the command's
     * stdin is a (raw) terminal, not the channel's pipe.
     */
    String step(boolean terminal) {
        String bootstrap = (password == null ? "" : SKIP_PASSWORD) + RemoteCommand.BOOTSTRAP;
        String runAs = user == null ? "" : " -u " + ShellQuote.quote(user);
        return switch (way) {
            case NONE -> throw new IllegalStateException("no privilege step");
            case SUDO -> password == null
                    ? "exec sudo -n" + runAs + " -- /bin/sh -c " + ShellQuote.quote(bootstrap) + " vps-sudo \"${SHELL:-/bin/sh}\"\n"
                    : askpassSetup() + "SUDO_ASKPASS=$a exec sudo -A" + runAs + " -- /bin/sh -c " + ShellQuote.quote(bootstrap)
                            + " vps-sudo \"${SHELL:-/bin/sh}\" \"$a\"\n";
            // su runs the -c text in root's login shell: the same fixed form as the exec request, which every shell reads alike.
            // Its "Password: " prompt goes to stderr, which a job's log would keep: su gets /dev/null there, and the
            // privileged shell takes the command's stderr back from fd 3 (su passes it on).
            case SU -> terminal
                    // PAM reads a terminal in whatever chunks it gets, and this one is raw: it would swallow the script after the
                    // password. So the password goes to su through a pipe, and the privileged shell takes the terminal back (its stdout is the terminal, opened for reading and writing).
                    ? "IFS= read -r p || exit 1\nexec 3>&2 2>/dev/null\nprintf '%s\\n' \"$p\" | su -c "
                            + ShellQuote.quote("exec /bin/sh -c 'exec 2>&3 3>&- 0<&1; " + bootstrap + "' vps-su \"$SHELL\"") + " root\n"
                    : "exec 3>&2 2>/dev/null; exec su -c " + ShellQuote.quote("exec /bin/sh -c 'exec 2>&3 3>&-; " + bootstrap + "' vps-su \"$SHELL\"")
                    + " root\n";
        };
    }

    /** Writes a fresh askpass helper (0700, in a 0700 folder) and leaves its path in $a; helpers an earlier run left behind go. */
    private static String askpassSetup() {
        return "d=" + RUN_DIR + "; [ -d \"$d\" ] || { (umask 077 && mkdir -p \"$d\") && chmod 700 \"$HOME/.vps-toolkit\" \"$d\"; } || exit 1\n"
                + "find \"$d\" -name 'askpass.*' -mmin +10 -exec rm -f {} + 2>/dev/null\n"
                + "a=$(mktemp \"$d/askpass.XXXXXXXX\") || exit 1\n"
                + "printf %s " + ShellQuote.quote(ASKPASS) + " > \"$a\" && chmod 700 \"$a\" || exit 1\n";
    }

    /** What follows the login user's script on stdin: the password line and the empty line that ends it (nothing without a password). */
    byte[] passwordLines() {
        return password == null ? new byte[0] : (password + "\n\n").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The error for a privilege step that ended before the privileged script began; SAID is what
     * sudo or su printed (neither echoes the password; it would be masked all the same).
     */
    VpsException refused(String host, String loginUser, String said, int status) {
        String tool = way == Way.SU ? "su" : "sudo";
        // su's prompt, and sudo's complaint that the spent askpass helper is gone, are no news to the reader.
        String words = (password == null ? said : said.replace(password, "***")).replace("Password:", "")
                .replaceAll("sudo: unable to run \\S*/askpass\\.\\S+: No such file or directory", "")
                .replaceAll("\\s+", " ").strip();
        String shown = words.isEmpty() ? (status >= 0 ? " (it exited " + status + ")" : "") : " (" + tool + " said: " + words + ")";
        String target = way == Way.SU || user == null ? "root" : user;
        if (words.contains("command not found") || words.matches(".*\\b" + tool + ": not found.*") || status == 127) {
            return new VpsException(VpsException.Kind.REMOTE, tool + " is not installed on " + host + shown,
                    way == Way.SU ? "log in as root, or install sudo" : "use --su with VPS_SU_PASSWORD (root's password), or log in as root", false, null);
        }
        if (words.contains("not in the sudoers") || words.contains("not allowed") || words.contains("may not run")) {
            return new VpsException(VpsException.Kind.AUTH, "sudo on " + host + " does not let " + loginUser + " run commands as " + target + shown,
                    "have an admin allow it in /etc/sudoers.d, log in as another user, or use --su with VPS_SU_PASSWORD", false, null);
        }
        String hint = way == Way.SU
                ? "set VPS_SU_PASSWORD (environment or .env) to root's password on " + host + "; su was asked once and not again"
                : "set VPS_SUDO_PASSWORD (environment or .env) or --sudo-password-file FILE to " + loginUser + "'s own password on " + host
                        + "; sudo was asked once and not again";
        return new VpsException(VpsException.Kind.AUTH, tool + " on " + host + " did not accept the password" + (way == Way.SU ? " for root" : " of " + loginUser)
                + "; the command did not run" + shown, hint, false, null);
    }
}
