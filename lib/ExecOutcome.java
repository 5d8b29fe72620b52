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
}
