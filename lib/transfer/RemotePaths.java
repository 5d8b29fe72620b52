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

    private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();
    /** Bytes of the target's name kept in its partial's name: with the rest, well within a file name's 255. */
    private static final int NAME_BYTES = 200;

    /**
     * The hidden name a file is written under until it is complete and verified: the partial prefix and a
     * random suffix, so that nobody can put anything at that name beforehand.
     */
    static String newPartial(String path) {
        byte[] suffix = new byte[8];
        RANDOM.nextBytes(suffix);
        return partialPrefix(path) + java.util.HexFormat.of().formatHex(suffix);
    }

    /** What every partial name of PATH starts with; a rerun looks for its earlier partial by it. */
    static String partialPrefix(String path) {
        return join(parent(path), "." + shortened(name(path)) + ".vps-partial.");
    }

    /** Whether SUFFIX (what follows the partial prefix) is one newPartial makes. */
    static boolean isPartialSuffix(String suffix) {
        return suffix.matches("[0-9a-f]{16}");
    }

    /** NAME cut to 200 bytes, so that a partial name built on it stays within the 255-byte limit of a file name (both sides use it). */
    static String shortened(String name) {
        String s = name;
        while (s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > NAME_BYTES) {
            s = s.substring(0, s.offsetByCodePoints(s.length(), -1));
        }
        return s;
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
