import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;

/**
 * The toolkit's private local folders (0700, checked at every level), under VPS_TOOLKIT_HOME or
 * ~/.vps-toolkit: only the same local user may reach the keys, sockets and output kept there.
 */
final class LocalFolders {
    private LocalFolders() {}

    static Path root() {
        String override = Environment.get("VPS_TOOLKIT_HOME");
        return override != null ? Environment.resolve(override) : home().resolve(".vps-toolkit");
    }

    static Path home() {
        return Path.of(System.getProperty("user.home"));
    }

    /** A leading ~ means the home folder, as in a shell; a relative path starts in the caller's working folder. */
    static Path expandHome(String path) {
        if (path.equals("~")) {
            return home();
        }
        if (path.startsWith("~/")) {
            return home().resolve(path.substring(2));
        }
        return Environment.resolve(path);
    }

    static Path outputs() {
        return privateDir(root().resolve("output"));
    }

    /** Writes FILE (mode 0600) by a rename, so that a reader sees the old or the new text, never a part. */
    static void writePrivate(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp" + ProcessHandle.current().pid());
        Files.writeString(tmp, text);
        try {
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException ignored) {
            // not a POSIX file system
        }
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /** The same as {@link #securePrivateDir}: every folder the toolkit keeps secrets, sockets or output in. */
    static Path privateDir(Path dir) {
        return securePrivateDir(dir);
    }

    /**
     * DIR, created (missing levels 0700) and trusted only when no other local user can reach into it
     * or swap it, as OpenSSH checks the path to authorized_keys: every folder above it owned by root or
     * this user and not writable by group or others (a root-owned sticky folder such as /tmp is fine);
     * the toolkit's own levels (from {@link #root()} down to DIR, or DIR alone outside it) are this
     * user's, 0700 and not symbolic links. Otherwise a CONFIG error names the folder, its owner and
     * mode, and the fix. Cheap: one lstat a level. Without Unix owners (Windows) only creates DIR.
     */
    static Path securePrivateDir(Path dir) {
        Path target = dir.toAbsolutePath().normalize();
        try {
            if (!UNIX) {
                return Files.createDirectories(target);
            }
            Path top = firstPrivateLevel(target);
            if (top.getParent() != null) {
                requireSafeAncestors(top.getParent());
            }
            for (int level = top.getNameCount(); level <= target.getNameCount(); level++) {
                requirePrivate(prefix(target, level));
            }
            return dir;
        } catch (IOException e) {
            throw VpsException.config("cannot create or check the toolkit's private folder " + target + ": " + VpsException.reason(e),
                    "check that folder's permissions, or set VPS_TOOLKIT_HOME to a folder of your own");
        }
    }

    /** Whether files have Unix owners and modes here (Linux, macOS), asked once. */
    private static final boolean UNIX = FileSystems.getDefault().supportedFileAttributeViews().contains("unix");
    private static final int TYPE = 0170000;
    private static final int DIRECTORY = 0040000;
    private static final int LINK = 0120000;
    private static final int STICKY = 01000;
    private static final int GROUP_OR_OTHERS_WRITE = 0022;
    private static final int GROUP_OR_OTHERS_ANY = 0077;
    private static final FileAttribute<?> OWNER_ONLY = PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));

    /** The toolkit home when DIR lies in it (its levels are all the toolkit's), else DIR itself. */
    private static Path firstPrivateLevel(Path target) {
        Path home = root().toAbsolutePath().normalize();
        return target.startsWith(home) ? home : target;
    }

    /**
     * Each level from / down to PARENT: safe as a folder, or a link this user or root owns; when a
     * link was on the way, the levels of the real path are checked too (a link's target has its own
     * ancestors). A missing level is created 0700.
     */
    private static void requireSafeAncestors(Path parent) throws IOException {
        boolean linked = false;
        for (int level = 0; level <= parent.getNameCount(); level++) {
            Path path = prefix(parent, level);
            Map<String, Object> a = statOrCreate(path);
            if ((mode(a) & TYPE) == LINK) {
                requireTrustedOwner(path, a);
                linked = true;
            } else {
                requireSafeAncestor(path, a);
            }
        }
        if (linked) {
            Path real = parent.toRealPath();
            for (int level = 0; level <= real.getNameCount(); level++) {
                Path path = prefix(real, level);
                requireSafeAncestor(path, stat(path));
            }
        }
    }

    private static void requireSafeAncestor(Path path, Map<String, Object> a) throws IOException {
        requireTrustedOwner(path, a);
        int mode = mode(a);
        if ((mode & TYPE) != DIRECTORY) {
            throw refused(path, a, "is not a folder", "set VPS_TOOLKIT_HOME to a folder of your own");
        }
        boolean stickyOfRoot = uid(a) == 0 && (mode & STICKY) != 0;
        if ((mode & GROUP_OR_OTHERS_WRITE) != 0 && !stickyOfRoot) {
            throw refused(path, a, "lies above the toolkit's private folder and others may write to it (they could swap what is inside)",
                    "`chmod go-w " + path + "`, or set VPS_TOOLKIT_HOME to a folder under your home");
        }
    }

    private static void requireTrustedOwner(Path path, Map<String, Object> a) throws IOException {
        if (uid(a) != 0 && uid(a) != Uid.MINE) {
            throw refused(path, a, "lies above the toolkit's private folder and another user owns it (they could swap what is inside)",
                    "set VPS_TOOLKIT_HOME to a folder under your home");
        }
    }

    /** A level of the toolkit's own: this user's folder, not a link, 0700 (a mode that only lets others read is tightened). */
    private static void requirePrivate(Path path) throws IOException {
        Map<String, Object> a = statOrCreate(path);
        int mode = mode(a);
        if ((mode & TYPE) == LINK) {
            throw refused(path, a, "is a symbolic link; the toolkit does not follow links for its private folders",
                    "remove the link (`rm " + path + "`): the toolkit creates the folder itself; or set VPS_TOOLKIT_HOME to the real folder");
        }
        if ((mode & TYPE) != DIRECTORY) {
            throw refused(path, a, "is not a folder", "move it away, or set VPS_TOOLKIT_HOME to a folder of your own");
        }
        if (uid(a) != Uid.MINE) {
            throw refused(path, a, "is another user's; the toolkit keeps keys and sockets only in a folder of yours",
                    "remove it (as its owner or root), or set VPS_TOOLKIT_HOME to a folder of your own");
        }
        if ((mode & GROUP_OR_OTHERS_WRITE) != 0) {
            throw refused(path, a, "is writable by others, who could have planted files in it",
                    "check what it holds, then `chmod 700 " + path + "`; or set VPS_TOOLKIT_HOME to a new folder");
        }
        if ((mode & GROUP_OR_OTHERS_ANY) != 0) {
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rwx------"));
        }
    }

    /** The attributes of PATH itself (a link is not followed); a missing folder is created 0700 first. */
    private static Map<String, Object> statOrCreate(Path path) throws IOException {
        try {
            return stat(path);
        } catch (NoSuchFileException missing) {
            try {
                Files.createDirectory(path, OWNER_ONLY);
                Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rwx------"));   // whatever the umask
            } catch (FileAlreadyExistsException raced) {
                // another process made it meanwhile: checked below like any folder
            }
            return stat(path);
        }
    }

    /** The first LEVELS names of the absolute PATH: /, /home, /home/me... */
    private static Path prefix(Path path, int levels) {
        return levels == 0 ? path.getRoot() : path.getRoot().resolve(path.subpath(0, levels));
    }

    private static Map<String, Object> stat(Path path) throws IOException {
        return Files.readAttributes(path, "unix:mode,uid", LinkOption.NOFOLLOW_LINKS);
    }

    private static int mode(Map<String, Object> a) {
        return (Integer) a.get("mode");
    }

    private static int uid(Map<String, Object> a) {
        return (Integer) a.get("uid");
    }

    private static VpsException refused(Path path, Map<String, Object> a, String problem, String fix) {
        String owner;
        try {
            owner = Files.getOwner(path, LinkOption.NOFOLLOW_LINKS).getName();
        } catch (IOException e) {
            owner = "uid " + uid(a);
        }
        return VpsException.config("the toolkit refuses the folder " + path + " (owner " + owner + ", mode "
                + String.format("%04o", mode(a) & 07777) + "): it " + problem, fix);
    }

    /** The login user's id, asked once. */
    private static final class Uid {
        static final long MINE = new com.sun.security.auth.module.UnixSystem().getUid();
    }
}
