import java.util.LinkedHashMap;
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
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("local", local);
        m.put("remote", remote);
        m.put("bytes", bytes);
        m.put("sent", sent);
        m.put("resumedFrom", resumedFrom);
        m.put("sha256", sha256);
        m.put("status", status);
        if (reason != null) {
            m.put("reason", reason);
        }
        return m;
    }

    TransferResult withLocal(String other) {
        return new TransferResult(other, remote, bytes, sent, resumedFrom, sha256, status, reason);
    }

    static TransferResult fromJson(Map<?, ?> m) {
        return new TransferResult((String) m.get("local"), (String) m.get("remote"), number(m.get("bytes")), number(m.get("sent")),
                number(m.get("resumedFrom")), (String) m.get("sha256"), (String) m.get("status"), (String) m.get("reason"));
    }

    private static long number(Object n) {
        return n == null ? 0 : ((Number) n).longValue();
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
