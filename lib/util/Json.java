import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.ToNumberPolicy;
import com.google.gson.reflect.TypeToken;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The --json envelope of DESIGN §5: exactly one object, keys in a stable order, nulls kept. A number
 * read into a Map or Object is a Long when it is whole (a pid, a count, a time in ms), a Double only
 * when it has a fraction: Gson's default makes every number a Double, printed again as 8019.0 or 1.795E12.
 */
final class Json {
    private static final Gson GSON = new GsonBuilder().serializeNulls().disableHtmlEscaping()
            .setObjectToNumberStrategy(ToNumberPolicy.LONG_OR_DOUBLE).create();

    private Json() {}

    static String write(Object value) {
        return GSON.toJson(value);
    }

    static <T> T read(String json, Class<T> type) {
        return GSON.fromJson(json, type);
    }

    /** A record as a JSON object: its components in declaration order, nulls kept, in a map a caller may add to. */
    static Map<String, Object> fields(Record value) {
        return GSON.fromJson(GSON.toJsonTree(value), new TypeToken<LinkedHashMap<String, Object>>() {}.getType());
    }

    static Map<String, Object> error(VpsException e) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("kind", e.kind.name());
        error.put("message", e.getMessage());
        error.put("hint", e.hint);
        error.put("retriable", e.retriable);
        return error;
    }

    /** The envelope's common fields, in DESIGN §5 order; scripts add their own after them. */
    static Map<String, Object> envelope(String host, String command, String status, Integer exitCode, long durationMs, VpsException error) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("host", host);
        r.put("command", command);
        r.put("status", status);
        r.put("exitCode", exitCode);
        r.put("signal", null);
        r.put("stdout", "");
        r.put("stderr", "");
        r.put("truncated", false);
        r.put("durationMs", durationMs);
        r.put("job", null);
        r.put("error", error == null ? null : error(error));
        return r;
    }

    /** A failure before or instead of a result: status "failed" (or "timed_out") and the error object. */
    static Map<String, Object> failure(String host, String command, VpsException e, long durationMs) {
        return envelope(host, command, e.kind == VpsException.Kind.TIMEOUT ? "timed_out" : "failed", null, durationMs, e);
    }
}
