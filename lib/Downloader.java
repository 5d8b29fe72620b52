import com.jcraft.jsch.ChannelSftp;
import com.jcraft.jsch.SftpATTRS;
import com.jcraft.jsch.SftpException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

/**
 * sftp-get: each file is written to a hidden partial name beside its local target, verified
 * against the server's SHA-256, and moved into place atomically; a rerun resumes a partial whose
 * prefix still matches. Remote globs are expanded by SFTP, never by a shell.
 */
final class Downloader {
    private static final int BATCH = 200;

    private record Item(String remote, Path local, long size, int mode, int mtime, boolean stdout) {}

    private record Pending(Item item, Path partial, String sha256, long received, long resumedFrom) {}

    private final RemoteFs fs;
    private final Uploader.Options options;
    private final PrintStream err;
    private TransferProgress progress;

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
                for (Item item : slice) {
                    if (!item.stdout() && options.noClobber() && Files.exists(item.local())) {
                        results.add(new TransferResult(item.local().toString(), item.remote(), item.size(), 0, 0, null, "exists"));
                        continue;
                    }
                    batch.add(receive(item, stdout));
                }
                finish(batch, slice, options.verify() ? hashesOf(slice, remoteHashes) : null, results);
            }
        }
        return results;
    }

    private void plan(List<String> sources, String local, List<Item> items, List<TransferResult> results) {
        List<String> remotes = new ArrayList<>();
        for (String s : sources) {
            remotes.addAll(RemotePaths.hasGlob(s) ? glob(s) : List.of(s));
        }
        if (local.equals("-")) {
            if (remotes.size() != 1) {
                throw VpsException.config("'-' (stdout) takes exactly one remote file, not " + remotes.size(), "name a single file");
            }
            SftpATTRS a = requireFile(remotes.get(0));
            items.add(new Item(remotes.get(0), null, a.getSize(), a.getPermissions(), a.getMTime(), true));
            return;
        }
        Path dest = Path.of(local);
        boolean destIsDir = Files.isDirectory(dest) || local.endsWith("/") || local.endsWith(java.io.File.separator) || remotes.size() > 1;
        Path parent = destIsDir ? dest : dest.toAbsolutePath().getParent();
        if (!Files.isDirectory(parent)) {
            if (!options.mkdir()) {
                throw VpsException.config("local folder " + parent + " does not exist", "create it first, or pass --mkdir");
            }
            createDirectories(parent);
        }
        for (String remote : remotes) {
            SftpATTRS a = fs.stat(remote);
            if (a == null) {
                throw new VpsException(VpsException.Kind.REMOTE, "remote file " + remote + " does not exist on " + fs.connection.target.host(),
                        "check the path (relative paths start in the login folder); nothing was changed here", false, null);
            }
            Path target = destIsDir ? dest.resolve(RemotePaths.name(remote)) : dest;
            if (a.isDir()) {
                walk(remote, target, items, results);
            } else {
                items.add(new Item(remote, target, a.getSize(), a.getPermissions(), a.getMTime(), false));
            }
        }
    }

    private List<String> glob(String pattern) {
        List<String> matches = new ArrayList<>();
        try {
            for (ChannelSftp.LsEntry e : fs.sftp.ls(pattern)) {
                if (!e.getFilename().equals(".") && !e.getFilename().equals("..")) {
                    matches.add(RemotePaths.join(RemotePaths.parent(pattern), e.getFilename()));
                }
            }
        } catch (SftpException e) {
            throw fs.failure("cannot list", pattern, e);
        }
        if (matches.isEmpty()) {
            throw new VpsException(VpsException.Kind.REMOTE, "no remote file matches " + pattern, "check the pattern", false, null);
        }
        matches.sort(null);
        return matches;
    }

    private void walk(String remoteDir, Path localDir, List<Item> items, List<TransferResult> results) {
        createDirectories(localDir);
        List<ChannelSftp.LsEntry> entries;
        try {
            entries = new ArrayList<>(fs.sftp.ls(RemotePaths.literal(remoteDir)));
        } catch (SftpException e) {
            throw fs.failure("cannot list", remoteDir, e);
        }
        entries.sort((a, b) -> a.getFilename().compareTo(b.getFilename()));
        for (ChannelSftp.LsEntry e : entries) {
            String name = e.getFilename();
            if (name.equals(".") || name.equals("..")) {
                continue;
            }
            String remote = RemotePaths.join(remoteDir, name);
            Path local = localDir.resolve(name);
            SftpATTRS a = e.getAttrs();
            if (a.isLink()) {
                switch (options.symlinks()) {
                    case "skip" -> results.add(new TransferResult(local.toString(), remote, 0, 0, 0, null, "skipped-symlink"));
                    case "follow" -> {
                        SftpATTRS target = fs.stat(remote);
                        if (target != null && target.isDir()) {
                            walk(remote, local, items, results);
                        } else if (target != null) {
                            items.add(new Item(remote, local, target.getSize(), target.getPermissions(), target.getMTime(), false));
                        }
                    }
                    default -> {
                        try {
                            Files.deleteIfExists(local);
                            Files.createSymbolicLink(local, Path.of(fs.sftp.readlink(RemotePaths.literal(remote))));
                        } catch (SftpException ex) {
                            throw fs.failure("cannot read symlink", remote, ex);
                        } catch (IOException ex) {
                            throw localError("cannot create symlink " + local, ex);
                        }
                        results.add(new TransferResult(local.toString(), remote, 0, 0, 0, null, "symlink"));
                    }
                }
            } else if (a.isDir()) {
                walk(remote, local, items, results);
            } else if (a.isReg()) {
                items.add(new Item(remote, local, a.getSize(), a.getPermissions(), a.getMTime(), false));
            }
        }
    }

    /** Its own thread: the common pool has one thread on two cores, and a holder's downloads must not queue behind each other. */
    private static void ownThread(Runnable r) {
        Thread t = new Thread(r, "vps-remote-hash");
        t.setDaemon(true);
        t.start();
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

    private Pending receive(Item item, OutputStream stdout) {
        Path partial = item.stdout() ? null : item.local().resolveSibling("." + item.local().getFileName() + ".vps-partial");
        if (partial == null) {
            return receiveLocked(item, stdout, null);
        }
        // Two runs resuming the same partial would interleave their bytes: one at a time.
        Path lockFile = partial.resolveSibling(partial.getFileName() + ".lock");
        try (java.nio.channels.FileChannel lock = java.nio.channels.FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             java.nio.channels.FileLock held = lock.tryLock()) {
            if (held == null) {
                throw new VpsException(VpsException.Kind.CONFIG, "another transfer is writing " + item.local() + " right now",
                        "wait for it to finish, then rerun if needed", true, null);
            }
            return receiveLocked(item, stdout, partial);
        } catch (IOException e) {
            throw localError("cannot lock " + lockFile, e);
        } finally {
            deleteQuietly(lockFile);
        }
    }

    private Pending receiveLocked(Item item, OutputStream stdout, Path partial) {
        long offset = item.stdout() ? 0 : resumableOffset(item, partial);
        long received = 0;
        byte[] buf = new byte[256 * 1024];
        try (BackgroundDigest digest = new BackgroundDigest()) {
            if (offset > 0) {
                try (InputStream have = Files.newInputStream(partial)) {
                    int n;
                    while ((n = have.read(buf)) >= 0) {
                        digest.update(buf, 0, n);
                    }
                }
            }
            OutputStream out = item.stdout() ? stdout : Files.newOutputStream(partial,
                    offset > 0 ? new StandardOpenOption[] {StandardOpenOption.APPEND} : new StandardOpenOption[] {
                        StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE});
            if (!item.stdout() && offset == 0) {
                PosixModes.set(partial, 0600);   // private until complete
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
                if (item.stdout()) {
                    out.flush();
                } else {
                    out.close();
                }
            }
            return new Pending(item, partial, digest.hex(), received, offset);
        } catch (IOException e) {
            throw localError("cannot write " + (item.stdout() ? "stdout" : partial.toString()), e);
        }
    }

    private long resumableOffset(Item item, Path partial) {
        try {
            if (!Files.isRegularFile(partial) || item.size() < Uploader.RESUME_MIN_BYTES) {
                return 0;
            }
            long have = Files.size(partial);
            if (have == 0 || have > item.size()) {
                return 0;
            }
            String remoteHash = fs.sha256OfPrefix(item.remote(), have);
            MessageDigest d = Sha256.digest();
            try (InputStream in = Files.newInputStream(partial)) {
                Sha256.feed(d, in, have);
            }
            return Sha256.hex(d).equals(remoteHash) ? have : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    private VpsException readFailure(Item item, Path partial, IOException e) {
        if (!fs.alive()) {
            return new VpsException(VpsException.Kind.NETWORK, "the connection was lost while receiving " + item.remote(),
                    item.stdout() ? "rerun the command; stdout got a partial copy" :
                            "rerun the same command: it resumes from the part already received (" + partial + "); the target was not touched", true, e);
        }
        return fs.failure("cannot read", item.remote(), new SftpException(ChannelSftp.SSH_FX_FAILURE, e.getMessage()));
    }

    private void finish(List<Pending> batch, List<Item> slice, List<String> hashes, List<TransferResult> results) {
        for (Pending p : batch) {
            if (options.verify()) {
                String remoteHash = hashes != null ? hashes.get(slice.indexOf(p.item())) : fs.sha256ByReading(p.item().remote());
                if (!p.sha256().equals(remoteHash)) {
                    if (p.partial() != null) {
                        deleteQuietly(p.partial());
                    }
                    throw new VpsException(VpsException.Kind.REMOTE, "verification failed for " + p.item().remote() + ": received SHA-256 "
                            + p.sha256() + " but the server has " + remoteHash + (p.item().stdout() ? "" : "; the local target was not touched"),
                            "the file may have changed during the transfer; retry", false, null);
                }
            }
            if (!p.item().stdout()) {
                install(p);
            }
            String local = p.item().stdout() ? "-" : p.item().local().toString();
            results.add(new TransferResult(local, p.item().remote(), p.item().size(), p.received(), p.resumedFrom(), p.sha256(), "done"));
        }
    }

    /** Keeps an existing target's mode; a new file takes the remote mode (as scp does); then the atomic move. */
    private void install(Pending p) {
        Path target = p.item().local();
        try {
            if (Files.exists(target) && !options.preserve()) {
                Files.setPosixFilePermissions(p.partial(), Files.getPosixFilePermissions(target));
            } else {
                PosixModes.set(p.partial(), p.item().mode() & 0777);
            }
            if (options.preserve()) {
                Files.setLastModifiedTime(p.partial(), FileTime.fromMillis(p.item().mtime() * 1000L));
            }
            Files.move(p.partial(), target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (UnsupportedOperationException ignored) {
            moveQuietly(p.partial(), target);
        } catch (IOException e) {
            throw localError("cannot move " + p.partial() + " to " + target, e);
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
            throw localError("cannot move " + from + " to " + to, e);
        }
    }

    private static void createDirectories(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw localError("cannot create local folder " + dir, e);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort
        }
    }

    private static VpsException localError(String what, IOException e) {
        return new VpsException(VpsException.Kind.CONFIG, what + ": " + e.getMessage(), "check the local disk and permissions", false, e);
    }
}
