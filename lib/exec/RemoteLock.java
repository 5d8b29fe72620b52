import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.regex.Pattern;

/**
 * A named lock on the server (--lock NAME): one holder at a time per server and login user, e.g.
 * for apt. flock(1) on ~/.vps-toolkit/locks/NAME, taken on file descriptor 9 by the shell that
 * then waits for the command: the command itself runs with fd 9 closed, so a daemon it starts
 * never keeps the lock, and the lock goes away with its holder, however that ends.
 */
record RemoteLock(String name, Duration waitAtMost, String holder) {
    /** Exit status of a wrapped command line whose lock was busy (confirmed by a busy file, since a command may exit 254 itself). */
    static final int BUSY_EXIT = 254;
    private static final String DIR = "\"$HOME/.vps-toolkit/locks\"";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    RemoteLock {
        if (!NAME.matcher(name).matches()) {
            throw VpsException.config("lock name '" + name + "' is not valid", "use letters, digits, '.', '_' and '-' (up to 64), e.g. --lock apt");
        }
    }

    /**
     * Shell code that takes the lock on fd 9, waiting at most {@link #waitAtMost}; when it cannot,
     * it runs ON_BUSY with $why set to the current holder's description (or the missing tool).
     */
    String acquire(String onBusy) {
        String file = DIR + "/" + name;
        return "(umask 077; mkdir -p " + DIR + ") || exit 1\n"
                + "if ! command -v flock >/dev/null 2>&1; then why='the server has no flock(1) (util-linux)'; " + onBusy + "; fi\n"
                + "exec 9>>" + file + "\n"
                + "if ! flock -w " + Durations.seconds(waitAtMost) + " 9; then why=$(cat " + file + ".holder 2>/dev/null); " + onBusy + "; fi\n"
                + "printf '%s (since %s)\\n' " + ShellQuote.quote(holder) + " \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\" > " + file + ".holder\n";
    }

    /** LINE run while holding the lock; a busy lock leaves its reason in a file named after TAG and exits {@link #BUSY_EXIT}. */
    String wrap(String line, String tag) {
        return acquire("{ " + onBusy(tag) + "; }") + "( " + line + "\n) 9>&-";
    }

    /** What a busy lock does in a script run by exec: leave $why in a file named after TAG and exit {@link #BUSY_EXIT}. */
    String onBusy(String tag) {
        return "printf '%s\\n' \"$why\" > " + busyFile(tag) + "; exit " + BUSY_EXIT;
    }

    /** After a wrapped command exited {@link #BUSY_EXIT}: the TIMEOUT error when the lock was busy, null when the command itself said 254. */
    VpsException busyError(VpsConnection connection, String tag) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        String file = busyFile(tag);
        ExecRunner.run(connection, RemoteCommand.of("[ -f " + file + " ] || exit 0; echo busy; cat " + file + "; rm -f " + file),
                out, new ByteArrayOutputStream(), null);
        String said = out.toString(StandardCharsets.UTF_8);
        return said.startsWith("busy\n") ? busy(connection.target.host(), said.substring(5).trim()) : null;
    }

    VpsException busy(String host, String why) {
        if (why.startsWith("the server has no flock")) {
            return new VpsException(VpsException.Kind.REMOTE, "cannot take lock '" + name + "' on " + host + ": " + why,
                    "install util-linux on the server, or run without --lock", false, null);
        }
        return new VpsException(VpsException.Kind.TIMEOUT, "lock '" + name + "' on " + host + " is still held after "
                + Durations.human(waitAtMost) + (why.isEmpty() ? "" : " by " + why) + "; the command did not run",
                "try again later, wait longer with --lock-wait, or look at the holder (job list)", true, null);
    }

    private String busyFile(String tag) {
        return DIR + "/" + name + ".busy-" + tag;
    }
}
