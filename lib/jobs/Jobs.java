import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Detached jobs on the server: each job is a private folder ~/.vps-toolkit/jobs/ID holding the
 * command, start time, boot id, pid (the runner's = its process group, from setsid), cmdpid (the
 * command's own), stdout, stderr, and the exit status written atomically (write then mv) when it
 * ends. mkdir makes starting idempotent: of two clients racing with the same id, exactly one
 * creates the folder and runs the command. A job whose runner died while its process group lives
 * on is still running, "orphaned": it never gets an exit status, and job kill still reaches it.
 */
final class Jobs {
    static final String DIR = "\"$HOME/.vps-toolkit/jobs\"";

    /**
     * exitCode is null when the job died by SIGNAL (as exec reports it) or left no exit status; pid
     * is the command's while it runs (else null); orphaned says its runner died and it runs on.
     */
    record Status(String id, String status, Integer exitCode, String signal, long startedEpoch, long stdoutBytes, long stderrBytes,
                  Long pid, boolean orphaned, String command) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("job", id);
            putInto(m);
            return m;
        }

        /** The job's state into a result: status, exitCode, signal, job, started, stdoutBytes, stderrBytes, pid, orphaned, command. */
        void putInto(Map<String, Object> r) {
            r.put("status", status);
            r.put("exitCode", exitCode);
            r.put("signal", signal);
            r.put("job", id);
            r.put("started", startedEpoch);
            r.put("stdoutBytes", stdoutBytes);
            r.put("stderrBytes", stderrBytes);
            r.put("pid", pid);
            r.put("orphaned", orphaned);
            r.put("command", command);   // the job's own command, as the user gave it: never "job status" nor the wrapper
        }

        /** The exit status a caller passes on: the job's own, 128+N for signal N (as exec-command), 1 when there is none. */
        int processExitCode() {
            return signal != null ? 128 + Signals.number(signal) : exitCode == null ? 1 : exitCode;
        }
    }

    private final VpsConnection connection;

    Jobs(VpsConnection connection) {
        this.connection = connection;
    }

    /** The login user on the server, whom a job's sudo or su starts from. */
    String login() {
        return connection.target.user();
    }

    static String checkId(String id) {
        if (!ServerIds.valid(id)) {
            throw VpsException.config("job id '" + id + "' is not valid", "use letters, digits, '.', '_' and '-' (up to 64), starting with a letter or digit");
        }
        return id;
    }

    static String newId() {
        return ServerIds.newId("j");
    }

    /** Starts COMMAND as job ID unless that job exists; returns true when this call created it. */
    boolean start(String id, String command) {
        return start(id, command, null);
    }

    /**
     * Starts COMMAND (for the login shell, as with ssh) as job ID unless that job exists; returns
     * true when this call created it. With a LOCK, the start waits for it (at most its wait) and the
     * job holds it until it ends.
     */
    boolean start(String id, String command, RemoteLock lock) {
        return start(id, command, lock, Privilege.NONE);
    }

    /** As above, run with PRIVILEGE (sudo or su), which is checked first: a job's own refusal would go unseen. */
    boolean start(String id, String command, RemoteLock lock, Privilege privilege) {
        ExecRunner.requirePrivilege(connection, privilege);
        String script = startScript(id, RemoteCommand.userCommand(command).withPrivilege(privilege), lock, "echo exists; exit 0", "printf 'busy\\n%s\\n' \"$why\"; exit 0")
                + "echo created\n";
        String out = run(script);
        if (out.startsWith("created")) {
            return true;
        }
        if (out.startsWith("exists")) {
            return false;
        }
        if (out.startsWith("busy\n") && lock != null) {
            throw lock.busy(connection.target.host(), out.substring(5).trim());
        }
        throw remote("cannot create the job folder under ~/.vps-toolkit/jobs (" + out.trim() + ")", "check the home folder's permissions and free space");
    }

    /**
     * The job's runner: its own session (setsid) with the job folder in $1. It feeds the file
     * "input" (the command's bootstrap scripts, values included) to the bootstrap as stdin and
     * removes it at once, so that the values live on only in the command's environment. It traps
     * (not ignores: that would be inherited) TERM, INT and HUP, so that a job kill reaches the
     * command and the runner still records its exit status. It keeps fd 9 (a lock, if any) until
     * it ends; the command runs without it. The subshell, which becomes the command (the bootstrap
     * ends in exec), first notes its own pid in "cmdpid" (a builtin read of /proc/self: no process).
     */
    private static final String RUNNER = runner(false);

    /**
     * The runner of a job whose sudo or su needs a password, which never touches the disk: it comes
     * on the runner's stdin (a pipe from the starting shell) and is put back between "input" (the
     * login user's script) and "input2" (the privileged one) in the stream the bootstrap reads.
     */
    private static final String RUNNER_WITH_PASSWORD = runner(true);

    private static String runner(boolean password) {
        String command = "( { read -r c _ </proc/self/stat && echo \"$c\" >\"$1/cmdpid\"; } 2>/dev/null; "
                + (password ? "" : "rm -f \"$1/input\"; ") + RemoteCommand.BOOTSTRAP + " )";
        String feed = "{ IFS= read -r p; cat \"$1/input\"; printf '%s\\n\\n' \"$p\"; p=; cat \"$1/input2\"; rm -f \"$1/input\" \"$1/input2\"; } | ";
        return "trap : TERM INT HUP; " + (password ? feed + command : command + " <\"$1/input\"")
                + " >\"$1/stdout\" 2>\"$1/stderr\" 9>&-; s=$?; printf %s \"$s\" >\"$1/exit.tmp\" && mv \"$1/exit.tmp\" \"$1/exit\"";
    }

    /**
     * Shell code that creates job ID and starts CMD in it, leaving the runner's pid in $pid;
     * ON_EXISTS runs when the job exists, ON_BUSY (with $why) when LOCK stays busy. Prints nothing
     * itself. The folder is 0700 and its files 0600: "input" holds CMD's values until the runner starts.
     */
    static String startScript(String id, RemoteCommand cmd, RemoteLock lock, String onExists, String onBusy) {
        String j = DIR + "/" + checkId(id);
        RemoteCommand unlocked = cmd.withLock(null);
        String password = cmd.privilege().password();
        // With a password the header is kept in two files around it; the password goes to the runner through a pipe.
        String input = new String(password == null ? unlocked.stdinHeader(false) : unlocked.loginPart(false), StandardCharsets.UTF_8);
        String input2 = password == null ? null : new String(unlocked.privilegedPart(false), StandardCharsets.UTF_8);
        return "umask 077; [ -d " + DIR + " ] || { mkdir -p " + DIR + " && chmod 700 \"$HOME/.vps-toolkit\" " + DIR + "; } || exit 3\n"
                + "if ! mkdir " + j + " 2>/dev/null; then " + onExists + "; fi\n"
                + "printf %s " + ShellQuote.quote(cmd.command()) + " > " + j + "/command\n"
                + "printf %s " + ShellQuote.quote(input) + " > " + j + "/input\n"
                + (input2 == null ? "" : "printf %s " + ShellQuote.quote(input2) + " > " + j + "/input2\n")
                // The client's clock, as gc compares with it; no `date` process on the way.
                + "echo " + System.currentTimeMillis() / 1000 + " > " + j + "/started\n"
                // Created before the runner starts, so that a follower (DetachedExec) finds them at once.
                + ": > " + j + "/stdout; : > " + j + "/stderr\n"
                + "b=none; [ -r /proc/sys/kernel/random/boot_id ] && read -r b < /proc/sys/kernel/random/boot_id; echo \"$b\" > " + j + "/boot\n"
                + (lock == null ? "" : lock.acquire("{ rm -rf " + j + "; " + onBusy + "; }"))
                + "cd \"$HOME\"; " + (password == null ? "setsid /bin/sh -c " + ShellQuote.quote(RUNNER) + " vps-job " + j + " </dev/null"
                        // printf is the shell's builtin: the password is in no argv.
                        : "printf '%s\\n' " + ShellQuote.quote(password) + " | setsid /bin/sh -c " + ShellQuote.quote(RUNNER_WITH_PASSWORD) + " vps-job " + j)
                + " >/dev/null 2>&1 &\n"
                + "pid=$!; echo $pid > " + j + "/pid\n";
    }

    /**
     * One job's state; "lost" when the server rebooted under it, or its runner died without an exit
     * status and nothing of its process group runs any more; running and orphaned while something does.
     */
    Status status(String id) {
        List<Status> all = statuses(List.of(checkId(id)));
        if (all.isEmpty()) {
            throw remote("no job '" + id + "' on " + connection.target.host(), "list the jobs with: job list");
        }
        return all.get(0);
    }

    /** Polls the job every POLL_MS until it is no longer running or MAX has passed; returns the last status. */
    Status awaitEnd(String id, java.time.Duration max, long pollMs) {
        long deadline = System.nanoTime() + max.toNanos();
        Status s = status(id);
        while (s.status().equals("running") && System.nanoTime() < deadline) {
            try {
                Thread.sleep(Math.min(pollMs, Math.max(1, (deadline - System.nanoTime()) / 1_000_000)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            s = status(id);
        }
        return s;
    }

    List<Status> list() {
        return statuses(null);
    }

    private List<Status> statuses(List<String> ids) {
        String which = ids == null ? DIR + "/*/" : DIR + "/" + ids.get(0) + "/";
        String script = "boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo none)\n"
                + "for j in " + which + "; do [ -f \"$j/started\" ] || continue\n"
                + "  id=$(basename \"$j\"); st=running; code=; orphan=; sig=; cpid=\n"
                + "  if [ -f \"$j/exit\" ]; then code=$(cat \"$j/exit\"); st=exited; [ -f \"$j/killed\" ] && st=killed\n"
                + "  elif [ \"$(cat \"$j/boot\")\" != \"$boot\" ]; then st=lost\n"
                + "  elif p=$(cat \"$j/pid\" 2>/dev/null) && [ -n \"$p\" ] && ! kill -0 \"$p\" 2>/dev/null; then sleep 0.2\n"
                + "    if [ -f \"$j/exit\" ]; then code=$(cat \"$j/exit\"); st=exited; [ -f \"$j/killed\" ] && st=killed\n"
                // The runner died (kill -9, the OOM killer) and wrote no exit status: is anything of the job's group still there?
                + "    elif kill -0 -\"$p\" 2>/dev/null; then orphan=1\n"
                + "    elif [ -f \"$j/killed\" ]; then st=killed; else st=lost; fi\n"
                + "  fi\n"
                + "  [ -s \"$j/killed\" ] && read -r sig < \"$j/killed\"\n"
                + "  [ \"$st\" = running ] && [ -f \"$j/cmdpid\" ] && read -r cpid < \"$j/cmdpid\"\n"
                + "  out=$(wc -c < \"$j/stdout\" 2>/dev/null || echo 0); err=$(wc -c < \"$j/stderr\" 2>/dev/null || echo 0)\n"
                + "  printf '%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t' \"$id\" \"$st\" \"$code\" \"$(cat \"$j/started\")\" $out $err \"$sig\" \"$cpid\" \"$orphan\"\n"
                + "  head -c 200 \"$j/command\" | tr '\\n\\t' '  '; echo\n"
                + "done\n";
        List<Status> result = new ArrayList<>();
        for (String line : run(script).split("\n")) {
            String[] f = line.split("\t", 10);
            if (f.length < 10) {
                continue;
            }
            try {
                Integer code = f[2].isEmpty() ? null : Integer.valueOf(f[2].trim());
                String signal = signalThatEnded(f[1], code, f[6].trim());
                result.add(new Status(f[0], f[1], signal == null ? code : null, signal, Long.parseLong(f[3].trim()),
                        Long.parseLong(f[4].trim()), Long.parseLong(f[5].trim()), f[7].isBlank() ? null : Long.valueOf(f[7].trim()),
                        !f[8].isEmpty(), f[9]));
            } catch (NumberFormatException beingCreatedOrRemoved) {
                // another client is writing or deleting that job's files right now: it is not listed this time
            }
        }
        return result;
    }

    /**
     * The signal job kill SENT when the job's exit status says it died by it (128+N, as a shell
     * reports a death by signal N), else null. A shell cannot tell that from a plain exit 128+N,
     * so only a signal the job was sent is named.
     */
    private static String signalThatEnded(String status, Integer code, String sent) {
        if (!status.equals("killed") || code == null || sent.isEmpty()) {
            return null;
        }
        String name = sent.matches("[0-9]+") ? Signals.name(Integer.parseInt(sent)) : sent;
        return name != null && code == 128 + Signals.number(name) ? name : null;
    }

    /** Copies the job's log from byte FROM into OUT; returns the number of bytes copied. */
    long logs(String id, boolean stderr, long from, OutputStream out) {
        return logs(id, stderr, from, -1, out);
    }

    /** Like the above, at most MAX bytes (the server stops sending there); -1 for all. */
    long logs(String id, boolean stderr, long from, long max, OutputStream out) {
        String file = DIR + "/" + checkId(id) + "/" + (stderr ? "stderr" : "stdout");
        CountingStream counting = new CountingStream(out);
        ExecOutcome o = ExecRunner.run(connection, RemoteCommand.of("[ -f " + file + " ] || exit 3; tail -c +" + (from + 1) + " " + file
                        + (max < 0 ? "" : " | head -c " + max)), counting, new ByteArrayOutputStream(), null);
        if (o.exitCode() != null && o.exitCode() == 3) {
            throw remote("no job '" + id + "' on " + connection.target.host(), "list the jobs with: job list");
        }
        return counting.count;
    }

    /** The last BYTES of the job's stdout (for a progress line); empty when there is none. */
    String tail(String id, int bytes) {
        return run("tail -c " + bytes + " " + DIR + "/" + checkId(id) + "/stdout 2>/dev/null; exit 0");
    }

    /** Signals the job's whole process group and marks it as killed (the file "killed" names the signal). */
    void kill(String id, String signal) {
        if (!signal.matches("[A-Z0-9]+")) {
            throw VpsException.config("signal '" + signal + "' is not a signal name", "use e.g. TERM, KILL, INT, HUP");
        }
        String j = DIR + "/" + checkId(id);
        String out = run("[ -f " + j + "/pid ] || { echo missing; exit 0; }; [ -f " + j + "/exit ] && { echo done; exit 0; }; echo " + signal + " > " + j
                + "/killed; kill -" + signal + " -$(cat " + j + "/pid) 2>/dev/null && echo sent || echo gone");
        if (out.startsWith("missing")) {
            throw remote("no job '" + id + "' on " + connection.target.host(), "list the jobs with: job list");
        }
    }

    /** Deletes a job's folder, its logs included. */
    void remove(String id) {
        run("rm -rf -- " + DIR + "/" + checkId(id));
    }

    /** Removes finished or lost jobs that started more than SECONDS ago; returns their ids. */
    List<String> gc(long seconds) {
        List<String> removed = new ArrayList<>();
        long now = System.currentTimeMillis() / 1000;
        for (Status s : list()) {
            if (!s.status().equals("running") && now - s.startedEpoch() >= seconds) {
                remove(s.id());
                removed.add(s.id());
            }
        }
        return removed;
    }

    private String run(String script) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ExecOutcome o = ExecRunner.run(connection, RemoteCommand.of(script), out, err, null);
        if (o.exitCode() == null || o.exitCode() != 0) {
            throw remote("the job helper failed on " + connection.target.host() + ": " + err.toString(StandardCharsets.UTF_8).trim(),
                    "check that the server has a POSIX shell with setsid (util-linux)");
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static VpsException remote(String message, String hint) {
        return new VpsException(VpsException.Kind.REMOTE, message, hint, false, null);
    }

    static final class CountingStream extends OutputStream {
        private final OutputStream out;
        long count;

        CountingStream(OutputStream out) {
            this.out = out;
        }

        @Override
        public void write(int b) throws java.io.IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws java.io.IOException {
            out.write(b, off, len);
            out.flush();
            count += len;
        }
    }
}
