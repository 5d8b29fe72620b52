/**
 * A failure the toolkit explains: a KIND from DESIGN §4, what happened, what to do next.
 * Printed as `vps: KIND: message` then `hint: ...`.
 */
final class VpsException extends RuntimeException {
    enum Kind { NETWORK, HOSTKEY, AUTH, CONFIG, TIMEOUT, REMOTE, PROTOCOL, POLICY }

    static final int EXIT_CONNECT = 255;
    static final int EXIT_TIMEOUT = 124;
    static final int EXIT_USAGE = 2;
    static final int EXIT_REMOTE = 1;
    /** sysexits EX_NOPERM: the owner's policy refused the call; nothing reached the server. */
    static final int EXIT_POLICY = 77;

    final Kind kind;
    final String hint;
    final boolean retriable;

    VpsException(Kind kind, String message, String hint) {
        this(kind, message, hint, false, null);
    }

    VpsException(Kind kind, String message, String hint, boolean retriable, Throwable cause) {
        super(plain(message), cause);
        this.kind = kind;
        this.hint = hint;
        this.retriable = retriable;
    }

    /** The failure that {@link Json#error} wrote, read back (from a state file). */
    static VpsException fromJson(java.util.Map<?, ?> m) {
        return new VpsException(Kind.valueOf((String) m.get("kind")), (String) m.get("message"), (String) m.get("hint"),
                Boolean.TRUE.equals(m.get("retriable")), null);
    }

    static VpsException config(String message, String hint) {
        return new VpsException(Kind.CONFIG, message, hint);
    }

    static VpsException policy(String message, String hint) {
        return new VpsException(Kind.POLICY, message, hint);
    }

    /**
     * One exit code a kind (the table in {@link Cli#EXIT_CODES}): 2 for CONFIG (something on this side
     * to fix: the invocation, a file or setting it names, the local disk), 124 for a timeout, 1 for a
     * failure on the server's side after login, else 255 (could not reach, verify or log in) as ssh.
     */
    int exitCode() {
        return switch (kind) {
            case CONFIG -> EXIT_USAGE;
            case TIMEOUT -> EXIT_TIMEOUT;
            case REMOTE -> EXIT_REMOTE;
            case POLICY -> EXIT_POLICY;
            default -> EXIT_CONNECT;
        };
    }

    /** A Java class name in a message ("java.net.SocketException: ...", "NoSuchFileException") tells a user nothing: dropped. */
    private static final java.util.regex.Pattern CLASS_NAME =
            java.util.regex.Pattern.compile("\\b(?:[a-z][\\w$]*\\.)*[A-Z][\\w$]*(?:Exception|Error)\\b(?::\\s*)?");

    static String plain(String message) {
        return message == null ? null : CLASS_NAME.matcher(message).replaceAll("").trim();
    }

    /** What went wrong with a local file, in words: the JDK's messages for these are only the path. */
    static String reason(java.io.IOException e) {
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such file or folder";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof java.nio.file.NotDirectoryException) {
            return "not a folder";
        }
        if (e instanceof java.nio.file.FileAlreadyExistsException) {
            return "already exists";
        }
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        String m = plain(e.getMessage());
        return m == null || m.isEmpty() ? "an input/output error" : m;
    }

    String describe() {
        return "vps: " + kind + ": " + getMessage() + (hint == null ? "" : "\nhint: " + hint);
    }
}
