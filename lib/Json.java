import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import java.util.LinkedHashMap;
import java.util.Map;

/** The --json envelope of DESIGN §5: exactly one object, keys in a stable order, nulls kept. */
final class Json {
    private static final Gson GSON = new GsonBuilder().serializeNulls().disableHtmlEscaping().create();

    private Json() {}

    static String write(Object value) {
        return GSON.toJson(value);
    }

    static <T> T read(String json, Class<T> type) {
        return GSON.fromJson(json, type);
    }

    static Map<String, Object> error(VpsException e) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("kind", e.kind.name());
        error.put("message", e.getMessage());
        error.put("hint", e.hint);
        error.put("retriable", e.retriable);
        return error;
    }

    /** A failure before or instead of a result: status "failed" and the error object. */
    static Map<String, Object> failure(String host, String command, VpsException e, long durationMs) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("host", host);
        r.put("command", command);
        r.put("status", e.kind == VpsException.Kind.TIMEOUT ? "timed_out" : "failed");
        r.put("exitCode", null);
        r.put("signal", null);
        r.put("stdout", "");
        r.put("stderr", "");
        r.put("truncated", false);
        r.put("durationMs", durationMs);
        r.put("job", null);
        r.put("error", error(e));
        return r;
    }
}
