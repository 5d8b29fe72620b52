/** How one remote command ended. exitCode is null when it died by a signal or never finished. */
record ExecOutcome(String command, Integer exitCode, String signal, boolean timedOut, long durationMs) {

    /** Shell convention: 128 + the signal number. */
    int processExitCode() {
        if (timedOut) {
            return VpsException.EXIT_TIMEOUT;
        }
        if (exitCode != null) {
            return exitCode;
        }
        return 128 + Signals.number(signal);
    }

    String status() {
        return timedOut ? "timed_out" : "exited";
    }

    /** A timeout or a death by signal, explained; null for a plain exit code, which is the command's own answer. */
    VpsException problem(java.time.Duration timeout) {
        if (timedOut) {
            return new VpsException(VpsException.Kind.TIMEOUT,
                    "the command still ran after " + Durations.format(timeout) + " and was killed on the server (its whole process group)",
                    "raise --timeout, or run long work as a detached job", false, null);
        }
        if (signal != null) {
            return new VpsException(VpsException.Kind.REMOTE, "the command was killed by signal " + signal,
                    "something on the server killed it (the OOM killer, kill, a crash): check dmesg or journalctl there");
        }
        return null;
    }
}
