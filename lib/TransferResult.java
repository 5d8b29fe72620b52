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
}
