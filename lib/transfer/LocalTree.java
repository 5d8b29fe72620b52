import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The local destination folder ROOT and what a download may do under it: make real folders
 * (a link where a folder must be is replaced, never entered), check that a path is reached
 * through real folders only, judge a link's target, and make or find partial files.
 */
final class LocalTree {
    /** A partial file held open and locked by this run; KEY is its identity (device and inode), checked again before it is moved. */
    record Partial(Path path, FileChannel channel, Object key) {}

    /** A local file or folder that cannot be made or written: the user's disk or permissions, not the server. */
    static VpsException localError(String what, IOException e) {
        return new VpsException(VpsException.Kind.CONFIG, what + ": " + VpsException.reason(e), "check the local disk and permissions", false, e);
    }

    /** ".NAME.vps-partial." then 16 random hex digits: unpredictable, and found again by listing the folder. */
    private static final String PARTIAL_INFIX = ".vps-partial.";
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final boolean POSIX = java.nio.file.FileSystems.getDefault().supportedFileAttributeViews().contains("unix");

    final Path root;
    private final Path absoluteRoot;
    /** The partial-looking names of each folder, listed once a run: a big folder is not listed again for every file. */
    private final Map<Path, List<String>> partialNames = new HashMap<>();

    LocalTree(Path root) {
        this.root = root;
        this.absoluteRoot = root.toAbsolutePath().normalize();
    }

    /**
     * A name that is not one plain path component here: empty, ".", "..", or holding "/", NUL, or
     * what this system reads as a separator or a drive (a backslash or "C:" on Windows; on Unix a
     * backslash is an ordinary character, as OpenSSH's sftp treats it).
     */
    static boolean unsafeName(String name) {
        if (name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('/') >= 0 || name.indexOf('\0') >= 0) {
            return true;
        }
        try {
            Path p = Path.of(name);
            return p.isAbsolute() || p.getRoot() != null || p.getNameCount() != 1 || !p.getFileName().toString().equals(name);
        } catch (InvalidPathException e) {
            return true;
        }
    }

    /** The folders from ROOT down to DIR (exclusive of ROOT), outermost first. */
    private List<Path> below(Path dir) {
        Path abs = dir.toAbsolutePath().normalize();
        if (!abs.startsWith(absoluteRoot)) {
            throw new VpsException(VpsException.Kind.PROTOCOL, "refused to write " + dir + ": it is not inside " + root,
                    "this is a bug or a hostile server; nothing was written there", false, null);
        }
        List<Path> chain = new ArrayList<>();
        Path p = absoluteRoot;
        for (Path part : absoluteRoot.relativize(abs)) {
            if (!part.toString().isEmpty()) {
                p = p.resolve(part);
                chain.add(p);
            }
        }
        return chain;
    }

    /** Makes DIR and the folders above it (under ROOT) real folders: a link there, whoever made it, is replaced, never followed. */
    void folder(Path dir) {
        for (Path p : below(dir)) {
            try {
                BasicFileAttributes a = attributes(p);
                if (a != null && a.isSymbolicLink()) {
                    Files.delete(p);   // removes the link itself, never what it points to
                    a = null;
                }
                if (a == null) {
                    Files.createDirectory(p);
                    a = attributes(p);
                }
                if (a == null || !a.isDirectory()) {
                    throw localError("cannot create local folder " + p, new IOException("a file (or a link made meanwhile) is in the way"));
                }
            } catch (FileAlreadyExistsException e) {
                throw localError("cannot create local folder " + p, new IOException("something else was created there meanwhile"));
            } catch (IOException e) {
                throw localError("cannot create local folder " + p, e);
            }
        }
    }

    /** Throws unless every folder between ROOT and FILE is a real folder, not a link. */
    void checkParents(Path file) throws IOException {
        for (Path p : below(file.toAbsolutePath().normalize().getParent())) {
            BasicFileAttributes a = attributes(p);
            if (a == null || !a.isDirectory()) {
                throw new IOException(p + " is " + (a == null ? "gone" : a.isSymbolicLink() ? "a link: not written through" : "not a folder"));
            }
        }
    }

    private static BasicFileAttributes attributes(Path p) throws IOException {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.NoSuchFileException e) {
            return null;
        }
    }

    /**
     * TARGET of a link to be made at LINK, as a relative path that stays inside ROOT whatever
     * links it passes through (each made by this rule): only leading ".." steps, no further up
     * than ROOT, then plain names. Null when it is absolute, leaves ROOT, or is not such a path.
     */
    String linkTargetInside(Path link, String target) {
        if (target == null || target.isEmpty() || target.startsWith("/") || target.indexOf('\0') >= 0) {
            return null;
        }
        int depth = below(link.toAbsolutePath().normalize().getParent()).size();
        List<String> parts = new ArrayList<>();
        int up = 0;
        for (String part : target.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                if (!parts.isEmpty()) {
                    return null;   // a ".." after a name may climb out of wherever a link in between leads
                }
                up++;
            } else if (unsafeName(part)) {
                return null;
            } else {
                parts.add(part);
            }
        }
        if (up > depth) {
            return null;
        }
        if (up == 0 && parts.isEmpty()) {
            return ".";
        }
        List<String> all = new ArrayList<>(java.util.Collections.nCopies(up, ".."));
        all.addAll(parts);
        return String.join("/", all);
    }

    /**
     * An open, locked partial file for TARGET: an earlier run's that is provably ours (see
     * {@link #ours}) and not in use, else a new one created exclusively, without following a
     * link, with mode 0600 from its first byte.
     */
    Partial partialFor(Path target) throws IOException {
        checkParents(target);
        String prefix = "." + RemotePaths.shortened(target.getFileName().toString()) + PARTIAL_INFIX;
        for (String name : partialNames(target.getParent(), prefix)) {
            Partial reused = reuse(target.resolveSibling(name));
            if (reused != null) {
                return reused;
            }
        }
        for (int tries = 1; ; tries++) {
            byte[] suffix = new byte[8];
            RANDOM.nextBytes(suffix);
            Path path = target.resolveSibling(prefix + HexFormat.of().formatHex(suffix));
            try {
                FileChannel channel = POSIX
                        ? FileChannel.open(path, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE,
                                LinkOption.NOFOLLOW_LINKS), PosixFilePermissions.asFileAttribute(PosixModes.permissions(0600)))
                        : FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
                Object key = identity(path);
                if (lock(channel) == null || key == null) {
                    channel.close();
                    throw new IOException("the new partial file " + path + " was taken over at once");
                }
                return new Partial(path, channel, key);
            } catch (FileAlreadyExistsException e) {
                if (tries == 3) {
                    throw e;
                }
            }
        }
    }

    private List<String> partialNames(Path dir, String prefix) throws IOException {
        Path folder = dir == null ? Path.of("") : dir;
        List<String> all = partialNames.get(folder);
        if (all == null) {
            try (Stream<Path> s = Files.list(folder.toString().isEmpty() ? Path.of(".") : folder)) {
                all = s.map(p -> p.getFileName().toString()).filter(n -> n.contains(PARTIAL_INFIX)).toList();
            }
            partialNames.put(folder, all);
        }
        return all.stream().filter(n -> n.startsWith(prefix) && n.substring(prefix.length()).matches("[0-9a-f]{16}")).toList();
    }

    /** PATH opened and locked when it is ours and no other run holds it; else null (it is left alone). */
    private static Partial reuse(Path path) {
        Object before = ours(path);
        if (before == null) {
            return null;
        }
        FileChannel channel = null;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
            // Still the same file of ours now that it is open and locked: nothing was swapped in between.
            if (lock(channel) != null && before.equals(ours(path))) {
                return new Partial(path, channel, before);
            }
        } catch (IOException e) {
            // gone, or not ours to open: start a new one
        }
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // it was only opened to read
            }
        }
        return null;
    }

    /**
     * The file's identity when it is a partial we may reuse: a regular file (not a link), owned
     * by the login user, with one link, and no permission for group or others; else null.
     */
    private static Object ours(Path path) {
        try {
            if (!POSIX) {
                return identity(path);
            }
            PosixFileAttributes a = Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            Map<String, Object> unix = Files.readAttributes(path, "unix:uid,nlink", LinkOption.NOFOLLOW_LINKS);
            boolean mine = a.isRegularFile() && ((Number) unix.get("uid")).longValue() == Uid.MINE && ((Number) unix.get("nlink")).intValue() == 1
                    && Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE).containsAll(a.permissions());
            return mine ? a.fileKey() : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** The identity of the regular file at PATH (not followed), or null when it is something else. */
    static Object identity(Path path) {
        try {
            BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            return !a.isRegularFile() ? null : a.fileKey() == null ? path : a.fileKey();
        } catch (IOException e) {
            return null;
        }
    }

    /** An exclusive lock on the whole file, or null when another run (or another transfer in this JVM) holds one. */
    private static FileLock lock(FileChannel channel) throws IOException {
        try {
            return channel.tryLock();
        } catch (OverlappingFileLockException e) {
            return null;
        }
    }

    /** The login user's id, asked once, only where files have Unix owners. */
    private static final class Uid {
        static final long MINE = new com.sun.security.auth.module.UnixSystem().getUid();
    }
}
