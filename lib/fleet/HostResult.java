import java.util.Map;
import java.util.Set;

/**
 * What one host's run came to. ENVELOPE is its DESIGN §5 object (the script's own with --json);
 * STDOUT and STDERR are what --group and the JSON groups compare (empty when streamed).
 */
record HostResult(FleetHost host, Outcome outcome, int exitCode, Map<String, Object> envelope, String stdout, String stderr) {
    enum Outcome { OK, FAILED, UNREACHABLE, SKIPPED }

    /** The failure kinds that mean the host was never reached, verified or logged in to. */
    static final Set<String> UNREACHABLE_KINDS = Set.of("NETWORK", "HOSTKEY", "AUTH", "PROTOCOL");

    /**
     * Classifies a finished run: exit 0 is OK; exit 255 with a failure of kind NETWORK, HOSTKEY, AUTH
     * or PROTOCOL (FAILURE_KIND, taken from the failure itself, null when there was none) is
     * UNREACHABLE; anything else FAILED. A remote command's own exit 255 stays FAILED, and so does a
     * run that logged in and then met a PROTOCOL failure it reports with another status (a transfer
     * that refused a name the server sent exits 1).
     */
    static HostResult of(FleetHost host, int exitCode, String failureKind, Map<String, Object> envelope, String stdout, String stderr) {
        boolean unreached = exitCode == VpsException.EXIT_CONNECT && failureKind != null && UNREACHABLE_KINDS.contains(failureKind);
        Outcome outcome = exitCode == 0 ? Outcome.OK : unreached ? Outcome.UNREACHABLE : Outcome.FAILED;
        return new HostResult(host, outcome, exitCode, envelope, stdout == null ? "" : stdout, stderr == null ? "" : stderr);
    }

    /** Not run: an earlier batch failed (or the fleet was interrupted before this host started). */
    static HostResult skipped(FleetHost host) {
        Map<String, Object> envelope = Json.envelope(host.name(), null, "skipped", null, 0, null);
        return new HostResult(host, Outcome.SKIPPED, 0, envelope, "", "");
    }

    /** A run that threw instead of returning (a bug or an unexpected failure): FAILED, or UNREACHABLE by its kind. */
    static HostResult thrown(FleetHost host, RuntimeException e) {
        VpsException failure = e instanceof VpsException v ? v
                : new VpsException(VpsException.Kind.CONFIG, "the run on " + host.name() + " failed: " + e, "report this as a bug");
        return of(host, failure.exitCode(), failure.kind.name(), Json.failure(host.name(), null, failure, 0), "", failure.describe() + "\n");
    }
}
