import java.util.Map;

/**
 * What happened to one file of a transfer. REASON (null when there is nothing to add) says why an
 * entry was refused or skipped; it reaches the JSON only when set.
 */
record TransferResult(String local, String remote, long bytes, long sent, long resumedFrom, String sha256, String status, String reason) {
    TransferResult(String local, String remote, long bytes, long sent, long resumedFrom, String sha256, String status) {
        this(local, remote, bytes, sent, resumedFrom, sha256, status, null);
    }

    Map<String, Object> toJson() {
        Map<String, Object> m = Json.fields(this);
        if (reason == null) {
            m.remove("reason");
        }
        return m;
    }

    TransferResult withLocal(String other) {
        return new TransferResult(other, remote, bytes, sent, resumedFrom, sha256, status, reason);
    }

    /** TEXT with control characters (a terminal's escape sequences among them) shown as \\uXXXX: safe to print, and the same printed twice. */
    static String printable(String text) {
        StringBuilder b = new StringBuilder();
        text.codePoints().forEach(c -> {
            if (Character.isISOControl(c)) {
                b.append(String.format("\\u%04x", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        return b.toString();
    }
}
