import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.List;

/** One sftp-put or sftp-get on a connection. */
final class Transfer {
    /** Channels a transfer may have open at once: the SFTP channel, the striped upload's lanes and a hash. */
    static final int CHANNELS = StripedUpload.LANES + 2;

    private Transfer() {}

    /** --dry-run: the plan of the same call, read from both sides; nothing is written on either. */
    static TransferPlan plan(VpsConnection connection, boolean put, List<String> sources, String destination, Uploader.Options options, PrintStream err) {
        try (RemoteFs fs = RemoteFs.open(connection)) {
            return put ? new Uploader(fs, options, err).plan(sources, destination) : new Downloader(fs, options, err).plan(sources, destination);
        }
    }

    /** @param put upload SOURCES (local) to DESTINATION (remote), else download SOURCES (remote) to DESTINATION (local) */
    static List<TransferResult> run(VpsConnection connection, boolean put, List<String> sources, String destination,
            Uploader.Options options, boolean quiet, InputStream stdin, OutputStream stdout, PrintStream err) {
        try (RemoteFs fs = RemoteFs.open(connection)) {
            return put ? new Uploader(fs, options, err).upload(sources, destination, stdin, quiet)
                    : new Downloader(fs, options, err).download(sources, destination, stdout, quiet);
        }
    }
}
