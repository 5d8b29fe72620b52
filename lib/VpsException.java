/**
 * A failure the toolkit explains: a KIND from DESIGN §4, what happened, what to do next.
 * Printed as `vps: KIND: message` then `hint: ...`.
 */
final class VpsException extends RuntimeException {
    enum Kind { NETWORK, HOSTKEY, AUTH, CONFIG, TIMEOUT, REMOTE, PROTOCOL }

    static final int EXIT_CONNECT = 255;
    static final int EXIT_TIMEOUT = 124;

    final Kind kind;
    final String hint;
    final boolean retriable;

    VpsException(Kind kind, String message, String hint) {
        this(kind, message, hint, false, null);
    }

    VpsException(Kind kind, String message, String hint, boolean retriable, Throwable cause) {
        super(message, cause);
        this.kind = kind;
        this.hint = hint;
        this.retriable = retriable;
    }

    /** The failure that {@link Json#error} wrote, read back (from a holder, a state file). */
    static VpsException fromJson(java.util.Map<?, ?> m) {
        return new VpsException(Kind.valueOf((String) m.get("kind")), (String) m.get("message"), (String) m.get("hint"),
                Boolean.TRUE.equals(m.get("retriable")), null);
    }

    static VpsException config(String message, String hint) {
        return new VpsException(Kind.CONFIG, message, hint);
    }

    /** 124 for a timeout, 1 for a failure on the server's side (a file, a disk), else 255 as ssh. */
    int exitCode() {
        return switch (kind) {
            case TIMEOUT -> EXIT_TIMEOUT;
            case REMOTE -> 1;
            default -> EXIT_CONNECT;
        };
    }

    String describe() {
        return "vps: " + kind + ": " + getMessage() + (hint == null ? "" : "\nhint: " + hint);
    }
}
