import java.util.List;
import java.util.Map;

/** What a transfer reports, whoever ran it (sftp-put, sftp-get, mcp-server's file tools): its JSON envelope and its problems. */
final class TransferReport {
    private TransferReport() {}

    /**
     * Told how each call ended (the audit log): its target (null when it could not be resolved), the connection
     * (null when none opened), the results or the failure.
     */
    interface Ending {
        void ended(Target target, VpsConnection connection, List<TransferResult> results, VpsException failure);
    }

    /** The JSON envelope of a transfer: files, bytes, sent, sha256, rate; an error when names were refused or --no-clobber left files alone. */
    static Map<String, Object> toJson(String command, String host, List<TransferResult> results, long durationMs) {
        long sent = results.stream().mapToLong(TransferResult::sent).sum();
        long bytes = results.stream().mapToLong(TransferResult::bytes).sum();
        VpsException problem = problem(command, results);
        Map<String, Object> r = Json.envelope(host, command, problem == null ? "exited" : "failed", problem == null ? 0 : 1, durationMs, problem);
        r.put("files", results.stream().map(TransferResult::toJson).toList());
        r.put("bytes", bytes);
        r.put("sent", sent);
        r.put("sha256", results.size() == 1 ? results.get(0).sha256() : null);
        r.put("rateBytesPerSec", durationMs == 0 ? null : sent * 1000 / durationMs);
        return r;
    }

    static VpsException problem(String command, List<TransferResult> results) {
        List<TransferResult> unsafe = results.stream().filter(r -> r.status().equals("refused")).toList();
        if (!unsafe.isEmpty()) {
            return new VpsException(VpsException.Kind.PROTOCOL, unsafe.size() + " name(s) sent by the server were refused (each must be one plain"
                    + " file name): " + unsafe.get(0).remote() + (unsafe.size() > 1 ? ", ..." : "") + "; the other files were transferred",
                    "the server is broken or hostile: nothing was written outside the destination; see files[].reason", false, null);
        }
        List<TransferResult> refused = results.stream().filter(r -> r.status().equals("exists")).toList();
        // The file that exists is on the side written to: a local path for a download, a remote one for an upload.
        String existing = refused.isEmpty() ? null : isDownload(command) ? refused.get(0).local() : refused.get(0).remote();
        return refused.isEmpty() ? null : new VpsException(VpsException.Kind.REMOTE,
                refused.size() + " file(s) already exist and were left alone (--no-clobber): " + existing
                        + (refused.size() > 1 ? ", ..." : ""), "drop --no-clobber to replace them", false, null);
    }

    private static boolean isDownload(String command) {
        return command.startsWith("sftp-get") || command.startsWith("download ");
    }

    /** Where a host set's download puts the files of the host whose path name (FleetHost.pathName, checked) is NAME: DESTINATION/NAME/. */
    static String perHostDestination(String destination, String name) {
        if (destination.equals("-")) {
            throw VpsException.config("a download from several hosts cannot go to stdout ('-')",
                    "give a local folder: each host's files land in FOLDER/NAME/");
        }
        return (destination.endsWith("/") ? destination : destination + "/") + name + "/";
    }
}
