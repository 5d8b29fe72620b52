import com.jcraft.jsch.ChannelSftp;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.SftpATTRS;
import com.jcraft.jsch.SftpException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The server's files through one SFTP channel, plus the few things SFTP cannot do (SHA-256)
 * through exec. Paths never pass through a shell unquoted; SFTP paths never pass through one at all.
 */
final class RemoteFs implements AutoCloseable {
    /** Keeps one batched hashing command well under the kernel's argument limits. */
    private static final int HASH_BATCH_CHARS = 64 * 1024;
    /** Requests in flight and the receive window behind them: JSch's 16 requests and 2 MiB starve a slow link. */
    private static final int BULK_REQUESTS = 128;
    private static final int WINDOW = 16 << 20;

    final VpsConnection connection;
    ChannelSftp sftp;
    private Boolean canHash;
    /** Helper commands (hashes, df) running now; see stopHelpers. */
    private final java.util.Set<RemoteCommand> helpers = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile boolean closed;
    private long fastestReplyNanos = -1;

    private RemoteFs(VpsConnection connection, ChannelSftp sftp) {
        this.connection = connection;
        this.sftp = sftp;
    }

    static RemoteFs open(VpsConnection connection) {
        ChannelSftp sftp;
        try {
            sftp = connectSftp(connection);
        } catch (JSchException first) {
            sftp = connectSftpAgain(connection, first);
        }
        return new RemoteFs(connection, sftp);
    }

    /** After FIRST failed: once more on a pooled session found dead before the subsystem was asked for, else the failure explained. */
    private static ChannelSftp connectSftpAgain(VpsConnection connection, JSchException first) {
        JSchException e = first;
        if (connection.reopenAfter(first)) {
            try {
                return connectSftp(connection);
            } catch (JSchException again) {
                e = again;
            }
        }
        if (!connection.isConnected()) {
            throw connection.lost(e);
        }
        if (String.valueOf(e.getMessage()).contains("channel is not opened")) {
            // Refused before the subsystem was asked for: the server is at its MaxSessions (other channels are open).
            throw new VpsException(VpsException.Kind.NETWORK, "the server refused a channel for SFTP (" + e.getMessage() + ")",
                    "it may be at its MaxSessions limit: retry when fewer commands run at once, or raise MaxSessions in sshd_config",
                    true, e);
        }
        throw new VpsException(VpsException.Kind.PROTOCOL, "the server has no SFTP subsystem: " + e.getMessage(),
                "enable it in sshd_config (Subsystem sftp internal-sftp)", false, e);
    }

    /** A connected SFTP channel with the window and the requests in flight that a slow link needs. */
    private static ChannelSftp connectSftp(VpsConnection connection) throws JSchException {
        ChannelSftp channel = connection.openSftp();
        channel.setLocalWindowSizeMax(WINDOW);
        channel.connect(connection.channelTimeoutMs());
        channel.setBulkRequests(BULK_REQUESTS);
        return channel;
    }

    /** stat, following links; null when the path does not exist. */
    SftpATTRS stat(String path) {
        return attributes(path, true);
    }

    /** lstat, the link itself when the path is one; null when the path does not exist. */
    SftpATTRS lstat(String path) {
        return attributes(path, false);
    }

    private SftpATTRS attributes(String path, boolean followLinks) {
        long asked = System.nanoTime();
        try {
            String literal = RemotePaths.literal(path);
            return followLinks ? sftp.stat(literal) : sftp.lstat(literal);
        } catch (SftpException e) {
            if (e.id == ChannelSftp.SSH_FX_NO_SUCH_FILE) {
                return null;
            }
            throw failure("cannot read", path, e);
        } finally {
            answered(asked);
        }
    }

    private void answered(long askedNanos) {
        long took = System.nanoTime() - askedNanos;
        if (fastestReplyNanos < 0 || took < fastestReplyNanos) {
            fastestReplyNanos = took;
        }
    }

    /**
     * The quickest stat answer so far (-1: none yet): the link's round trip, give or take the
     * server's stat. The quickest, because a cold JVM on a busy machine makes some answers late.
     */
    long fastestReplyNanos() {
        return fastestReplyNanos;
    }

    boolean isDirectory(String path) {
        SftpATTRS a = stat(path);
        return a != null && a.isDir();
    }

    void mkdirs(String dir) {
        if (dir.isEmpty() || isDirectory(dir)) {
            return;
        }
        String parent = RemotePaths.parent(dir);
        if (!parent.equals(dir)) {
            mkdirs(parent);
        }
        try {
            sftp.mkdir(RemotePaths.literal(dir));
        } catch (SftpException e) {
            if (!isDirectory(dir)) {
                throw failure("cannot create folder", dir, e);
            }
        }
    }

    /** Renames over an existing file atomically (posix-rename@openssh.com where the server has it). */
    void replace(String from, String to) {
        try {
            sftp.rename(RemotePaths.literal(from), RemotePaths.literal(to));
        } catch (SftpException e) {
            throw failure("cannot rename into place", to, e);
        }
    }

    /**
     * Whether the link still works, asked with a round trip on a new channel: right after a cut JSch
     * may not have noticed yet, and after a failed write the SFTP channel itself is out of step.
     */
    boolean alive() {
        if (!connection.isConnected()) {
            return false;
        }
        try {
            return run("true", new ByteArrayOutputStream()).exitCode() != null;
        } catch (VpsException e) {
            return refused(e);   // a server that refuses a channel answered: the link works
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** The server answered a channel open with a refusal: the session is fine, only full (MaxSessions). */
    boolean refused(VpsException e) {
        return e.kind == VpsException.Kind.NETWORK && e.retriable && connection.isConnected();
    }

    /**
     * Runs the shell code CMD beside the SFTP channel. A server that allows one channel at a time
     * (MaxSessions 1) refuses it while SFTP is open: then, when SFTP_IDLE, SFTP is closed for as long
     * as CMD runs; else the refusal is thrown.
     */
    private ExecOutcome exec(String cmd, ByteArrayOutputStream out, boolean sftpIdle) {
        try {
            return run(cmd, out);
        } catch (VpsException e) {
            if (!sftpIdle || !refused(e)) {
                throw e;
            }
        }
        sftp.disconnect();
        try {
            // The server frees the slot a moment after the channel closed: a few quick tries.
            for (int tried = 1; ; tried++) {
                try {
                    return run(cmd, out);
                } catch (VpsException e) {
                    if (tried == 10 || !refused(e)) {
                        throw e;
                    }
                    pause(50);
                }
            }
        } finally {
            reopen();
        }
    }

    private ExecOutcome run(String cmd, ByteArrayOutputStream out) {
        RemoteCommand command = RemoteCommand.of(cmd);
        helpers.add(command);
        try {
            if (closed) {
                throw new VpsException(VpsException.Kind.REMOTE, "the transfer already ended; no helper command starts after it", null);
            }
            return ExecRunner.run(connection, command, out, new ByteArrayOutputStream(), null);
        } finally {
            helpers.remove(command);
        }
    }

    /**
     * Kills the helper commands still running (a hash that a failed download left behind on another
     * thread), so that nothing this file session started on the server outlives it. A helper whose
     * process had not started at the first kill is caught by the next one, a few seconds at most.
     */
    private void stopHelpers() {
        long until = System.nanoTime() + 5_000_000_000L;
        while (!helpers.isEmpty() && connection.isConnected() && System.nanoTime() < until) {
            for (RemoteCommand helper : List.copyOf(helpers)) {
                ExecRunner.stopRemotely(connection, helper, "KILL");
            }
            pause(50);
        }
    }

    /** A fresh SFTP channel, for cleaning up after a failed transfer left the old one out of step. */
    void reopen() {
        sftp.disconnect();
        try {
            sftp = connectSftp(connection);
        } catch (JSchException e) {
            throw connection.lost(e);
        }
    }

    void removeQuietly(String path) {
        try {
            sftp.rm(RemotePaths.literal(path));
        } catch (SftpException ignored) {
            // already gone, or never created
        }
    }

    /** Files from this size on are hashed with openssl where it works: several times faster than coreutils' sha256sum. */
    static final long LARGE_FILE = 16L << 20;

    /**
     * Shell code that sets $small and $large to a SHA-256 command reading stdin (sha256sum, or
     * openssl dgst when it gives the right hash of nothing), or exits 127 when there is neither.
     */
    private static final String HASHERS = "small=; large=\n"
            + "if command -v openssl >/dev/null 2>&1 && [ \"$(printf '' | openssl dgst -sha256 -r 2>/dev/null | cut -c1-64)\" = "
            + "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ]; then small='openssl dgst -sha256 -r'; large=$small; fi\n"
            + "if command -v sha256sum >/dev/null 2>&1; then small=sha256sum; large=${large:-sha256sum}; fi\n"
            + "[ -n \"$small\" ] || exit 127\n";

    /**
     * SHA-256 of each path in order (null for a path that could not be read); null when the server
     * has no way to hash. SFTP_IDLE: nothing is using the SFTP channel meanwhile (see exec).
     */
    List<String> sha256(List<String> paths, List<Long> sizes, boolean sftpIdle) {
        if (Boolean.FALSE.equals(canHash)) {
            return null;
        }
        List<String> hashes = new ArrayList<>();
        int i = 0;
        while (i < paths.size()) {
            StringBuilder cmd = new StringBuilder(HASHERS).append("set --");
            int start = i;
            while (i < paths.size() && (i == start || cmd.length() < HASH_BATCH_CHARS)) {
                cmd.append(sizes.get(i) >= LARGE_FILE ? " L " : " S ").append(ShellQuote.quote(paths.get(i++)));
            }
            // One line per file, in order, whatever the names contain: hash stdin, not the name.
            cmd.append("\nwhile [ $# -gt 1 ]; do if [ \"$1\" = L ]; then h=$($large < \"$2\" 2>/dev/null); else h=$($small < \"$2\" 2>/dev/null); fi"
                    + " && printf 'H:%.64s\\n' \"$h\" || echo H:-; shift 2; done");
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ExecOutcome o = exec(cmd.toString(), out, sftpIdle);
            if (o.exitCode() != null && o.exitCode() == 127) {
                canHash = false;
                return null;
            }
            canHash = true;
            // Only marked lines count: a login shell's rc file may print its own lines.
            for (String line : out.toString(StandardCharsets.US_ASCII).split("\n")) {
                if (line.startsWith("H:")) {
                    String h = line.substring(2).trim();
                    hashes.add(h.matches("[0-9a-f]{64}") ? h : null);
                }
            }
        }
        if (hashes.size() != paths.size()) {
            throw new VpsException(VpsException.Kind.REMOTE, "the server returned " + hashes.size() + " hashes for " + paths.size() + " files",
                    "retry; check that the login shell's rc files do not swallow output", false, null);
        }
        return hashes;
    }

    /** SHA-256 of a remote file read back over SFTP: verification where the server has neither sha256sum nor openssl. */
    String sha256ByReading(String path) {
        try (java.io.InputStream in = sftp.get(RemotePaths.literal(path))) {
            java.security.MessageDigest d = Sha256.digest();
            Sha256.feed(d, in, -1);
            return Sha256.hex(d);
        } catch (SftpException e) {
            throw failure("cannot read back", path, e);
        } catch (java.io.IOException e) {
            throw connection.lost(e);
        }
    }

    /**
     * SHA-256 of the first PREFIX bytes of PATH, then of each of the BLOCKS blocks of BLOCK bytes that follow
     * it, in one command; null when the server cannot tell. A block past the end of the file hashes short
     * and so never matches.
     */
    List<String> sha256OfPrefixAndBlocks(String path, long prefix, int block, int blocks) {
        String cmd = HASHERS + "f=" + ShellQuote.quote(path) + "\nh=$(head -c " + prefix + " < \"$f\" | $large) && printf 'H:%.64s\\n' \"$h\" || exit 1\n"
                + "i=0; while [ $i -lt " + blocks + " ]; do h=$(dd if=\"$f\" bs=" + block + " skip=$((" + prefix / block + " + i)) count=1 2>/dev/null | $small)"
                + " && printf 'H:%.64s\\n' \"$h\" || exit 1; i=$((i + 1)); done";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ExecOutcome o = exec(cmd, out, true);
        List<String> hashes = new ArrayList<>();
        for (String line : out.toString(StandardCharsets.US_ASCII).split("\n")) {
            if (line.startsWith("H:") && line.substring(2).trim().matches("[0-9a-f]{64}")) {
                hashes.add(line.substring(2).trim());
            }
        }
        return o.exitCode() != null && o.exitCode() == 0 && hashes.size() == blocks + 1 ? hashes : null;
    }

    /** SHA-256 of the first BYTES of PATH, or null when the server cannot tell. */
    String sha256OfPrefix(String path, long bytes) {
        List<String> hashes = sha256OfPrefixAndBlocks(path, bytes, 1, 0);
        return hashes == null ? null : hashes.get(0);
    }

    /** What lstat(2) says of a file (MODE: st_mode, type bits included), with the link count SFTP v3 does not carry. */
    record FileFacts(String path, int mode, int uid, int links, long size, long mtime) {}

    /** The partial files found by partialsStartingWith, and the login user's uid. */
    record Partials(int loginUid, List<FileFacts> files) {}

    /**
     * The files whose path is PREFIX followed by a partial suffix (RemotePaths.isPartialSuffix), as lstat
     * sees them (a link is described, not followed), in one command; null when the server cannot tell.
     */
    Partials partialsStartingWith(String prefix) {
        String cmd = "p=" + ShellQuote.quote(prefix) + "\necho \"U:$(id -u)\"\n"
                + "for f in \"$p\"*; do s=${f#\"$p\"}; case $s in ''|*[!0-9a-f]*) continue;; esac\n"
                + "i=$(stat -c '%f:%u:%h:%s:%Y' -- \"$f\" 2>/dev/null) && echo \"F:$i:$s\"; done; exit 0";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ExecOutcome o = exec(cmd, out, true);
        if (o.exitCode() == null || o.exitCode() != 0) {
            return null;
        }
        Integer uid = null;
        List<FileFacts> files = new ArrayList<>();
        for (String line : out.toString(StandardCharsets.UTF_8).split("\n")) {
            String[] f = line.split(":");
            if (f.length == 2 && f[0].equals("U") && f[1].matches("[0-9]+")) {
                uid = Integer.parseInt(f[1]);
            } else if (f.length == 7 && f[0].equals("F") && RemotePaths.isPartialSuffix(f[6]) && line.matches("F:[0-9a-f]+(:[0-9]+){4}:[0-9a-f]+")) {
                files.add(new FileFacts(prefix + f[6], Integer.parseInt(f[1], 16), Integer.parseInt(f[2]), Integer.parseInt(f[3]),
                        Long.parseLong(f[4]), Long.parseLong(f[5])));
            }
        }
        return uid == null ? null : new Partials(uid, files);
    }

    /** The REMOTE error for a failed SFTP call; a write failure on a full disk says so. */
    VpsException failure(String action, String path, SftpException e) {
        String what = action + " " + path + " on " + connection.target.host();
        return switch (e.id) {
            case ChannelSftp.SSH_FX_NO_SUCH_FILE -> remote(what + ": no such file or folder", "check the path (remote paths are relative to the login folder)", e);
            case ChannelSftp.SSH_FX_PERMISSION_DENIED -> remote(what + ": permission denied for " + connection.target.user(),
                    "pick a folder that user can write, or log in as a user who may (e.g. -u root)", e);
            default -> {
                String free = freeSpace(RemotePaths.parent(path));
                yield free != null && free.startsWith("0 ")
                        ? remote(what + ": no space left on the server (" + free + ")", "free some space there (df -h, du -sh) and retry", e)
                        : remote(what + ": the server said '" + e.getMessage() + "'" + (free == null ? "" : " (" + free + ")"),
                        "check the server's disk (df -h) and the path", e);
            }
        };
    }

    /** Free space by df over exec: after a failed write the SFTP channel may be unusable. */
    private String freeSpace(String dir) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ExecOutcome o = exec("df -Pk -- " + ShellQuote.quote(dir.isEmpty() ? "." : dir) + " | tail -n 1", out, true);
            String[] f = out.toString(StandardCharsets.UTF_8).trim().split("\\s+");
            return o.exitCode() != null && o.exitCode() == 0 && f.length >= 4 ? Long.parseLong(f[3]) + " KiB free" : null;
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static void pause(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static VpsException remote(String message, String hint, Exception cause) {
        return new VpsException(VpsException.Kind.REMOTE, message, hint, false, cause);
    }

    @Override
    public void close() {
        closed = true;
        stopHelpers();
        sftp.disconnect();
    }
}
