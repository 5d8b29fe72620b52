import com.jcraft.jsch.ChannelSftp;
import com.jcraft.jsch.SftpATTRS;
import com.jcraft.jsch.SftpException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;

/**
 * mcp-server's file tools: write_file and read_file carry the content in the call (size-capped),
 * upload and download move local paths; all through {@link Uploader} and {@link Downloader}, so
 * every write is atomic (a partial name, verified, renamed into place) and every read verified.
 */
final class McpFileTools {
    static final long MAX_CONTENT_BYTES = 8L << 20;
    static final long DEFAULT_READ_BYTES = 256L << 10;
    /**
     * A read_file that gets no answer for this long is abandoned (its SFTP channel closed): a FIFO
     * put in place after the stat blocks the server's open for ever, and a server may just stall.
     */
    static final Duration READ_STALL = Duration.ofSeconds(30);
    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(Daemons.named("vps-read-watchdog"));

    private final TargetNames names;
    private final SessionPool connections;
    private final PrintStream log;

    McpFileTools(TargetNames names, SessionPool connections, PrintStream log) {
        this.names = names;
        this.connections = connections;
        this.log = log;
    }

    List<McpTool> tools() {
        return List.of(
                new McpTool("write_file",
                        "Write a remote file from content given here (up to 8 MiB): no heredoc or quoting problems. Atomic: the "
                                + "content goes to a hidden partial file beside the target, is verified by SHA-256 and renamed into place, "
                                + "so readers never see half a file. A replaced file keeps its mode and owner; a new one gets 0644. "
                                + "Safe to repeat. For local files use upload.",
                        new McpTool.Schema()
                                .requiredText("path", "Remote file path, e.g. /etc/nginx/conf.d/app.conf (relative paths start in the login folder).")
                                .requiredText("content", "The whole new content of the file.")
                                .choice("encoding", "How content is written: utf8 (default) or base64 for binary data.", "utf8", "base64")
                                .flag("mkdir", "Create missing parent folders.")
                                .build(),
                        McpOutput.transfer(false), McpTool.Hints.changes("Write a remote file", true, true), this::writeFile),
                new McpTool("read_file",
                        "Read a remote regular file into the result (content, bytes, and sha256 of the content returned). Refuses "
                                + "files larger than max_bytes (default 256 KiB, at most 8 MiB) instead of cutting them, also when a file "
                                + "grows past it while being read: read a part with exec (e.g. tail -c 65536 FILE) or fetch it with "
                                + "download. Devices, FIFOs and folders are refused; a read the server leaves unanswered for 30 s is abandoned. "
                                + "Content that is not UTF-8 comes back as base64 "
                                + "(encoding says which).",
                        new McpTool.Schema()
                                .requiredText("path", "Remote file path.")
                                .integer("max_bytes", "Largest file to return, in bytes (default 262144, at most 8388608).")
                                .build(),
                        McpOutput.readFile(), McpTool.Hints.reads("Read a remote file"), this::readFile),
                new McpTool("upload",
                        "Copy a local file or folder (on the machine running this MCP server) to the server over SFTP: atomic per "
                                + "file, SHA-256 verified, resumable (repeat the same call after a failure). Like scp: an existing target "
                                + "is replaced, a folder target receives the source by name.",
                        new McpTool.Schema()
                                .requiredText("local", "Local file or folder; absolute, or relative to the folder the MCP server started in.")
                                .requiredText("remote", "Remote destination file or folder (end it with / for a folder).")
                                .flag("mkdir", "Create missing remote parent folders.")
                                .flag("no_clobber", "Leave existing remote files alone (reported as 'exists' and as an error).")
                                .flag("preserve", "Keep the source's mode and modification time.")
                                .flag("dry_run", DRY_RUN)
                                .fleet()
                                .build(),
                        McpOutput.transfer(true), McpTool.Hints.changes("Upload local files", true, true), new McpFleet(names).each("upload", this::upload)),
                new McpTool("download",
                        "Copy remote files or folders to a local path (on the machine running this MCP server) over SFTP: atomic per "
                                + "file, SHA-256 verified, resumable. remote may be a glob such as '/var/log/nginx/*.log' (expanded by "
                                + "SFTP, never a shell). With targets, each server's files land in local/NAME/ (NAME as in the result's hosts).",
                        new McpTool.Schema()
                                .requiredText("remote", "Remote file, folder or glob.")
                                .requiredText("local", "Local destination file or folder; absolute, or relative to the folder the MCP server started in.")
                                .flag("mkdir", "Create missing local parent folders.")
                                .flag("no_clobber", "Leave existing local files alone (reported as 'exists' and as an error).")
                                .flag("preserve", "Keep the source's mode and modification time.")
                                .flag("dry_run", DRY_RUN)
                                .fleet()
                                .build(),
                        McpOutput.transfer(true), McpTool.Hints.changes("Download to local files", true, true), new McpFleet(names).each("download", UnaryOperator.identity(),
                                (args, host) -> args.with("local", TransferReport.perHostDestination(args.requiredText("local"), host.pathName())), this::download)));
    }

    private Map<String, Object> writeFile(McpArgs args) {
        long start = System.nanoTime();
        String path = args.requiredText("path");
        String content = args.text("content");
        if (content == null) {
            throw VpsException.config("argument 'content' is required (it may be empty)", "pass the file's whole new content");
        }
        byte[] bytes = "base64".equals(args.text("encoding")) ? decodeBase64(content) : content.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > MAX_CONTENT_BYTES) {
            throw VpsException.config("content is " + bytes.length + " bytes, more than write_file takes (" + MAX_CONTENT_BYTES + ")",
                    "write it to a local file and use upload");
        }
        Uploader.Options options = new Uploader.Options(false, args.flag("mkdir"), false, true, "keep");
        return connections.useRepeatable(McpConfirm.checked(args, names, names.nameOrDefault(args.target()), connections,
                PolicyAction.transfer(PolicyAction.Kind.UPLOAD, "write_file " + path)), 2, c -> {
            try (RemoteFs fs = RemoteFs.open(c)) {
                List<TransferResult> done = new Uploader(fs, options, log).upload(List.of("-"), path, new ByteArrayInputStream(bytes), true);
                return TransferReport.toJson("write_file " + path, c.target.host(), done, ms(start));
            }
        });
    }

    private Map<String, Object> readFile(McpArgs args) {
        long start = System.nanoTime();
        String path = args.requiredText("path");
        long max = args.size("max_bytes", DEFAULT_READ_BYTES, MAX_CONTENT_BYTES);
        return connections.useRepeatable(names.resolveFor(names.nameOrDefault(args.target()), connections), 2, c -> {
            try (RemoteFs fs = RemoteFs.open(c)) {
                byte[] content = readAtMost(fs, path, max, READ_STALL);
                // Hashed here, over the bytes returned: a server-side hash of the path could read something else, or never end.
                String sha256 = java.util.HexFormat.of().formatHex(Sha256.digest().digest(content));
                TransferResult read = new TransferResult("-", path, content.length, content.length, 0, sha256, "done");
                Map<String, Object> r = TransferReport.toJson("read_file " + path, c.target.host(), List.of(read), ms(start));
                String text = utf8OrNull(content);
                r.put("encoding", text != null ? "utf8" : "base64");
                r.put("content", text != null ? text : Base64.getEncoder().encodeToString(content));
                return r;
            }
        });
    }

    /**
     * The bytes of the regular file PATH, never more than MAX of them. The stat is only a first check:
     * a log grows while it is read and a /proc file says 0 bytes, so the read itself stops past MAX.
     * A device or a FIFO is refused before it is opened (/dev/zero never ends; a FIFO's open blocks),
     * and the whole read is abandoned when the server answers nothing for STALL.
     */
    static byte[] readAtMost(RemoteFs fs, String path, long max, Duration stall) {
        AtomicLong answered = new AtomicLong(System.nanoTime());
        AtomicBoolean stalled = new AtomicBoolean();
        ScheduledFuture<?> guard = WATCHDOG.scheduleWithFixedDelay(() -> {
            if (System.nanoTime() - answered.get() > stall.toNanos() && stalled.compareAndSet(false, true)) {
                fs.sftp.disconnect();   // fails the request that waits, whichever it is
            }
        }, 200, 200, TimeUnit.MILLISECONDS);
        byte[] content;
        try {
            content = readAtMost(fs, path, max, answered);
        } catch (RuntimeException e) {
            throw stalled.get() ? stallError(path, stall, e) : e;
        } finally {
            guard.cancel(false);
        }
        if (stalled.get()) {
            throw stallError(path, stall, null);   // the closed channel may have read as the file's end
        }
        return content;
    }

    private static VpsException stallError(String path, Duration stall, Exception cause) {
        return new VpsException(VpsException.Kind.REMOTE, "the server sent nothing for " + Durations.human(stall) + " while reading " + path
                + ", so the read was abandoned (a FIFO put there after the check, a hung file system, or a stalled server)",
                "look at the path with exec (ls -la PATH) before retrying", false, cause);
    }

    private static byte[] readAtMost(RemoteFs fs, String path, long max, AtomicLong answered) {
        SftpATTRS a = fs.stat(path);
        answered.set(System.nanoTime());
        if (a == null) {
            throw new VpsException(VpsException.Kind.REMOTE, "remote file " + path + " does not exist on " + fs.connection.target.host(),
                    "check the path (relative paths start in the login folder)", false, null);
        }
        if (!a.isReg()) {
            throw new VpsException(VpsException.Kind.REMOTE, path + " is " + kindOf(a) + ", not a regular file: read_file reads files only",
                    a.isDir() ? "list it with exec (ls -la DIR), or fetch it with download"
                            : "read a bounded part with exec instead, e.g. head -c 4096 " + ShellQuote.quote(path) + " | od -c", false, null);
        }
        if (a.getSize() > max) {
            throw tooBig(path, a.getSize() + " bytes", max);
        }
        ByteArrayOutputStream content = new ByteArrayOutputStream((int) Math.min(a.getSize(), max) + 1);
        byte[] buf = new byte[64 * 1024];
        try (InputStream in = fs.sftp.get(RemotePaths.literal(path))) {
            answered.set(System.nanoTime());
            // Up to one byte past MAX: that byte tells "more than MAX" from "exactly MAX".
            while (content.size() <= max) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, max + 1 - content.size()));
                if (n < 0) {
                    break;
                }
                content.write(buf, 0, n);
                answered.set(System.nanoTime());
            }
        } catch (SftpException e) {
            throw fs.failure("cannot read", path, e);
        } catch (IOException e) {
            throw fs.sftp.isConnected() && fs.alive()
                    ? fs.failure("cannot read", path, new SftpException(ChannelSftp.SSH_FX_FAILURE, String.valueOf(e.getMessage())))
                    : fs.connection.lost(e);
        }
        if (content.size() > max) {
            throw tooBig(path, "more than " + max + " bytes when read (stat said " + a.getSize() + ": it grows, or its size is not what stat says)", max);
        }
        return content.toByteArray();
    }

    private static VpsException tooBig(String path, String size, long max) {
        return new VpsException(VpsException.Kind.REMOTE, path + " is " + size + ", more than max_bytes (" + max + ")",
                "raise max_bytes (up to " + MAX_CONTENT_BYTES + "), read a part with exec (tail -c 65536 FILE, sed -n 1,200p FILE), or use download",
                false, null);
    }

    private static String kindOf(SftpATTRS a) {
        return a.isDir() ? "a folder" : a.isChr() ? "a character device" : a.isBlk() ? "a block device"
                : a.isFifo() ? "a named pipe (FIFO)" : a.isSock() ? "a socket" : "not a regular file";
    }

    static final String DRY_RUN = "Write nothing: return the plan instead, {dryRun: true, folders, files: [{path, action: create|replace|same|exists, "
            + "size, sha256, ...}]} (sizes compared, and SHA-256 of both sides where they match).";

    private Map<String, Object> upload(McpArgs args) {
        long start = System.nanoTime();
        String local = args.requiredText("local");
        String remote = args.requiredText("remote");
        if (local.equals("-")) {
            throw VpsException.config("upload takes a local path, not '-'", "use write_file to send content");
        }
        Uploader.checkSources(List.of(local));
        Uploader.Options options = new Uploader.Options(args.flag("no_clobber"), args.flag("mkdir"), args.flag("preserve"), true, "keep");
        return connections.useRepeatable(McpConfirm.checked(args, names, names.nameOrDefault(args.target()), connections,
                PolicyAction.transfer(PolicyAction.Kind.UPLOAD, "upload " + local + " " + remote)), 2, c -> {
            try (RemoteFs fs = RemoteFs.open(c)) {
                if (args.flag("dry_run")) {
                    return new Uploader(fs, options, log).plan(List.of(local), remote).toJson(c.target.host(), "upload " + local + " " + remote);
                }
                List<TransferResult> done = McpTransferFeed.run(log, feed -> new Uploader(fs, options, feed).upload(List.of(local), remote, null, true));
                return TransferReport.toJson("upload " + local + " " + remote, c.target.host(), done, ms(start));
            }
        });
    }

    private Map<String, Object> download(McpArgs args) {
        long start = System.nanoTime();
        String remote = args.requiredText("remote");
        String local = args.requiredText("local");
        if (local.equals("-")) {
            throw VpsException.config("download takes a local path, not '-'", "use read_file to get content");
        }
        Uploader.Options options = new Uploader.Options(args.flag("no_clobber"), args.flag("mkdir"), args.flag("preserve"), true, "keep");
        return connections.useRepeatable(McpConfirm.checked(args, names, names.nameOrDefault(args.target()), connections,
                PolicyAction.transfer(PolicyAction.Kind.DOWNLOAD, "download " + remote + " " + local)), 2, c -> {
            try (RemoteFs fs = RemoteFs.open(c)) {
                refuseEndlessSource(fs, remote);
                if (args.flag("dry_run")) {
                    return new Downloader(fs, options, log).plan(List.of(remote), local).toJson(c.target.host(), "download " + remote + " " + local);
                }
                List<TransferResult> done = McpTransferFeed.run(log, feed -> new Downloader(fs, options, feed).download(List.of(remote), local, null, true));
                return TransferReport.toJson("download " + remote + " " + local, c.target.host(), done, ms(start));
            }
        });
    }

    /** A device or FIFO named as the source would be read, and hashed on the server, for ever: refused before either starts. */
    private static void refuseEndlessSource(RemoteFs fs, String remote) {
        SftpATTRS a = RemotePaths.hasGlob(remote) ? null : fs.stat(remote);
        if (a != null && !a.isReg() && !a.isDir()) {
            throw new VpsException(VpsException.Kind.REMOTE, remote + " is " + kindOf(a) + ", not a regular file or folder: download copies files",
                    "copy a bounded part with exec instead, e.g. head -c 1048576 " + ShellQuote.quote(remote) + " > /tmp/part, then download that",
                    false, null);
        }
    }

    private static byte[] decodeBase64(String content) {
        try {
            return Base64.getMimeDecoder().decode(content);
        } catch (IllegalArgumentException e) {
            throw VpsException.config("content is not valid base64: " + e.getMessage(), "encode the bytes as base64, or use encoding utf8 for text");
        }
    }

    private static String utf8OrNull(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    private static long ms(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }
}
