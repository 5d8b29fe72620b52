/** Remote (POSIX) path helpers; the local side uses java.nio.file. */
final class RemotePaths {
    private RemotePaths() {}

    static String parent(String path) {
        String p = path.endsWith("/") && path.length() > 1 ? path.substring(0, path.length() - 1) : path;
        int slash = p.lastIndexOf('/');
        if (slash < 0) {
            return "";
        }
        return slash == 0 ? "/" : p.substring(0, slash);
    }

    static String name(String path) {
        String p = path.endsWith("/") && path.length() > 1 ? path.substring(0, path.length() - 1) : path;
        return p.substring(p.lastIndexOf('/') + 1);
    }

    static String join(String dir, String name) {
        if (dir.isEmpty()) {
            return name;
        }
        return dir.endsWith("/") ? dir + name : dir + "/" + name;
    }

    /** The hidden name a file is written under until it is complete and verified; stable, so a rerun can resume it. */
    static String partial(String path) {
        return join(parent(path), "." + name(path) + ".vps-partial");
    }

    /** JSch treats * and ? in SFTP paths as patterns (\\ escapes them): this makes any name literal. */
    static String literal(String path) {
        return path.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?");
    }

    static boolean hasGlob(String path) {
        String name = name(path);
        return name.contains("*") || name.contains("?") || name.contains("[");
    }
}
