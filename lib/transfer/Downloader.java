import com.jcraft.jsch.ChannelSftp;
import com.jcraft.jsch.SftpATTRS;
import com.jcraft.jsch.SftpException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * sftp-get: each file is written to a private partial file beside its local target, verified
 * against the server's SHA-256, and moved into place atomically; a rerun resumes a partial whose
 * prefix still matches. Remote globs are expanded by SFTP, never by a shell.
 *
 * The server is not trusted with local paths (DESIGN §9): a name it sends must be one plain path
 * component or that entry is refused; nothing under the destination is written through a link,
 * whoever made it; a remote symlink is recreated only when it points inside the destination.
 */
final class Downloader {
    private static final int BATCH = 200;
    /** With --links follow, links to folders followed inside one another at most: a server whose realpath does not resolve links hides a loop. */
    private static final int MAX_FOLLOWED = 16;

    private record Item(String remote, Path local, long size, int mode, int mtime, boolean stdout) {}

    private record Pending(Item item, LocalTree.Partial partial, String sha256, long received, long resumedFrom) {}

    private final RemoteFs fs;
    private final Uploader.Options options;
    private final PrintStream err;
    private TransferProgress progress;
    /** The destination folder: every local path this run writes lies under it, reached through real folders only. */
    private LocalTree tree;
    /** The destination as it is opened, and as the user wrote it (what results name). */
    private Path dest;
    private Path destAsWritten;
    /** With --dry-run: where the folders, links and files go instead of the local disk. */
    private TransferPlan dry;

    Downloader(RemoteFs fs, Uploader.Options options, PrintStream err) {
        this.fs = fs;
        this.options = options;
        this.err = err;
    }

    List<TransferResult> download(List<String> sources, String local, OutputStream stdout, boolean quiet) {
        List<Item> items = new ArrayList<>();
        List<TransferResult> results = new ArrayList<>();
        plan(sources, local, items, results);
        long total = items.stream().mapToLong(Item::size).sum();
        try (TransferProgress p = new TransferProgress("get", total, err, quiet)) {
            progress = p;
            for (int i = 0; i < items.size(); i += BATCH) {
                List<Item> slice = items.subList(i, Math.min(items.size(), i + BATCH));
                // The server hashes its files while they travel: verification then costs no extra wall time.
                java.util.concurrent.CompletableFuture<List<String>> remoteHashes = options.verify()
                        ? java.util.concurrent.CompletableFuture.supplyAsync(() -> fs.sha256(remotes(slice), sizes(slice), false),
                                Downloader::ownThread)
                        : java.util.concurrent.CompletableFuture.completedFuture(null);
                List<Pending> batch = new ArrayList<>();
                try {
                    for (Item item : slice) {
                        if (!item.stdout() && options.noClobber() && Files.exists(item.local(), LinkOption.NOFOLLOW_LINKS)) {
                            results.add(new TransferResult(shown(item.local()), item.remote(), item.size(), 0, 0, null, "exists"));
                            continue;
                        }
                        batch.add(receive(item, stdout));
                    }
                    finish(batch, slice, options.verify() ? hashesOf(slice, remoteHashes) : null, results);
                } finally {
                    batch.forEach(pending -> closeQuietly(pending.partial()));
                }
            }
        }
        return results;
    }

    /** --dry-run: what {@link #download} would do, found by reading both sides; nothing is written here. */
    TransferPlan plan(List<String> sources, String local) {
        if (local.equals("-")) {
            throw VpsException.config("--dry-run plans files, and '-' (stdout) is none", "give a local path to plan");
        }
        dry = new TransferPlan(false);
        List<Item> items = new ArrayList<>();
        List<TransferResult> results = new ArrayList<>();
        plan(sources, local, items, results);
        results.forEach(dry::noted);
        items.forEach(i -> dry.file(shown(i.local()), i.remote(), i.local(), i.remote(), i.size(), 0));
        return dry.decide(fs, options.noClobber());
    }

    private void plan(List<String> sources, String local, List<Item> items, List<TransferResult> results) {
        List<String> remotes = new ArrayList<>();
        for (String s : sources) {
            remotes.addAll(RemotePaths.hasGlob(s) ? glob(s, local, results) : List.of(s));
        }
        if (local.equals("-")) {
            if (remotes.size() != 1) {
                throw VpsException.config("'-' (stdout) takes exactly one remote file, not " + remotes.size(), "name a single file");
            }
            SftpATTRS a = requireFile(remotes.get(0));
            items.add(new Item(remotes.get(0), null, a.getSize(), a.getPermissions(), a.getMTime(), true));
            return;
        }
        dest = Environment.resolve(local);
        destAsWritten = Path.of(local);
        boolean destIsDir = Files.isDirectory(dest) || local.endsWith("/") || local.endsWith(java.io.File.separator) || remotes.size() > 1;
        Path parent = destIsDir ? dest : dest.toAbsolutePath().getParent();
        if (!Files.isDirectory(parent)) {
            // A destination written as a folder (ending in /) is one to create, as with --mkdir.
            boolean namedAsFolder = local.endsWith("/") || local.endsWith(java.io.File.separator);
            if (!options.mkdir() && !namedAsFolder) {
                throw VpsException.config("local folder " + parent + " does not exist", "create it first, or pass --mkdir");
            }
            if (dry == null) {
                createDirectories(parent);
            } else {
                dry.folder(shown(parent));
            }
        }
        tree = new LocalTree(parent);
        for (String remote : remotes) {
            SftpATTRS a = fs.stat(remote);
            if (a == null) {
                throw new VpsException(VpsException.Kind.REMOTE, "remote file " + remote + " does not exist on " + fs.connection.target.host(),
                        "check the path (relative paths start in the login folder); nothing was changed here", false, null);
            }
            Path target = destIsDir ? dest.resolve(RemotePaths.name(remote)) : dest;
            if (a.isDir()) {
                walk(remote, target, items, results, Set.of(), 0);
            } else {
                items.add(new Item(remote, target, a.getSize(), a.getPermissions(), a.getMTime(), false));
            }
        }
    }

    private List<String> glob(String pattern, String local, List<TransferResult> results) {
        List<String> matches = new ArrayList<>();
        try {
            for (ChannelSftp.LsEntry e : fs.sftp.ls(pattern)) {
                String name = e.getFilename();
                if (isSelfOrParent(e)) {
                    continue;
                }
                if (LocalTree.unsafeName(name)) {
                    results.add(refused(RemotePaths.parent(pattern), name, local));
                } else {
                    matches.add(RemotePaths.join(RemotePaths.parent(pattern), name));
                }
            }
        } catch (SftpException e) {
            throw fs.failure("cannot list", pattern, e);
        }
        if (matches.isEmpty() && results.isEmpty()) {
            throw new VpsException(VpsException.Kind.REMOTE, "no remote file matches " + pattern, "check the pattern", false, null);
        }
        matches.sort(null);
        return matches;
    }

    /**
     * A remote folder, entry by entry. ABOVE holds the server's real paths of the folders above this
     * one, kept only with --links follow: a link back to one of them would copy the tree forever;
     * FOLLOWED counts the links to folders followed on the way here.
     */
    private void walk(String remoteDir, Path localDir, List<Item> items, List<TransferResult> results, Set<String> above, int followed) {
        Set<String> chain = above;
        if (options.symlinks().equals("follow")) {
            String real = realpath(remoteDir);
            if (above.contains(real)) {
                results.add(new TransferResult(shown(localDir), remoteDir, 0, 0, 0, null, "skipped-symlink", "it leads back to a folder above it (a loop)"));
                return;
            }
            chain = new HashSet<>(above);
            chain.add(real);
        }
        if (dry == null) {
            tree.folder(localDir);
        } else if (!Files.isDirectory(localDir, LinkOption.NOFOLLOW_LINKS)) {
            dry.folder(shown(localDir));
        }
        List<ChannelSftp.LsEntry> entries;
        try {
            entries = new ArrayList<>(fs.sftp.ls(RemotePaths.literal(remoteDir)));
        } catch (SftpException e) {
            throw fs.failure("cannot list", remoteDir, e);
        }
        entries.sort((a, b) -> a.getFilename().compareTo(b.getFilename()));
        for (ChannelSftp.LsEntry e : entries) {
            String name = e.getFilename();
            if (isSelfOrParent(e)) {
                continue;
            }
            if (LocalTree.unsafeName(name)) {
                results.add(refused(remoteDir, name, shown(localDir)));
                continue;
            }
            String remote = RemotePaths.join(remoteDir, name);
            Path local = localDir.resolve(name);
            SftpATTRS a = e.getAttrs();
            if (a.isLink()) {
                link(remote, local, items, results, chain, followed);
            } else if (a.isDir()) {
                walk(remote, local, items, results, chain, followed);
            } else if (a.isReg()) {
                items.add(new Item(remote, local, a.getSize(), a.getPermissions(), a.getMTime(), false));
            }
        }
    }

    /**
     * The "." and ".." every listing has, passed over unused (some servers describe them as links when
     * the folder was reached through one); a regular file under those names is refused as any unsafe name.
     */
    private static boolean isSelfOrParent(ChannelSftp.LsEntry e) {
        return (e.getFilename().equals(".") || e.getFilename().equals("..")) && !e.getAttrs().isReg();
    }

    /** LOCAL, a path under the destination, as the user would write it. */
    private String shown(Path local) {
        return local.startsWith(dest) ? destAsWritten.resolve(dest.relativize(local)).toString() : local.toString();
    }

    private TransferResult refused(String remoteDir, String name, String localDir) {
        String shown = TransferResult.printable(name);
        return new TransferResult(localDir, RemotePaths.join(remoteDir, shown), 0, 0, 0, null, "refused",
                "PROTOCOL: the server sent the name \"" + shown + "\" in the listing of " + remoteDir + ", which is not one plain file name");
    }

    /** A symlink inside a remote folder, as --links says: recreated (copy), downloaded as what it points to (follow), or left out (skip). */
    private void link(String remote, Path local, List<Item> items, List<TransferResult> results, Set<String> above, int followed) {
        switch (options.symlinks()) {
            case "skip" -> results.add(new TransferResult(shown(local), remote, 0, 0, 0, null, "skipped-symlink"));
            case "follow" -> {
                SftpATTRS target = fs.stat(remote);
                if (target == null) {
                    results.add(new TransferResult(shown(local), remote, 0, 0, 0, null, "skipped-symlink", "it points to nothing on the server"));
                } else if (target.isDir() && followed == MAX_FOLLOWED) {
                    results.add(new TransferResult(shown(local), remote, 0, 0, 0, null, "skipped-symlink",
                            "more than " + MAX_FOLLOWED + " links to folders inside one another (a loop?)"));
                } else if (target.isDir()) {
                    walk(remote, local, items, results, above, followed + 1);
                } else if (target.isReg()) {
                    items.add(new Item(remote, local, target.getSize(), target.getPermissions(), target.getMTime(), false));
                }
            }
            default -> recreateLink(remote, local, results);
        }
    }

    private void recreateLink(String remote, Path local, List<TransferResult> results) {
        String target;
        try {
            target = fs.sftp.readlink(RemotePaths.literal(remote));
        } catch (SftpException ex) {
            throw fs.failure("cannot read symlink", remote, ex);
        }
        String inside = tree.linkTargetInside(local, target);
        if (inside == null) {
            results.add(new TransferResult(shown(local), remote, 0, 0, 0, null, "skipped-symlink",
                    "its target " + TransferResult.printable(target) + " leads outside " + tree.root + "; use --links follow to download what it points to"));
            return;
        }
        if (dry != null) {
            dry.link(shown(local), remote);
            return;
        }
        try {
            tree.checkParents(local);
            Files.deleteIfExists(local);
            Files.createSymbolicLink(local, Path.of(inside));
        } catch (IOException ex) {
            throw LocalTree.localError("cannot create symlink " + local, ex);
        }
        results.add(new TransferResult(shown(local), remote, 0, 0, 0, null, "symlink"));
    }

    private String realpath(String remoteDir) {
        try {
            return fs.sftp.realpath(RemotePaths.literal(remoteDir));
        } catch (SftpException e) {
            throw fs.failure("cannot resolve", remoteDir, e);
        }
    }

    /** Its own thread: the common pool has one thread on two cores, and concurrent downloads in one process must not queue behind each other. */
    private static void ownThread(Runnable r) {
        Daemons.start("vps-remote-hash", r);
    }

    /** The server's hashes of SLICE: those computed during the transfer, or now when the server refused a channel beside SFTP then. */
    private List<String> hashesOf(List<Item> slice, java.util.concurrent.CompletableFuture<List<String>> during) {
        try {
            return joined(during);
        } catch (VpsException e) {
            if (!fs.refused(e)) {
                throw e;
            }
            return fs.sha256(remotes(slice), sizes(slice), true);
        }
    }

    private static List<String> remotes(List<Item> items) {
        return items.stream().map(Item::remote).toList();
    }

    private static List<Long> sizes(List<Item> items) {
        return items.stream().map(Item::size).toList();
    }

    private static List<String> joined(java.util.concurrent.CompletableFuture<List<String>> hashes) {
        try {
            return hashes.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof VpsException v) {
                throw v;
            }
            throw e;
        }
    }

    /**
     * Receives ITEM into stdout, or into a partial file that stays open and locked (so no other run
     * resumes it) until it is moved into place.
     */
    private Pending receive(Item item, OutputStream stdout) {
        if (item.stdout()) {
            return receive(item, stdout, null, 0);
        }
        LocalTree.Partial partial;
        try {
            partial = tree.partialFor(item.local());
        } catch (IOException e) {
            throw LocalTree.localError("cannot create a partial file beside " + item.local(), e);
        }
        boolean handedOver = false;
        try {
            long offset = resumableOffset(item, partial);
            partial.channel().truncate(offset);
            partial.channel().position(offset);
            Pending pending = receive(item, Channels.newOutputStream(partial.channel()), partial, offset);
            handedOver = true;
            return pending;
        } catch (IOException e) {
            throw LocalTree.localError("cannot write " + partial.path(), e);
        } finally {
            if (!handedOver) {
                closeQuietly(partial);   // left for a rerun to resume
            }
        }
    }

    private Pending receive(Item item, OutputStream out, LocalTree.Partial partial, long offset) {
        long received = 0;
        byte[] buf = new byte[256 * 1024];
        try (BackgroundDigest digest = new BackgroundDigest()) {
            if (offset > 0) {
                InputStream have = Channels.newInputStream(partial.channel().position(0));   // not closed: that would close the channel
                long left = offset;
                int n;
                while (left > 0 && (n = have.read(buf, 0, (int) Math.min(buf.length, left))) >= 0) {
                    digest.update(buf, 0, n);
                    left -= n;
                }
                partial.channel().position(offset);
            }
            InputStream in;
            try {
                in = fs.sftp.get(RemotePaths.literal(item.remote()), null, offset);
            } catch (SftpException e) {
                throw fs.failure("cannot read", item.remote(), e);
            }
            try (in) {
                int n;
                while (true) {
                    try {
                        n = in.read(buf);
                    } catch (IOException e) {
                        throw readFailure(item, partial, e);
                    }
                    if (n < 0) {
                        break;
                    }
                    digest.update(buf, 0, n);
                    out.write(buf, 0, n);
                    received += n;
                    progress.add(n);
                }
            } finally {
                out.flush();
            }
            return new Pending(item, partial, digest.hex(), received, offset);
        } catch (IOException e) {
            throw LocalTree.localError("cannot write " + (item.stdout() ? "stdout" : partial.path().toString()), e);
        }
    }

    /** How much of PARTIAL is a verified prefix of the remote file (0: start over). */
    private long resumableOffset(Item item, LocalTree.Partial partial) {
        try {
            long have = partial.channel().size();
            if (have == 0 || have > item.size() || item.size() < Uploader.RESUME_MIN_BYTES) {
                return 0;
            }
            String remoteHash = fs.sha256OfPrefix(item.remote(), have);
            MessageDigest d = Sha256.digest();
            // Read through the locked channel: closing another descriptor of the file would drop the lock.
            Sha256.feed(d, Channels.newInputStream(partial.channel().position(0)), have);
            return Sha256.hex(d).equals(remoteHash) ? have : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    private VpsException readFailure(Item item, LocalTree.Partial partial, IOException e) {
        if (!fs.alive()) {
            return new VpsException(VpsException.Kind.NETWORK, "the connection was lost while receiving " + item.remote(),
                    item.stdout() ? "rerun the command; stdout got a partial copy" :
                            "rerun the same command: it resumes from the part already received (" + partial.path() + "); the target was not touched", true, e);
        }
        return fs.failure("cannot read", item.remote(), new SftpException(ChannelSftp.SSH_FX_FAILURE, e.getMessage()));
    }

    private void finish(List<Pending> batch, List<Item> slice, List<String> hashes, List<TransferResult> results) {
        for (Pending p : batch) {
            if (options.verify()) {
                String remoteHash = hashes != null ? hashes.get(slice.indexOf(p.item())) : fs.sha256ByReading(p.item().remote());
                if (!p.sha256().equals(remoteHash)) {
                    if (p.partial() != null) {
                        deleteQuietly(p.partial().path());
                    }
                    throw new VpsException(VpsException.Kind.REMOTE, "verification failed for " + p.item().remote() + ": received SHA-256 "
                            + p.sha256() + " but the server has " + remoteHash + (p.item().stdout() ? "" : "; the local target was not touched"),
                            "the file may have changed during the transfer; retry", false, null);
                }
            }
            if (!p.item().stdout()) {
                install(p);
            }
            String local = p.item().stdout() ? "-" : shown(p.item().local());
            results.add(new TransferResult(local, p.item().remote(), p.item().size(), p.received(), p.resumedFrom(), p.sha256(), "done"));
        }
    }

    /**
     * Keeps an existing target's mode; a new file takes the remote mode (as scp does); then the atomic
     * move, which replaces a link at the target's name instead of writing through it. The partial is
     * still locked: no other run can take it up between the last check and the move.
     */
    private void install(Pending p) {
        Path target = p.item().local();
        Path partial = p.partial().path();
        try {
            tree.checkParents(target);
            if (!p.partial().key().equals(LocalTree.identity(partial))) {
                throw new IOException("it is no longer the file this run wrote");
            }
            // By path, not through a descriptor: closing any other descriptor of the file would drop the lock.
            Files.setPosixFilePermissions(partial, !options.preserve() && Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS)
                    ? Files.getPosixFilePermissions(target, LinkOption.NOFOLLOW_LINKS) : PosixModes.permissions(p.item().mode() & 0777));
        } catch (UnsupportedOperationException windows) {
            // NTFS: permissions follow the folder
        } catch (IOException e) {
            throw LocalTree.localError("cannot prepare " + partial + " for " + target, e);
        }
        try {
            Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (UnsupportedOperationException | java.nio.file.AtomicMoveNotSupportedException ignored) {
            moveQuietly(partial, target);
        } catch (IOException e) {
            throw LocalTree.localError("cannot move " + partial + " to " + target, e);
        }
        if (options.preserve()) {
            try {
                Files.getFileAttributeView(target, java.nio.file.attribute.BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                        .setTimes(FileTime.fromMillis(p.item().mtime() * 1000L), null, null);
            } catch (IOException e) {
                throw LocalTree.localError("cannot set the modification time of " + target, e);
            }
        }
    }

    private SftpATTRS requireFile(String remote) {
        SftpATTRS a = fs.stat(remote);
        if (a == null || a.isDir()) {
            throw new VpsException(VpsException.Kind.REMOTE, "remote file " + remote + (a == null ? " does not exist" : " is a folder"),
                    "name a single file for '-'", false, null);
        }
        return a;
    }

    private static void moveQuietly(Path from, Path to) {
        try {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw LocalTree.localError("cannot move " + from + " to " + to, e);
        }
    }

    private static void createDirectories(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw LocalTree.localError("cannot create local folder " + dir, e);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort
        }
    }

    private static void closeQuietly(LocalTree.Partial p) {
        if (p != null) {
            try {
                p.channel().close();   // releases the lock too
            } catch (IOException ignored) {
                // nothing left to flush: the bytes were written or the file is abandoned
            }
        }
    }

}
