import com.jcraft.jsch.ChannelExec;
import com.jcraft.jsch.JSchException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
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

    static Result run(VpsConnection connection, RemoteCommand cmd, Duration detachAfter, OutputStream out, OutputStream err, PrintStream notices) {
        return run(connection, cmd, Jobs.newId(), detachAfter, out, err, notices);
    }

    /** With the job id chosen by the caller, who can then name it even when the link drops during the start. */
    static Result run(VpsConnection connection, RemoteCommand cmd, String id, Duration detachAfter, OutputStream out, OutputStream err,
                      PrintStream notices) {
        Jobs jobs = new Jobs(connection);
        long start = System.nanoTime();
        jobs.start(id, cmd.withLock(null).toShellLine(), cmd.lock());
        Follower stdout = new Follower(connection, id, "stdout", out);
        Follower stderr = new Follower(connection, id, "stderr", err);
        Thread onExit = new Thread(() -> notices.println("detached: the command keeps running on the server as job " + id
                + "; continue with: job logs " + id + " --from " + stdout.count() + " (and job wait " + id + ")"), "vps-detach-notice");
        Runtime.getRuntime().addShutdownHook(onExit);
        try {
            long deadline = start + detachAfter.toNanos();
            while (!(stdout.ended() && stderr.ended())) {
                if (!connection.isConnected()) {
                    throw lostWhileFollowing(connection, id, stdout.count());
                }
                if (System.nanoTime() > deadline) {
                    stdout.stop();
                    stderr.stop();
                    return new Result(null, id, stdout.count(), stderr.count());
                }
                ExecRunner.sleep(20);
            }
            if (!connection.isConnected() || stdout.exitStatus() < 0 || stderr.exitStatus() < 0) {
                throw lostWhileFollowing(connection, id, stdout.count());
            }
            stdout.requireClean();
            stderr.requireClean();
            Jobs.Status s = jobs.status(id);
            // tail --pid prints what the runner wrote before it ended; reading the rest is cheap insurance.
            long outNext = stdout.count() + (s.stdoutBytes() > stdout.count() ? jobs.logs(id, false, stdout.count(), out) : 0);
            long errNext = stderr.count() + (s.stderrBytes() > stderr.count() ? jobs.logs(id, true, stderr.count(), err) : 0);
            if (!s.status().equals("exited") && !s.status().equals("killed")) {
                throw new VpsException(VpsException.Kind.REMOTE, "job " + id + " that ran the command is " + s.status() + " on " + connection.target.host(),
                        "see job status " + id + " and job logs " + id, false, null);
            }
            long durationMs = (System.nanoTime() - start) / 1_000_000;
            Integer code = s.exitCode();
            boolean timedOut = cmd.timeout() != null && durationMs >= cmd.timeout().toMillis() && code != null && (code == 124 || code == 137);
            return new Result(new ExecOutcome(cmd.command(), timedOut ? null : code, null, timedOut, durationMs), id, outNext, errNext);
        } finally {
            stdout.stop();
            stderr.stop();
            try {
                Runtime.getRuntime().removeShutdownHook(onExit);
            } catch (IllegalStateException shuttingDown) {
                // the notice is being printed
            }
        }
    }

    private static VpsException lostWhileFollowing(VpsConnection connection, String id, long offset) {
        return new VpsException(VpsException.Kind.NETWORK, "the connection to " + connection.target.display()
                + " was lost; the command keeps running on the server as job " + id,
                "reconnect and continue with: job wait " + id + ", then job logs " + id + " --from " + offset, true, null);
    }

    /**
     * Streams one job log into a sink from byte 0 until the job's runner ends (tail --pid, which
     * checks the runner every 0.1 s: that check is most of a short command's extra latency). Counting
     * and writing happen under one lock, and nothing is written after {@link #stop}, so
     * {@link #count} is exactly what the sink received.
     */
    private static final class Follower extends OutputStream {
        private final OutputStream sink;
        private final ChannelExec channel;
        private final ByteArrayOutputStream complaints = new ByteArrayOutputStream();
        private long count;
        private boolean stopped;

        Follower(VpsConnection connection, String id, String stream, OutputStream sink) {
            this.sink = sink;
            String j = Jobs.DIR + "/" + id;
            channel = connection.openExec("exec tail -c +1 -s 0.1 --pid=\"$(cat " + j + "/pid)\" -f " + j + "/" + stream);
            channel.setOutputStream(this, true);
            channel.setErrStream(complaints, true);
            try {
                channel.connect((int) Math.max(1000, connection.target.connectTimeout().toMillis()));
            } catch (JSchException e) {
                throw connection.lost(e);
            }
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

        boolean ended() {
            return channel.isClosed();
        }

        synchronized void stop() {
            stopped = true;
            channel.disconnect();
        }

        int exitStatus() {
            return channel.getExitStatus();
        }

        void requireClean() {
            if (channel.getExitStatus() != 0) {
                throw new VpsException(VpsException.Kind.REMOTE, "cannot follow the job's output on the server: "
                        + complaints.toString(StandardCharsets.UTF_8).trim() + " (tail exit " + channel.getExitStatus() + ")",
                        "the server needs GNU tail (coreutils); the command still runs as a job: see job list", false, null);
            }
        }
    }
}
