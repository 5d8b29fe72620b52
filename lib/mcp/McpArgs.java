import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** The arguments of one tool call, read with the types and units the toolkit's options use. */
final class McpArgs {
    private final Map<String, Object> values;

    McpArgs(Map<String, Object> values) {
        this.values = values == null ? Map.of() : values;
    }

    /** The "target" argument as given (null for the default). */
    String target() {
        return values.get("target") instanceof String s && !s.isBlank() ? s : null;
    }

    /** What the call was about, for the envelope's "command": its command or path, else the tool's name. */
    String label(String tool) {
        for (String key : new String[] {"command", "path", "id", "remote"}) {
            if (values.get(key) instanceof String s) {
                return key.equals("command") ? s : tool + " " + s;
            }
        }
        return tool;
    }

    String text(String name) {
        Object v = values.get(name);
        if (v == null || v instanceof String) {
            return (String) v;
        }
        throw bad(name, "a string");
    }

    String requiredText(String name) {
        String v = text(name);
        if (v == null || v.isEmpty()) {
            throw VpsException.config("argument '" + name + "' is required", "pass it as the tool's input schema says");
        }
        return v;
    }

    boolean flag(String name) {
        Object v = values.get(name);
        if (v == null || v instanceof Boolean) {
            return Boolean.TRUE.equals(v);
        }
        throw bad(name, "true or false");
    }

    /** A byte count: a number, or a string such as "64k" or "1m". */
    long size(String name, long fallback, long max) {
        Object v = values.get(name);
        long n;
        if (v == null) {
            return fallback;
        } else if (v instanceof Number num) {
            n = num.longValue();
        } else if (v instanceof String s) {
            try {
                n = new ByteSizes().convert(s);
            } catch (RuntimeException e) {
                throw bad(name, "a size such as 65536, 64k or 1m");
            }
        } else {
            throw bad(name, "a size such as 65536, 64k or 1m");
        }
        if (n < 0 || n > max) {
            throw VpsException.config("argument '" + name + "' must be between 0 and " + max + " bytes, not " + n, "pick a smaller size");
        }
        return n;
    }

    /** A duration: a string such as "30s", "5m" or "500ms", or a number of seconds. */
    Duration duration(String name, Duration fallback) {
        Object v = values.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            return v instanceof Number num ? Duration.ofMillis(Math.round(num.doubleValue() * 1000)) : Durations.parse((String) v);
        } catch (RuntimeException e) {
            throw bad(name, "a duration such as 30s, 5m or 500ms");
        }
    }

    /** An object of NAME -> string value (numbers and booleans are written as text). */
    Map<String, String> strings(String name) {
        Object v = values.get(name);
        if (v == null) {
            return Map.of();
        }
        if (!(v instanceof Map<?, ?> m)) {
            throw bad(name, "an object of names to string values");
        }
        Map<String, String> out = new LinkedHashMap<>();
        m.forEach((k, value) -> out.put(String.valueOf(k), value instanceof Number || value instanceof Boolean || value instanceof String
                ? String.valueOf(value) : null));
        if (out.containsValue(null)) {
            throw bad(name, "an object whose values are strings");
        }
        return out;
    }

    private static VpsException bad(String name, String what) {
        return VpsException.config("argument '" + name + "' must be " + what, "fix that argument as the tool's input schema says");
    }
}
