import com.jcraft.jsch.ChannelExec;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;

/**
 * exec-command --detach-after: the command runs as a {@link Jobs job} from the start while its
 * output streams here (tail -f on the job's logs). If it still runs at the deadline, following
 * stops and the caller gets the job id and the byte offsets reached, so that `job logs --from`
 * continues with no gap and no repeated byte. The command never depends on this client.
 */
final class DetachedExec {
    /** outcome is null when the command was detached while still running. */
    record Result(ExecOutcome outcome, String jobId, long stdoutNext, long stderrNext) {
        boolean detached() {
            return outcome == null;
        }
    }

    private DetachedExec() {}

    static Result run(VpsConnection connection, RemoteCommand cmd, Duration detachAfter, OutputStream out, OutputStream err,
                      Interrupts.Report onInterrupt) {
        return run(connection, cmd, Jobs.newId(), detachAfter, out, err, onInterrupt);
    }

    /** Exit status of the follow script when the job left no exit status (checked with job status: a job may exit 249 itself). */
    private static final int NO_STATUS = 249;
    /** Exit status of the follow script when it could not create the job folder (checked likewise). */
    private static final int NOT_STARTED = 3;

    /**
     * With the job id chosen by the caller, who can then name it even when the link drops during the start.
     * One exec does it all: create the job, start it, stream both logs until its runner ends (tail
     * --pid checks it every 0.01 s), and exit with the job's exit status.
     */
    /** The toolkit's script that starts CMD as job ID and follows its output until it ends (exec-command --dry-run shows it). */
    static String script(String id, RemoteCommand cmd) {
        String j = Jobs.DIR + "/" + Jobs.checkId(id);
        return Jobs.startScript(id, cmd, cmd.lock(), "exit " + NOT_STARTED, cmd.lock() == null ? "exit 1" : cmd.lock().onBusy(id))
                + "tail -c +1 -s 0.01 --pid=$pid -f " + j + "/stderr >&2 &\n"
                + "tail -c +1 -s 0.01 --pid=$pid -f " + j + "/stdout\n"
                + "wait\n"
                + "{ read -r s || [ -n \"$s\" ]; } 2>/dev/null < " + j + "/exit && exit \"$s\"\n"
                + "exit " + NO_STATUS;
    }

    static Result run(VpsConnection connection, RemoteCommand cmd, String id, Duration detachAfter, OutputStream out, OutputStream err,
                      Interrupts.Report interrupted) {
        long start = System.nanoTime();
        // Checked first: the job's own sudo or su would fail where nobody sees it.
        ExecRunner.requirePrivilege(connection, cmd.privilege());
        String script = script(id, cmd);
        // Counted before masking: the counts are offsets in the job's logs.
        Gate stdout = new Gate(SecretRedactor.of(out, cmd.privilege().password()));
        Gate stderr = new Gate(SecretRedactor.of(err, cmd.privilege().password()));
        // One exec: the script runs in the bootstrap's /bin/sh; the command's values reach the job's private folder on its stdin.
        ExecRunner.Started started = ExecRunner.start(connection, RemoteCommand.of(script), stdout, stderr, null);
        ChannelExec channel = started.channel();
        // A Ctrl-C ends only the following: the job goes on, and this notice (not the caller's) is the interrupt's report.
        Interrupts.Registration onInterrupt = Interrupts.reporting(() -> interrupted.report(
                "the command goes on running on the server as job " + id,
                "continue with: job logs " + id + " --from " + stdout.count() + " (and job wait " + id + ")"));
        try {
            long deadline = start + detachAfter.toNanos();
            while (!channel.isClosed()) {
                if (!connection.isConnected()) {
                    throw lostWhileFollowing(connection, id, stdout.count());
                }
                if (System.nanoTime() > deadline) {
                    stdout.stop();
                    stderr.stop();
                    channel.disconnect();
                    return new Result(null, id, stdout.count(), stderr.count());
                }
                ExecRunner.sleep(5);
            }
            int code = channel.getExitStatus();
            if (code < 0) {
                throw lostWhileFollowing(connection, id, stdout.count());
            }
            VpsException notRun = started.notRunByLoginShell(connection);
            if (notRun != null) {
                throw notRun;
            }
            if (code == NO_STATUS || code == NOT_STARTED || code == RemoteLock.BUSY_EXIT) {
                confirm(connection, cmd, id, code);
            }
            long durationMs = (System.nanoTime() - start) / 1_000_000;
            boolean timedOut = cmd.timeout() != null && durationMs >= cmd.timeout().toMillis() && (code == 124 || code == 137);
            return new Result(new ExecOutcome(cmd.command(), timedOut ? null : code, null, timedOut, durationMs), id, stdout.count(), stderr.count());
        } finally {
            stdout.stop();
            stderr.stop();
            channel.disconnect();
            onInterrupt.close();
        }
    }

    /** An exit status that may be the script's own: returns when it is the job's, else throws what happened. */
    private static void confirm(VpsConnection connection, RemoteCommand cmd, String id, int code) {
        if (code == RemoteLock.BUSY_EXIT && cmd.lock() != null) {
            VpsException busy = cmd.lock().busyError(connection, id);
            if (busy != null) {
                throw busy;
            }
        }
        Jobs.Status s;
        try {
            s = new Jobs(connection).status(id);
        } catch (VpsException noSuchJob) {
            throw new VpsException(VpsException.Kind.REMOTE, "cannot create the job folder under ~/.vps-toolkit/jobs on " + connection.target.host(),
                    "check the home folder's permissions and free space", false, null);
        }
        if (s.status().equals("running")) {
            throw new VpsException(VpsException.Kind.REMOTE, "cannot follow the output of job " + id + " on " + connection.target.host()
                    + "; the command still runs there", "the server needs GNU tail (coreutils); see job wait " + id + " and job logs " + id, false, null);
        }
        if (s.exitCode() == null || s.exitCode() != code) {
            throw new VpsException(VpsException.Kind.REMOTE, "job " + id + " that ran the command is " + s.status() + " on " + connection.target.host(),
                    "see job status " + id + " and job logs " + id, false, null);
        }
    }

    private static VpsException lostWhileFollowing(VpsConnection connection, String id, long offset) {
        return new VpsException(VpsException.Kind.NETWORK, "the connection to " + connection.target.display()
                + " was lost; the command keeps running on the server as job " + id,
                "reconnect and continue with: job wait " + id + ", then job logs " + id + " --from " + offset, true, null);
    }

    /**
     * One output stream of the follow script into its sink. Counting and writing happen under one
     * lock and nothing is written after {@link #stop}, so {@link #count} is exactly what the sink received.
     */
    private static final class Gate extends OutputStream {
        private final OutputStream sink;
        private long count;
        private boolean stopped;

        Gate(OutputStream sink) {
            this.sink = sink;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) throws IOException {
            if (stopped) {
                return;
            }
            sink.write(b, off, len);
            sink.flush();
            count += len;
        }

        synchronized long count() {
            return count;
        }

        /** Nothing is written after this; what a mask held back is written now. */
        synchronized void stop() {
            if (!stopped) {
                stopped = true;
                try {
                    SecretRedactor.finish(sink);
                } catch (IOException e) {
                    // the caller's sink is gone: nothing more can reach it
                }
            }
        }
    }
}
