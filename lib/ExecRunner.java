import com.jcraft.jsch.ChannelExec;
import com.jcraft.jsch.JSchException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;

/** Runs one {@link RemoteCommand} on a connection, streaming its output into the given sinks. */
final class ExecRunner {
    /** How long after --timeout the client stops waiting for the server's own kill. */
    static final Duration CLIENT_GRACE = Duration.ofSeconds(RemoteCommand.KILL_GRACE_SECONDS + 5);

    private ExecRunner() {}

    /** Runs CMD to its end; a --lock that stayed busy is a TIMEOUT failure, not an exit status. */
    static ExecOutcome run(VpsConnection connection, RemoteCommand cmd, OutputStream out, OutputStream err, InputStream stdin) {
        ChannelExec channel = connection.openExec(cmd.toShellLine());
        channel.setOutputStream(out, true);
        channel.setErrStream(err, true);
        if (cmd.forwardStdin() && stdin != null) {
            channel.setInputStream(stdin, true);
        }
        long start = System.nanoTime();
        try {
            channel.connect(connection.channelTimeoutMs());
        } catch (JSchException e) {
            throw connection.failedToStart(e, "the command");
        }
        // Ctrl-C or a killed client must not leave the command running on the server: without a
        // pty it gets no SIGHUP, and sshd refuses "signal" requests for root sessions.
        Thread onExit = new Thread(() -> {
            if (!channel.isClosed() && connection.isConnected()) {
                stopRemotely(connection, cmd, "TERM");
            }
        }, "vps-exec-interrupt");
        Runtime.getRuntime().addShutdownHook(onExit);
        ExecOutcome outcome;
        try {
            outcome = await(connection, cmd, channel, start);
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(onExit);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or about to: nothing to remove
            }
        }
        if (cmd.lock() != null && outcome.exitCode() != null && outcome.exitCode() == RemoteLock.BUSY_EXIT) {
            VpsException busy = cmd.lock().busyError(connection, cmd.runId());
            if (busy != null) {
                throw busy;
            }
        }
        return outcome;
    }

    private static ExecOutcome await(VpsConnection connection, RemoteCommand cmd, ChannelExec channel, long start) {
        long deadline = cmd.timeout() == null ? Long.MAX_VALUE
                : start + cmd.timeout().plus(CLIENT_GRACE).toNanos();
        boolean clientTimeout = false;
        long sleepMs = 1;
        while (!channel.isClosed()) {
            if (!connection.isConnected()) {
                break;
            }
            if (System.nanoTime() > deadline) {
                clientTimeout = true;
                stopRemotely(connection, cmd, "KILL");
                break;
            }
            sleep(sleepMs);
            sleepMs = Math.min(sleepMs * 2, 20);
        }
        long durationMs = (System.nanoTime() - start) / 1_000_000;
        try {
            if (clientTimeout) {
                return new ExecOutcome(cmd.command(), null, null, true, durationMs);
            }
            if (!channel.isClosed()) {
                throw connection.mayHaveRun(new IOException("connection closed"), "the command");
            }
            String signal = channel.getExitSignal();
            int status = channel.getExitStatus();
            if (signal != null && !signal.isEmpty()) {
                return new ExecOutcome(cmd.command(), null, signal, false, durationMs);
            }
            if (status < 0) {
                throw connection.mayHaveRun(new IOException("the channel closed without an exit status"), "the command");
            }
            boolean timedOut = cmd.timeout() != null && durationMs >= cmd.timeout().toMillis()
                    && (status == 124 || status == 137);
            return new ExecOutcome(cmd.command(), timedOut ? null : status, null, timedOut, durationMs);
        } finally {
            channel.disconnect();
        }
    }

    /** Fails at once, with the fix, when sudo would ask for a password: the toolkit never types one. */
    static void requirePasswordlessSudo(VpsConnection connection) {
        java.io.ByteArrayOutputStream sink = new java.io.ByteArrayOutputStream();
        ExecOutcome check = run(connection, RemoteCommand.of("sudo -n true"), sink, sink, null);
        if (check.processExitCode() != 0) {
            String said = sink.toString(java.nio.charset.StandardCharsets.UTF_8).trim();
            String user = connection.target.user();
            throw new VpsException(VpsException.Kind.AUTH,
                    "sudo on " + connection.target.host() + " needs a password for " + user + " (sudo -n said: " + said + ")",
                    "allow it without a password (as root: echo '" + user + " ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/" + user
                            + "), or log in as root; the toolkit never types a sudo password");
        }
    }

    /** Signals every process of the run through a second channel, waiting at most a few seconds. */
    static void stopRemotely(VpsConnection connection, RemoteCommand cmd, String signal) {
        try {
            ChannelExec kill = connection.openExec(cmd.killLine(signal));
            kill.connect(3000);
            long until = System.nanoTime() + 3_000_000_000L;
            while (!kill.isClosed() && System.nanoTime() < until) {
                Thread.sleep(10);
            }
            kill.disconnect();
        } catch (Exception ignored) {
            // best effort: the link may be gone; the caller reports what it knows
        }
    }

    /** Sleeps; an interrupt ends the wait as a REMOTE failure. */
    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VpsException(VpsException.Kind.REMOTE, "interrupted", null);
        }
    }
}
