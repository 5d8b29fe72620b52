import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/** The toolkit's private local folders (0700), under VPS_TOOLKIT_HOME or ~/.vps-toolkit. */
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

    static Path privateDir(Path dir) {
        try {
            Files.createDirectories(dir);
            try {
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            } catch (UnsupportedOperationException windows) {
                // NTFS: the user profile is already private
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
