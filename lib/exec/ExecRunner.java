import com.jcraft.jsch.ChannelExec;
import com.jcraft.jsch.JSchException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** Runs one {@link RemoteCommand} on a connection, streaming its output into the given sinks. */
final class ExecRunner {
    /** How long after --timeout the client stops waiting for the server's own kill. */
    static final Duration CLIENT_GRACE = Duration.ofSeconds(RemoteCommand.KILL_GRACE_SECONDS + 5);

    private ExecRunner() {}

    /**
     * An exec channel running a command's bootstrap, the gate that waits for its start marker, and
     * with sudo or su the gate that waits for the privileged shell's marker (else null).
     */
    record Started(ChannelExec channel, StartGate gate, StartGate privileged, OutputStream out, OutputStream err) {
        /** After the channel closed: writes out what a {@link SecretRedactor} still holds back. */
        void finishOutput() {
            try {
                SecretRedactor.finish(out);
                SecretRedactor.finish(err);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        /** After the channel closed: the CONFIG error when the login shell never ran the bootstrap, else null. */
        VpsException notRunByLoginShell(VpsConnection connection) {
            return gate.seen() ? null : loginShellError(connection, gate.said(), channel.getExitStatus());
        }

        /** After the channel closed: the error when sudo or su never let the privileged shell start, else null. */
        VpsException privilegeRefused(VpsConnection connection, RemoteCommand cmd) {
            return privileged == null || privileged.seen() ? null
                    : cmd.privilege().refused(connection.target.host(), connection.target.user(), privileged.said(), channel.getExitStatus());
        }
    }

    /**
     * Opens an exec channel for CMD: the fixed exec request, and on its stdin the scripts with the
     * values, then (with --stdin) the caller's STDIN. OUT gets stdout from the start marker on.
     * A call already interrupted (its client went away while it connected) starts nothing.
     */
    static Started start(VpsConnection connection, RemoteCommand cmd, OutputStream out, OutputStream err, InputStream stdin) {
        return start(connection, cmd, out, err, stdin, null);
    }

    /** As above; with INTERACTION (null: none) the output is watched and the stdin fed by it (--pty, --expect, --input-wait). */
    static Started start(VpsConnection connection, RemoteCommand cmd, OutputStream out, OutputStream err, InputStream stdin,
                         Interaction interaction) {
        if (Interrupts.happened()) {
            throw new VpsException(VpsException.Kind.NETWORK, "interrupted before the command started", "run it again", true, null);
        }
        // The password is never echoed; should the command itself print it, it is masked all the same.
        out = SecretRedactor.of(out, cmd.privilege().password());
        err = SecretRedactor.of(err, cmd.privilege().password());
        if (interaction != null) {
            out = interaction.tap(out, true);
            err = interaction.tap(err, false);
        }
        // With sudo or su, what they print before the privileged shell starts (a prompt, "Sorry, try again.") is not the command's.
        StartGate privileged = cmd.privilege().escalates() ? StartGate.quiet(cmd.privilegedMarker(), out, err) : null;
        StartGate gate = privileged == null ? new StartGate(cmd.marker(), out, err) : new StartGate(cmd.marker(), privileged.stdout(), privileged.stderr());
        for (int attempt = 1; ; attempt++) {
            ChannelExec channel = connection.openExec(RemoteCommand.EXEC_REQUEST);
            if (cmd.pty()) {
                Terminal.request(channel);
            }
            channel.setOutputStream(gate.stdout(), true);
            channel.setErrStream(gate.stderr(), true);
            InputStream forwarded = cmd.forwardStdin() ? stdin : null;
            if (interaction != null) {
                channel.setInputStream(interaction.input(cmd, cmd.stdinHeader(true), forwarded), true);
            } else {
                InputStream header = new ByteArrayInputStream(cmd.stdinHeader(true));
                channel.setInputStream(forwarded != null ? new SequenceInputStream(header, forwarded) : header, true);
            }
            try {
                channel.connect(connection.channelTimeoutMs());
                return new Started(channel, gate, privileged, out, err);
            } catch (JSchException e) {
                // Once more on a pooled session found dead before the exec request left; never after it may have.
                if (attempt > 1 || !connection.reopenAfter(e)) {
                    throw connection.failedToStart(e, "the command");
                }
            }
        }
    }

    /** Runs CMD to its end; a --lock that stayed busy is a TIMEOUT failure, not an exit status. */
    static ExecOutcome run(VpsConnection connection, RemoteCommand cmd, OutputStream out, OutputStream err, InputStream stdin) {
        return run(connection, cmd, out, err, stdin, null);
    }

    /** As above, with INTERACTION (null: none); when it says stop, the command is killed and its reason thrown. */
    static ExecOutcome run(VpsConnection connection, RemoteCommand cmd, OutputStream out, OutputStream err, InputStream stdin,
                           Interaction interaction) {
        try {
            return runWatched(connection, cmd, out, err, stdin, interaction);
        } finally {
            if (interaction != null) {
                interaction.finish();
            }
        }
    }

    private static ExecOutcome runWatched(VpsConnection connection, RemoteCommand cmd, OutputStream out, OutputStream err,
                                          InputStream stdin, Interaction interaction) {
        long start = System.nanoTime();
        Started started = start(connection, cmd, out, err, stdin, interaction);
        ChannelExec channel = started.channel();
        // Ctrl-C or a killed client must not leave the command running on the server: without a
        // pty it gets no SIGHUP, and sshd refuses "signal" requests for root sessions.
        ExecOutcome outcome;
        try (Interrupts.Registration stop = Interrupts.stopping(() -> {
            if (!channel.isClosed() && connection.isConnected()) {
                stopRemotely(connection, cmd, "TERM");
            }
        })) {
            outcome = await(connection, cmd, started, start, interaction);
        }
        if (cmd.lock() != null && outcome.exitCode() != null && outcome.exitCode() == RemoteLock.BUSY_EXIT) {
            VpsException busy = cmd.lock().busyError(connection, cmd.runId());
            if (busy != null) {
                throw busy;
            }
        }
        return outcome;
    }

    private static ExecOutcome await(VpsConnection connection, RemoteCommand cmd, Started started, long start, Interaction interaction) {
        ChannelExec channel = started.channel();
        long deadline = cmd.timeout() == null ? Long.MAX_VALUE
                : start + cmd.timeout().plus(CLIENT_GRACE).toNanos();
        boolean clientTimeout = false;
        long sleepMs = 1;
        while (!channel.isClosed()) {
            if (!connection.isConnected()) {
                break;
            }
            VpsException stop = interaction == null ? null : interaction.stopReason();
            if (stop != null) {
                stopRemotely(connection, cmd, "KILL");
                channel.disconnect();
                throw stop;
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
            boolean signalled = signal != null && !signal.isEmpty();
            if (status < 0 && !signalled) {
                throw connection.mayHaveRun(new IOException("the channel closed without an exit status"), "the command");
            }
            VpsException notRun = started.notRunByLoginShell(connection);
            if (notRun == null) {
                notRun = started.privilegeRefused(connection, cmd);
            }
            if (notRun != null) {
                throw notRun;
            }
            if (signalled) {
                return new ExecOutcome(cmd.command(), null, signal, false, durationMs);
            }
            boolean timedOut = cmd.timeout() != null && durationMs >= cmd.timeout().toMillis()
                    && (status == 124 || status == 137);
            return new ExecOutcome(cmd.command(), timedOut ? null : status, null, timedOut, durationMs);
        } finally {
            channel.disconnect();
            started.finishOutput();
        }
    }

    /**
     * Fails at once, with the fix, when PRIVILEGE cannot be had: sudo wants a password and none is
     * configured, or sudo or su refuses the one given. A command that starts a job checks this first,
     * since the job's own privilege step fails where nobody sees it.
     */
    static void requirePrivilege(VpsConnection connection, Privilege privilege) {
        if (!privilege.escalates()) {
            return;
        }
        java.io.ByteArrayOutputStream sink = new java.io.ByteArrayOutputStream();
        if (privilege.way() == Privilege.Way.SUDO && privilege.password() == null) {
            String runAs = privilege.user() == null ? "" : " -u " + ShellQuote.quote(privilege.user());
            ExecOutcome check = run(connection, RemoteCommand.of("sudo -n" + runAs + " true"), sink, sink, null);
            String said = sink.toString(java.nio.charset.StandardCharsets.UTF_8).trim();
            if (check.processExitCode() == 127) {
                throw privilege.refused(connection.target.host(), connection.target.user(), said, 127);   // no sudo there
            }
            if (check.processExitCode() != 0) {
                String user = connection.target.user();
                throw new VpsException(VpsException.Kind.AUTH,
                        "sudo on " + connection.target.host() + " needs a password for " + user + " (sudo -n said: " + said + ")",
                        "set VPS_SUDO_PASSWORD (environment or .env) or pass --sudo-password-file FILE with " + user + "'s password; or allow it"
                                + " without one (as root: echo '" + user + " ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/" + user + "), or log in as root");
            }
            return;
        }
        run(connection, RemoteCommand.of("true").withPrivilege(privilege), sink, sink, null);
    }

    /** Signals every process of the run through a second channel, waiting at most a few seconds. */
    static void stopRemotely(VpsConnection connection, RemoteCommand cmd, String signal) {
        try {
            RemoteCommand killer = cmd.killer(signal);
            ChannelExec kill = connection.openExec(RemoteCommand.EXEC_REQUEST);
            kill.setInputStream(new ByteArrayInputStream(killer.stdinHeader(false)), true);
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

    /** The login shell exited without running the bootstrap (nologin, false, a shell that cannot run it): never a success. */
    /** CONFIG, as issue 15 asks: the account must change (its shell) or another login be used; never a silent success. */
    static VpsException loginShellError(VpsConnection connection, String said, int status) {
        String user = connection.target.user();
        String shell = loginShellOf(connection);
        return new VpsException(VpsException.Kind.CONFIG, "the login shell of " + user + " on " + connection.target.host() + (shell == null ? "" : " (" + shell + ")")
                        + " did not run the command" + (status >= 0 ? " (it exited " + status + ")" : "") + (said.isEmpty() ? "" : "; it said: " + said),
                "the toolkit needs a login shell that runs `SHELL -c COMMAND` (sh, bash, dash, zsh, fish or tcsh); check it with "
                        + "`getent passwd " + user + "` and change it as root with `chsh -s /bin/bash " + user + "`, or log in as another user", false, null);
    }

    /**
     * The user's login shell as /etc/passwd says, read over SFTP; null when that fails too (an SFTP
     * server that is not internal-sftp is itself started by the login shell).
     */
    private static String loginShellOf(VpsConnection connection) {
        com.jcraft.jsch.ChannelSftp sftp = null;
        try {
            sftp = connection.openSftp();
            sftp.connect(connection.channelTimeoutMs());
            try (InputStream in = sftp.get("/etc/passwd")) {
                for (String line : new String(in.readNBytes(1 << 20), StandardCharsets.UTF_8).split("\n")) {
                    String[] f = line.split(":", -1);
                    if (f.length >= 7 && f[0].equals(connection.target.user())) {
                        return f[6].isBlank() ? "/bin/sh" : f[6].strip();
                    }
                }
            }
        } catch (Exception e) {
            // no SFTP either: the error says what the shell printed instead
        } finally {
            if (sftp != null) {
                sftp.disconnect();
            }
        }
        return null;
    }
}
