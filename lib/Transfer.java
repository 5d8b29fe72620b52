import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.List;

/** One sftp-put or sftp-get, run where it is cheapest: in the connection's holder when it has one that can, else here. */
final class Transfer {
    private Transfer() {}

    /** @param put upload SOURCES (local) to DESTINATION (remote), else download SOURCES (remote) to DESTINATION (local) */
    static List<TransferResult> run(VpsConnection connection, boolean put, List<String> sources, String destination,
            Uploader.Options options, boolean quiet, InputStream stdin, OutputStream stdout, PrintStream err) {
        boolean streams = put ? sources.contains("-") : destination.equals("-");
        if (!streams && HolderTransfer.available(connection)) {
            List<TransferResult> done = HolderTransfer.request(connection, put, sources, destination, options, quiet, err);
            if (done != null) {
                return done;
            }
        }
        try (RemoteFs fs = RemoteFs.open(connection)) {
            return put ? new Uploader(fs, options, err).upload(sources, destination, stdin, quiet)
                    : new Downloader(fs, options, err).download(sources, destination, stdout, quiet);
        }
    }
}
