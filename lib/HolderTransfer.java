import com.jcraft.jsch.ChannelSubsystem;
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
 * --reuse a client opens the holder's own subsystem {@link #SUBSYSTEM} and sends the request as
 * one JSON line (local paths absolute: the holder runs in its own folder),
 * the holder reads and writes the local files itself, feeds the progress back on stderr (see
 * {@link TransferProgress.Feed}) and answers one JSON object: the results or the error. The holder
 * runs as the same local user, so it reaches no file the caller could not. A client that goes
 * away cancels the transfer: the partial file stays for a rerun to resume, the target untouched.
 */
final class HolderTransfer extends AbstractCommandSupport {
    /** A subsystem name no server has: a holder too old to know it relays it, and the server refuses it. */
    static final String SUBSYSTEM = "vps-transfer@vps-toolkit";

    private record Request(boolean put, List<String> sources, String destination, boolean noClobber, boolean mkdir,
            boolean preserve, boolean verify, String symlinks, boolean quiet) {
        Request(boolean put, List<String> sources, String destination, Uploader.Options o, boolean quiet) {
            this(put, sources, destination, o.noClobber(), o.mkdir(), o.preserve(), o.verify(), o.symlinks(), quiet);
        }

        Uploader.Options options() {
            return new Uploader.Options(noClobber, mkdir, preserve, verify, symlinks);
        }

        byte[] line() {
            return (Json.write(this) + "\n").getBytes(StandardCharsets.UTF_8);
        }
    }

    /** The line that asks a holder for a transfer (local paths absolute). */
    static byte[] requestLine(boolean put, List<String> sources, String destination, Uploader.Options options, boolean quiet) {
        return new Request(put, sources, destination, options, quiet).line();
    }

    private final HolderUpstream upstream;
    private final PrintStream log;
    private volatile Request request;
    private volatile TransferProgress.Feed feed;
    private volatile boolean clientGone;
    private volatile boolean finished;

    private HolderTransfer(HolderUpstream upstream, PrintStream log) {
        super("transfer", null);
        this.upstream = upstream;
        this.log = log;
    }

    /** The holder's command for a subsystem request, or null when NAME is another subsystem (sftp: relayed). */
    static HolderTransfer forSubsystem(HolderUpstream upstream, String name, PrintStream log) {
        return SUBSYSTEM.equals(name) ? new HolderTransfer(upstream, log) : null;
    }

    /** Whether the holder behind C runs transfers itself (holders started by older versions only relay). */
    static boolean available(VpsConnection c) {
        HolderFiles.State s = c.holder == null ? null : c.holder.readState();
        return s != null && Boolean.TRUE.equals(s.raw().get("transfers"));
    }

    @Override
    public void run() {
        feed = new TransferProgress.Feed(getErrorStream());
        if (clientGone) {
            feed.cancelled = true;
        }
        Map<String, Object> answer = new LinkedHashMap<>();
        try {
            Request r = Json.read(new BufferedReader(new InputStreamReader(getInputStream(), StandardCharsets.UTF_8)).readLine(), Request.class);
            request = r;
            List<TransferResult> results = Reconnect.repeatable(this::session, c -> Transfer.run(c, r.put(), r.sources(), r.destination(),
                    r.options(), r.quiet(), InputStream.nullInputStream(), OutputStream.nullOutputStream(), feed), c -> {});
            answer.put("results", results.stream().map(TransferResult::toJson).toList());
            log.println(java.time.Instant.now() + " ran sftp-" + (r.put() ? "put" : "get") + " for a client: " + results.size()
                    + " file(s), " + TransferProgress.mib(results.stream().mapToLong(TransferResult::sent).sum()) + " moved");
        } catch (VpsException e) {
            answer.put("error", Json.error(e));
        } catch (CancellationException e) {
            return;   // nobody is left to answer
        } catch (IOException | RuntimeException | Error e) {   // an Error too: the client must never wait for an answer that cannot come
            answer.put("error", Json.error(new VpsException(VpsException.Kind.PROTOCOL, "the connection holder failed: " + e, "run without --reuse", false, null)));
        }
        finished = true;
        try {
            OutputStream out = getOutputStream();
            out.write((Json.write(answer) + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException ignored) {
            // the client went away
        } finally {
            onExit(0);
        }
    }

    /** The holder's session, for one more try; none once the client has gone. */
    private VpsConnection session() {
        if (clientGone) {
            throw new CancellationException("the client went away");
        }
        return upstream.live();
    }

    /**
     * The client went away. The transfer stops at its next progress step (the partial stays for a
     * rerun), not by an interrupt: an interrupted JSch stream looks like a failed write, and a
     * failed write removes the partial.
     */
    @Override
    public void destroy(ChannelSession channel) {
        clientGone = true;
        TransferProgress.Feed f = feed;
        if (f != null && !f.cancelled && !finished) {
            f.cancelled = true;
            Request r = request;
            log.println(java.time.Instant.now() + " the client of an sftp-" + (r == null ? "put/get" : r.put() ? "put" : "get") + " went away: stopping it");
        }
        if (getExecutorService() != null) {
            getExecutorService().shutdown();
        }
    }

    /**
     * The client's side: asks the holder behind CONNECTION to run the transfer, shows its progress
     * on ERR (a bar on a terminal, lines otherwise, as without the holder) and returns its results;
     * null when the holder does not take transfers (then the caller relays through it).
     */
    static List<TransferResult> request(VpsConnection connection, boolean put, List<String> sources, String destination,
            Uploader.Options options, boolean quiet, PrintStream err) {
        Request r = new Request(put, put ? sources.stream().map(HolderTransfer::absolute).toList() : sources,
                put ? destination : absolute(destination), options, quiet);
        ChannelSubsystem exec;
        InputStream stdout;
        InputStream stderr;
        try {
            exec = (ChannelSubsystem) connection.openChannel("subsystem");
            exec.setSubsystem(SUBSYSTEM);
            exec.setWantReply(true);
            OutputStream toHolder = exec.getOutputStream();
            stdout = exec.getInputStream();
            stderr = exec.getExtInputStream();
            try {
                exec.connect(connection.channelTimeoutMs());
            } catch (JSchException refused) {
                return null;
            }
            toHolder.write(r.line());
            toHolder.flush();
        } catch (JSchException | IOException e) {
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
                boolean frame = TransferProgress.fromFeed(line, total -> {
                            if (progress[0] != null) {
                                progress[0].close();   // the holder tried again: one bar, one ticker
                            }
                            progress[0] = new TransferProgress(task, total, err, quiet);
                        },
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
