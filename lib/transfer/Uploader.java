import com.jcraft.jsch.ChannelSftp;
import com.jcraft.jsch.SftpATTRS;
import com.jcraft.jsch.SftpException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * sftp-put: each file goes to a hidden partial name beside its target (random, created new with
 * mode 0600: see SftpWriter), gets its final mode (and owner, times) on the handle that wrote it
 * before that is closed, is verified (size and SHA-256), and is renamed into place; an interrupted
 * file stays partial and a rerun resumes it, if it is still ours, from the part whose hash still
 * matches.
 */
final class Uploader {
    record Options(boolean noClobber, boolean mkdir, boolean preserve, boolean verify, String symlinks) {}

    /** Below this a rerun simply starts over: hashing a prefix costs more than sending it again. */
    static final long RESUME_MIN_BYTES = 1 << 20;
    private static final int BATCH = 200;

    /** LOCAL is opened; SHOWN is how the user wrote it (what results and messages name). */
    private record Item(Path local, String shown, String remote, long size, boolean stdin) {}

    private record Pending(Item item, String partial, String sha256, long sent, long resumedFrom) {}

    private final RemoteFs fs;
    private final Options options;
    private final PrintStream err;
    private TransferProgress progress;
    /** The channel whole files are written through (see writer), and whether the file system's channel was closed for it. */
    private SftpWriter writer;
    private boolean roomMade;
    /** With --dry-run: where the folders, links and files go instead of the server. */
    private TransferPlan dry;

    Uploader(RemoteFs fs, Options options, PrintStream err) {
        this.fs = fs;
        this.options = options;
        this.err = err;
    }

    /** Checks the local side before anything is sent: every source must exist. */
    static void checkSources(List<String> sources) {
        for (String s : sources) {
            if (!s.equals("-") && !Files.exists(Environment.resolve(s))) {
                throw new VpsException(VpsException.Kind.CONFIG, "local file " + s + " does not exist", "check the path; nothing was sent", false, null);
            }
        }
        if (sources.contains("-") && Environment.terminals().stdin()) {
            throw VpsException.config("'-' reads stdin, which is your terminal here", "pipe the content in: ... | sftp-put - REMOTE");
        }
        if (sources.contains("-") && sources.size() > 1) {
            throw VpsException.config("'-' (stdin) must be the only source", "send stdin and files in separate calls");
        }
    }

    List<TransferResult> upload(List<String> sources, String remote, InputStream stdin, boolean quiet) {
        List<Item> items = new ArrayList<>();
        List<TransferResult> results = new ArrayList<>();
        plan(sources, remote, items, results);
        long total = items.stream().mapToLong(i -> Math.max(0, i.size())).sum();
        try (TransferProgress p = new TransferProgress("put", items.stream().anyMatch(Item::stdin) ? -1 : total, err, quiet)) {
            progress = p;
            for (int i = 0; i < items.size(); i += BATCH) {
                List<Pending> batch = new ArrayList<>();
                for (Item item : items.subList(i, Math.min(items.size(), i + BATCH))) {
                    SftpATTRS existing = options.noClobber() || !options.preserve() ? fs.lstat(item.remote()) : null;
                    if (options.noClobber() && existing != null) {
                        results.add(new TransferResult(local(item), item.remote(), item.size(), 0, 0, null, "exists"));
                        continue;
                    }
                    batch.add(send(item, stdin, finalAttributes(item, existing)));
                }
                finish(batch, results);
            }
        } finally {
            dropWriter();
        }
        return results;
    }

    /** --dry-run: what {@link #upload} would do, found by reading both sides; nothing is written to the server. */
    TransferPlan plan(List<String> sources, String remote) {
        if (sources.contains("-")) {
            throw VpsException.config("--dry-run cannot plan stdin ('-'): reading it would use it up", "save it to a file and plan that file");
        }
        dry = new TransferPlan(true);
        List<Item> items = new ArrayList<>();
        List<TransferResult> results = new ArrayList<>();
        plan(sources, remote, items, results);
        results.forEach(dry::noted);
        items.forEach(i -> dry.file(i.remote(), i.shown(), i.local(), i.remote(), i.size(), resumableFrom(i)));
        return dry.decide(fs, options.noClobber());
    }

    private void plan(List<String> sources, String remote, List<Item> items, List<TransferResult> results) {
        boolean single = sources.size() == 1;
        boolean remoteIsDir = remote.endsWith("/") || fs.isDirectory(remote);
        if (!single && !remoteIsDir) {
            if (!options.mkdir()) {
                throw remoteError("remote folder " + remote + " does not exist (several sources need a folder)",
                        "create it first, or pass --mkdir");
            }
            remoteIsDir = true;
        }
        String parent = remoteIsDir ? remote : RemotePaths.parent(remote);
        if (!parent.isEmpty() && !fs.isDirectory(parent)) {
            if (!options.mkdir()) {
                throw remoteError("remote folder " + parent + " does not exist", "create it first, or pass --mkdir");
            }
            mkdirs(parent);
        }
        for (String source : sources) {
            if (source.equals("-")) {
                if (remoteIsDir) {
                    throw VpsException.config("stdin has no name: give the remote file name, not a folder", "e.g. sftp-put - /etc/app/config.yml");
                }
                items.add(new Item(null, "-", remote, -1, true));
                continue;
            }
            Path local = Environment.resolve(source);
            String target = remoteIsDir ? RemotePaths.join(remote, local.getFileName().toString()) : remote;
            if (Files.isDirectory(local)) {
                walk(local, Path.of(source), target, items, results);
            } else {
                items.add(new Item(local, source, target, size(local, source), false));
            }
        }
    }

    /**
     * A tree: folders are created, files queued; symlinks inside are kept, followed or skipped as asked.
     * ROOT is read; SHOWN_ROOT is how the user wrote it.
     */
    private void walk(Path root, Path shownRoot, String remoteRoot, List<Item> items, List<TransferResult> results) {
        try {
            Files.walkFileTree(root, Set.of(), Integer.MAX_VALUE, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                    mkdirs(remoteFor(dir));
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    String target = remoteFor(file);
                    String shown = shownRoot.resolve(root.relativize(file)).toString();
                    if (attrs.isSymbolicLink()) {
                        switch (options.symlinks()) {
                            case "skip" -> results.add(new TransferResult(shown, target, 0, 0, 0, null, "skipped-symlink"));
                            case "follow" -> {
                                if (Files.isDirectory(file)) {
                                    walk(file, Path.of(shown), target, items, results);
                                } else if (Files.exists(file)) {
                                    items.add(new Item(file, shown, target, size(file, shown), false));
                                }
                            }
                            default -> {
                                if (dry != null) {
                                    dry.link(target, shown);
                                    return FileVisitResult.CONTINUE;
                                }
                                fs.removeQuietly(target);
                                try {
                                    fs.sftp.symlink(Files.readSymbolicLink(file).toString(), RemotePaths.literal(target));
                                } catch (SftpException e) {
                                    throw fs.failure("cannot create symlink", target, e);
                                }
                                results.add(new TransferResult(shown, target, 0, 0, 0, null, "symlink"));
                            }
                        }
                    } else if (attrs.isRegularFile()) {
                        items.add(new Item(file, shown, target, attrs.size(), false));
                    }
                    return FileVisitResult.CONTINUE;
                }

                /** Joined name by name: a backslash is part of a Unix file name, not a separator. */
                private String remoteFor(Path p) {
                    String remotePath = remoteRoot;
                    for (Path part : root.relativize(p)) {
                        if (!part.toString().isEmpty()) {
                            remotePath = RemotePaths.join(remotePath, part.toString());
                        }
                    }
                    return remotePath;
                }
            });
        } catch (IOException e) {
            throw new VpsException(VpsException.Kind.CONFIG, "cannot read local folder " + shownRoot + ": " + VpsException.reason(e),
                    "check its permissions", false, e);
        }
    }

    /** Where a real run would resume ITEM from an earlier partial of it (0: from the start). */
    private long resumableFrom(Item item) {
        Earlier earlier = item.size() < RESUME_MIN_BYTES ? null : earlierPartial(item);
        return earlier == null ? 0 : earlier.offset();
    }

    /** Creates the remote folder PATH and any missing above it; a dry run only notes it when it is missing. */
    private void mkdirs(String path) {
        if (dry == null) {
            fs.mkdirs(path);
        } else if (!fs.isDirectory(path)) {
            dry.folder(path);
        }
    }

    /** An earlier partial of this file that is ours and holds OFFSET bytes of it already. */
    private record Earlier(String path, SftpWriter.Attrs attrs, long offset) {}

    /**
     * Sends one file to a new partial name, or resumes a verified prefix of an earlier partial that is ours.
     * Only a file big enough to be worth resuming is looked for: small files cost no extra round trip.
     */
    private Pending send(Item item, InputStream stdin, SftpWriter.Final last) {
        Earlier earlier = item.stdin() || item.size() < RESUME_MIN_BYTES ? null : earlierPartial(item);
        if (earlier != null) {
            try {
                return sendStriped(item, earlier.path(), earlier.attrs(), earlier.offset(), last);
            } catch (SftpWriter.NotOurs | StripedUpload.NoLanes e) {
                // It changed since it was checked (left alone), or no lane could open: start afresh.
            }
        }
        String partial = RemotePaths.newPartial(item.remote());
        if (!item.stdin() && item.size() >= StripedUpload.MIN_BYTES) {
            try {
                return sendStriped(item, partial, null, 0, last);
            } catch (StripedUpload.NoLanes e) {
                // The server allows no channel beside the SFTP one (MaxSessions 1): all of it over one channel (nothing was created).
            } catch (SftpWriter.NotOurs e) {
                throw replaced(e.path);
            }
        }
        return sendWhole(item, partial, stdin, last);
    }

    /**
     * What the file gets before its handle closes. Replacing a regular file keeps its mode and owner (a 0600 secret
     * stays 0600; the owner is asked for, and only root may give a file away); a new file, or any with --preserve,
     * takes the local mode (0644 from stdin), and --preserve the local times. EXISTING: the target as lstat tells it.
     */
    private SftpWriter.Final finalAttributes(Item item, SftpATTRS existing) {
        if (existing != null && existing.isReg() && !options.preserve()) {
            boolean owned = (existing.getFlags() & SftpATTRS.SSH_FILEXFER_ATTR_UIDGID) != 0;
            return new SftpWriter.Final(existing.getPermissions() & 07777, owned ? existing.getUId() : -1, owned ? existing.getGId() : -1, -1, -1);
        }
        int mode = item.stdin() ? 0644 : PosixModes.of(item.local());
        if (!options.preserve() || item.stdin()) {
            return new SftpWriter.Final(mode, -1, -1, -1, -1);
        }
        try {
            BasicFileAttributes times = Files.readAttributes(item.local(), BasicFileAttributes.class);
            return new SftpWriter.Final(mode, -1, -1, times.lastAccessTime().to(TimeUnit.SECONDS), times.lastModifiedTime().to(TimeUnit.SECONDS));
        } catch (IOException e) {
            throw new VpsException(VpsException.Kind.CONFIG, "cannot read the time of " + local(item), "check the local file", false, e);
        }
    }

    /** Sends all of ITEM through the writer channel into PARTIAL, created here (exclusively, 0600) and written through that one handle, which sets LAST. */
    private Pending sendWhole(Item item, String partial, InputStream stdin, SftpWriter.Final last) {
        long sent = 0;
        try (InputStream in = item.stdin() ? stdin : Files.newInputStream(item.local());
             BackgroundDigest digest = new BackgroundDigest()) {
            SftpWriter out = writer(item.remote());
            try {
                try {
                    out.create(partial);
                } catch (SftpException e) {
                    dropWriter();
                    throw fs.failure("cannot write", partial, e);
                }
                byte[] buf = new byte[256 * 1024];
                for (int n; (n = in.read(buf)) >= 0; sent += n) {
                    digest.update(buf, 0, n);
                    out.write(0, sent, buf, 0, n, SftpWriter.NOBODY);
                    progress.add(n);
                }
                out.finish(SftpWriter.NOBODY, last);
            } catch (SftpException e) {
                dropWriter();
                throw writeFailure(item, partial, new IOException(e.getMessage(), e));
            } catch (IOException e) {
                dropWriter();
                throw writeFailure(item, partial, e);
            } catch (RuntimeException e) {
                dropWriter();   // e.g. the holder's client went away: the channel is mid-request
                throw e;
            } finally {
                makeRoomAgain();
            }
            return new Pending(item, partial, digest.hex(), sent, 0);
        } catch (IOException e) {
            throw new VpsException(VpsException.Kind.CONFIG, "cannot read " + local(item) + ": " + VpsException.reason(e), "check the local file", false, e);
        }
    }

    /**
     * The channel whole files are written through: one for the run, opened on the first file. A server that allows
     * one channel at a time (MaxSessions 1) gets the file system's channel closed while a file is written.
     */
    private SftpWriter writer(String forTarget) {
        if (writer != null) {
            return writer;
        }
        int depth = SftpWriter.inFlightFor(fs.fastestReplyNanos());
        try {
            writer = SftpWriter.connect(fs.connection, depth);
            return writer;
        } catch (IOException refused) {
            if (!fs.connection.isConnected()) {
                throw fs.connection.lost(refused);
            }
        }
        fs.sftp.disconnect();
        roomMade = true;
        for (int tried = 1; ; tried++) {
            try {
                writer = SftpWriter.connect(fs.connection, depth);
                return writer;
            } catch (IOException refused) {
                // The server frees the slot a moment after the channel closed: a few quick tries.
                if (tried == 10 || !fs.connection.isConnected()) {
                    makeRoomAgain();
                    throw new VpsException(VpsException.Kind.NETWORK, "the server refused a channel to write " + forTarget + " (" + refused.getMessage() + ")",
                            "it may be at its MaxSessions limit: retry when fewer commands run at once", true, refused);
                }
                pause(50);
            }
        }
    }

    /** After a file written with the file system's channel closed (MaxSessions 1): the writer goes, that channel comes back. */
    private void makeRoomAgain() {
        if (!roomMade) {
            return;
        }
        roomMade = false;
        dropWriter();
        for (int tried = 1; ; tried++) {
            try {
                fs.reopen();
                return;
            } catch (VpsException refused) {
                // The server frees the writer's slot a moment after its channel closed: a few quick tries.
                if (tried == 10 || !fs.connection.isConnected()) {
                    throw refused;
                }
                pause(50);
            }
        }
    }

    private void dropWriter() {
        if (writer != null) {
            writer.close();
            writer = null;
        }
    }

    /**
     * A large file (or any resumed one) goes over several channels, each writing its chunks in place into PARTIAL:
     * created there when EARLIER is null, else the checked earlier partial, kept up to OFFSET and overwritten from there.
     * Its first lane's handle sets LAST once every lane has written its part.
     */
    private Pending sendStriped(Item item, String partial, SftpWriter.Attrs earlier, long offset, SftpWriter.Final last) throws SftpWriter.NotOurs {
        dropWriter();   // its channel would take a slot a lane can use
        try (InputStream in = Files.newInputStream(item.local()); BackgroundDigest digest = new BackgroundDigest()) {
            byte[] buf = new byte[256 * 1024];
            for (long skipped = 0; skipped < offset; ) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, offset - skipped));
                if (n < 0) {
                    throw new IOException("the local file shrank while it was being sent");
                }
                digest.update(buf, 0, n);
                skipped += n;
            }
            try {
                int depth = SftpWriter.inFlightFor(fs.fastestReplyNanos());
                StripedUpload.send(fs.connection, partial, earlier, in, offset, item.size(), depth, digest, progress, last);
            } catch (SftpWriter.NotOurs e) {
                throw e;
            } catch (SftpException e) {
                throw writeFailure(item, partial, new IOException(e.getMessage(), e));
            } catch (IOException e) {
                throw writeFailure(item, partial, e);
            }
            return new Pending(item, partial, digest.hex(), item.size() - offset, offset);
        } catch (SftpWriter.NotOurs e) {
            throw e;
        } catch (IOException e) {
            throw new VpsException(VpsException.Kind.CONFIG, "cannot read " + local(item) + ": " + VpsException.reason(e), "check the local file", false, e);
        }
    }

    /**
     * The earlier partial of ITEM to resume, if one is ours: a regular file (not a link) of the login user's, with
     * one link and mode 0600, no larger than the file, whose prefix still matches (see resumableOffset). Anything
     * else at a partial name is left alone; our own partial that no longer matches is removed.
     */
    private Earlier earlierPartial(Item item) {
        RemoteFs.Partials found = fs.partialsStartingWith(RemotePaths.partialPrefix(item.remote()));
        if (found == null) {
            return null;
        }
        RemoteFs.FileFacts best = null;
        for (RemoteFs.FileFacts f : found.files()) {
            boolean ours = f.uid() == found.loginUid() && f.links() == 1 && (f.mode() & 0170000) == 0100000 && (f.mode() & 07777) == SftpWriter.PRIVATE;
            if (ours && f.size() > 0 && f.size() <= item.size() && (best == null || f.size() > best.size())) {
                best = f;
            }
        }
        if (best == null) {
            return null;
        }
        long offset = resumableOffset(item, best.path(), best.size());
        if (offset == 0) {
            if (dry == null) {
                fs.removeQuietly(best.path());
            }
            return null;
        }
        return new Earlier(best.path(), new SftpWriter.Attrs(best.size(), best.uid(), best.mode(), -1, best.mtime()), offset);
    }

    /**
     * How much of an existing partial can be kept: its bytes below (its size - StripedUpload.LOOKAHEAD) were
     * all written before it stopped, so that prefix is checked as one hash and the rest block by block (a
     * striped upload may have left holes there); the first block that differs is where sending resumes.
     */
    private long resumableOffset(Item item, String partial, long size) {
        int block = StripedUpload.CHUNK;
        long prefix = Math.max(0, size - StripedUpload.LOOKAHEAD) / block * block;
        int blocks = (int) ((size - prefix) / block);
        List<String> remote = fs.sha256OfPrefixAndBlocks(partial, prefix, block, blocks);
        if (remote == null) {
            return 0;
        }
        try (InputStream in = Files.newInputStream(item.local())) {
            MessageDigest d = Sha256.digest();
            Sha256.feed(d, in, prefix);
            if (!Sha256.hex(d).equals(remote.get(0))) {
                return 0;
            }
            long have = prefix;
            for (int i = 1; i <= blocks; i++, have += block) {
                MessageDigest b = Sha256.digest();
                Sha256.feed(b, in, block);
                if (!Sha256.hex(b).equals(remote.get(i))) {
                    break;
                }
            }
            return have;
        } catch (IOException e) {
            return 0;
        }
    }

    /** Something other than our partial was put at its name while we opened it (another user can write the folder). */
    private VpsException replaced(String partial) {
        return remoteError("the partial file " + partial + " on " + fs.connection.target.host() + " was replaced by a file that is not ours"
                + " while it was being opened; nothing was written to it and the target was not touched",
                "another user of the server can write to " + RemotePaths.parent(partial) + ": upload into a folder only you can write");
    }

    /** A write that failed: a full disk gets the partial removed (it frees space); a cut link keeps it for the rerun. */
    private VpsException writeFailure(Item item, String partial, IOException e) {
        if (!fs.alive()) {
            return new VpsException(VpsException.Kind.NETWORK, "the connection was lost while sending " + local(item) + " to " + item.remote(),
                    "rerun the same command: it resumes from the part already sent (" + partial + "); the target was not touched", true, e);
        }
        SftpException cause = e.getCause() instanceof SftpException s ? s : new SftpException(ChannelSftp.SSH_FX_FAILURE, e.getMessage());
        VpsException failure = fs.failure("cannot write", item.remote(), cause);
        fs.reopen();
        fs.removeQuietly(partial);
        return failure;
    }

    /** Verifies a batch with one hashing command, then renames each file into place. */
    private void finish(List<Pending> batch, List<TransferResult> results) {
        if (batch.isEmpty()) {
            return;
        }
        List<String> hashes = options.verify() ? fs.sha256(batch.stream().map(Pending::partial).toList(), batch.stream().map(p -> p.item().size()).toList(), true) : null;
        for (int i = 0; i < batch.size(); i++) {
            Pending p = batch.get(i);
            if (options.verify()) {
                String remoteHash = hashes != null ? hashes.get(i) : fs.sha256ByReading(p.partial());
                if (!p.sha256().equals(remoteHash)) {
                    fs.removeQuietly(p.partial());
                    throw remoteError("verification failed for " + p.item().remote() + ": sent SHA-256 " + p.sha256()
                            + " but the server has " + remoteHash + "; the target was not touched", "retry; if it repeats, check the server's disk");
                }
            }
            fs.replace(p.partial(), p.item().remote());
            long size = p.item().stdin() ? p.sent() : p.item().size();
            results.add(new TransferResult(local(p.item()), p.item().remote(), size, p.sent(), p.resumedFrom(), p.sha256(), "done"));
        }
    }

    private static long size(Path p, String shown) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            throw new VpsException(VpsException.Kind.CONFIG, "cannot read " + shown + ": " + VpsException.reason(e), "check the local file", false, e);
        }
    }

    private static String local(Item item) {
        return item.shown();
    }

    private static void pause(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static VpsException remoteError(String message, String hint) {
        return new VpsException(VpsException.Kind.REMOTE, message, hint, false, null);
    }

}
