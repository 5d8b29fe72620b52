import com.jcraft.jsch.ChannelExec;
import com.jcraft.jsch.JSchException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.AbstractCommandSupport;

/**
 * sftp-put and sftp-get run by the connection holder itself. Relayed, every byte of a transfer
 * was encrypted three times (client to holder, holder to server) and the client's fresh JVM did
 * the SFTP work cold; the holder has the session, and its JIT is warm from earlier calls. So with
 * --reuse a client sends the request (local paths absolute: the holder runs in its own folder),
 * the holder reads and writes the local files itself, feeds the progress back on stderr (see
 * {@link TransferProgress.Feed}) and answers one JSON object: the results or the error. The holder
 * runs as the same local user, so it reaches no file the caller could not. A client that goes
 * away cancels the transfer: the partial file stays for a rerun to resume, the target untouched.
 */
final class HolderTransfer extends AbstractCommandSupport {
    /** Starts the exec command of a transfer request; no command a client sends to a shell starts with NUL. */
    static final String MARKER = "\u0000vps-transfer\u0000";

    private record Request(boolean put, List<String> sources, String destination, boolean noClobber, boolean mkdir,
            boolean preserve, boolean verify, String symlinks, boolean quiet) {
        Request(boolean put, List<String> sources, String destination, Uploader.Options o, boolean quiet) {
            this(put, sources, destination, o.noClobber(), o.mkdir(), o.preserve(), o.verify(), o.symlinks(), quiet);
        }

        Uploader.Options options() {
            return new Uploader.Options(noClobber, mkdir, preserve, verify, symlinks);
        }

        byte[] command() {
            return (MARKER + Json.write(this)).getBytes(StandardCharsets.UTF_8);
        }
    }

    /** The exec command that asks a holder for a transfer (local paths absolute). */
    static byte[] command(boolean put, List<String> sources, String destination, Uploader.Options options, boolean quiet) {
        return new Request(put, sources, destination, options, quiet).command();
    }

    private final HolderUpstream upstream;
    private final Request request;
    private final PrintStream log;
    private volatile TransferProgress.Feed feed;
    private volatile boolean clientGone;
    private volatile boolean finished;

    private HolderTransfer(HolderUpstream upstream, Request request, PrintStream log) {
        super("transfer", null);
        this.upstream = upstream;
        this.request = request;
        this.log = log;
    }

    /** The holder's command for an exec request, or null when COMMAND is not a transfer request. */
    static HolderTransfer forExec(HolderUpstream upstream, byte[] command, PrintStream log) {
        String text = new String(command, StandardCharsets.UTF_8);
        return text.startsWith(MARKER) ? new HolderTransfer(upstream, Json.read(text.substring(MARKER.length()), Request.class), log) : null;
    }

    /** Whether the holder behind C runs transfers itself (holders started by older versions only relay). */
    static boolean available(VpsConnection c) {
        HolderFiles.State s = c.holder == null ? null : c.holder.readState();
        return s != null && Boolean.TRUE.equals(s.raw().get("transfers"));
    }

    @Override
    public void run() {
        feed = new TransferProgress.Feed(getErrorStream());
        feed.cancelled = clientGone;
        Map<String, Object> answer = new LinkedHashMap<>();
        try {
            List<TransferResult> results = Reconnect.repeatable(upstream::live, c -> Transfer.run(c, request.put(), request.sources(),
                    request.destination(), request.options(), request.quiet(), InputStream.nullInputStream(), OutputStream.nullOutputStream(), feed), c -> {});
            answer.put("results", results.stream().map(TransferResult::toJson).toList());
            log.println(java.time.Instant.now() + " ran sftp-" + (request.put() ? "put" : "get") + " for a client: " + results.size()
                    + " file(s), " + TransferProgress.mib(results.stream().mapToLong(TransferResult::sent).sum()) + " moved");
        } catch (VpsException e) {
            answer.put("error", Json.error(e));
        } catch (CancellationException e) {
            return;   // nobody is left to answer
        } catch (RuntimeException e) {
            answer.put("error", Json.error(new VpsException(VpsException.Kind.PROTOCOL, "the connection holder failed: " + e, "run without --reuse", false, e)));
        }
        finished = true;
        try {
            OutputStream out = getOutputStream();
            out.write((Json.write(answer) + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            onExit(0);
        } catch (IOException ignored) {
            // the client went away
        }
    }

    @Override
    public void destroy(ChannelSession channel) throws Exception {
        clientGone = true;
        TransferProgress.Feed f = feed;
        if (f != null && !f.cancelled && !finished) {
            f.cancelled = true;
            log.println(java.time.Instant.now() + " the client of an sftp-" + (request.put() ? "put" : "get") + " went away: stopping it");
        }
        super.destroy(channel);
    }

    /**
     * The client's side: asks the holder behind CONNECTION to run the transfer, shows its progress
     * on ERR (a bar on a terminal, lines otherwise, as without the holder) and returns its results.
     */
    static List<TransferResult> request(VpsConnection connection, boolean put, List<String> sources, String destination,
            Uploader.Options options, boolean quiet, PrintStream err) {
        Request r = new Request(put, put ? sources.stream().map(HolderTransfer::absolute).toList() : sources,
                put ? destination : absolute(destination), options, quiet);
        ChannelExec exec;
        InputStream stdout;
        InputStream stderr;
        try {
            exec = (ChannelExec) connection.openChannel("exec");
            exec.setCommand(r.command());
            stdout = exec.getInputStream();
            stderr = exec.getErrStream();
            exec.connect(connection.channelTimeoutMs());
        } catch (JSchException e) {
            throw connection.failedToStart(e, "the transfer");
        } catch (IOException e) {
            throw connection.lost(e);
        }
        TransferProgress[] progress = new TransferProgress[1];
        Thread shown = HolderRelay.daemon(() -> show(stderr, put ? "put" : "get", quiet, err, progress), "vps-holder-progress");
        String answer;
        try {
            answer = new String(stdout.readAllBytes(), StandardCharsets.UTF_8).trim();
            shown.join();
        } catch (IOException | InterruptedException e) {
            answer = "";
        } finally {
            exec.disconnect();
            if (progress[0] != null) {
                progress[0].close();
            }
        }
        if (!answer.startsWith("{")) {
            throw new VpsException(VpsException.Kind.NETWORK, "the connection holder stopped during the transfer",
                    "run the same command again: it resumes from the part already sent", true, null);
        }
        Map<?, ?> m = Json.read(answer, Map.class);
        if (m.get("error") instanceof Map<?, ?> e) {
            throw VpsException.fromJson(e);
        }
        List<String> given = put ? sources : List.of(destination);
        List<String> sent = put ? r.sources() : List.of(r.destination());
        List<TransferResult> results = new ArrayList<>();
        for (Object o : (List<?>) m.get("results")) {
            TransferResult t = TransferResult.fromJson((Map<?, ?>) o);
            results.add(t.withLocal(asGiven(t.local(), sent, given)));
        }
        return results;
    }

    /** LOCAL as the caller spelled it: results name local files the way the same call without the holder does. */
    private static String asGiven(String local, List<String> sent, List<String> given) {
        for (int i = 0; i < sent.size(); i++) {
            String prefix = sent.get(i);
            if (local.equals(prefix) || local.startsWith(prefix.endsWith("/") ? prefix : prefix + "/")) {
                return given.get(i) + local.substring(prefix.length());
            }
        }
        return local;
    }

    private static void show(InputStream stderr, String task, boolean quiet, PrintStream err, TransferProgress[] progress) {
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(stderr, StandardCharsets.UTF_8))) {
            for (String line; (line = lines.readLine()) != null; ) {
                boolean frame = TransferProgress.fromFeed(line, total -> progress[0] = new TransferProgress(task, total, err, quiet),
                        bytes -> {
                            if (progress[0] != null) {
                                progress[0].add(bytes);
                            }
                        });
                if (!frame) {
                    err.println(line);
                }
            }
        } catch (IOException ignored) {
            // the channel closed: the answer on stdout says how it ended
        }
    }

    /** LOCAL made absolute, keeping a trailing separator (it says "into this folder"). */
    private static String absolute(String local) {
        String sep = local.endsWith("/") ? "/" : local.endsWith(java.io.File.separator) ? java.io.File.separator : "";
        return Path.of(local).toAbsolutePath() + sep;
    }
}
