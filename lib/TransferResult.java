import java.util.LinkedHashMap;
import java.util.Map;

/** What happened to one file of a transfer. */
record TransferResult(String local, String remote, long bytes, long sent, long resumedFrom, String sha256, String status) {
    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("local", local);
        m.put("remote", remote);
        m.put("bytes", bytes);
        m.put("sent", sent);
        m.put("resumedFrom", resumedFrom);
        m.put("sha256", sha256);
        m.put("status", status);
        return m;
    }

    TransferResult withLocal(String other) {
        return new TransferResult(other, remote, bytes, sent, resumedFrom, sha256, status);
    }

    static TransferResult fromJson(Map<?, ?> m) {
        return new TransferResult((String) m.get("local"), (String) m.get("remote"), number(m.get("bytes")), number(m.get("sent")),
                number(m.get("resumedFrom")), (String) m.get("sha256"), (String) m.get("status"));
    }

    private static long number(Object n) {
        return n == null ? 0 : ((Number) n).longValue();
    }
}
