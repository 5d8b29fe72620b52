import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;

/** Unix mode bits (0644) and java.nio's permission sets, both ways. */
final class PosixModes {
    private PosixModes() {}

    /** PosixFilePermission is declared owner-read first, others-execute last: bit 8 down to bit 0. */
    private static int bit(PosixFilePermission p) {
        return 1 << (8 - p.ordinal());
    }

    /** The file's mode; where the file system has none (Windows), 0755 for executables, else 0644. */
    static int of(Path file) {
        try {
            int mode = 0;
            for (PosixFilePermission p : Files.getPosixFilePermissions(file)) {
                mode |= bit(p);
            }
            return mode;
        } catch (IOException | UnsupportedOperationException e) {
            return Files.isExecutable(file) ? 0755 : 0644;
        }
    }

    /** MODE's permission bits as java.nio's set. */
    static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
        for (PosixFilePermission p : PosixFilePermission.values()) {
            if ((mode & bit(p)) != 0) {
                perms.add(p);
            }
        }
        return perms;
    }

    /** Sets MODE (permission bits only); a no-op where the file system has no POSIX modes. */
    static void set(Path file, int mode) throws IOException {
        try {
            Files.setPosixFilePermissions(file, permissions(mode));
        } catch (UnsupportedOperationException windows) {
            // NTFS: permissions follow the folder
        }
    }
}
