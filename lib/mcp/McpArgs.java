import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The arguments of one tool call, read with the types and units the toolkit's options use. */
final class McpArgs {
    static final int DEFAULT_FORKS = 10;
    static final int MAX_FORKS = 500;

    private final Map<String, Object> values;
    /** Who answers the owner's confirm rule for this call: the MCP client, by elicitation, when it can. */
    private final Guard.Confirmer confirmer;
    private PolicyAction policyAction;

    McpArgs(Map<String, Object> values) {
        this(values, Guard.Confirmer.NOBODY);
    }

    McpArgs(Map<String, Object> values, Guard.Confirmer confirmer) {
        this.values = values == null ? Map.of() : values;
        this.confirmer = confirmer;
    }

    Guard.Confirmer confirmer() {
        return confirmer;
    }

    /** The action the owner's policy judges before this call connects (job_start, session_open, session_send); null for none. */
    PolicyAction policyAction() {
        return policyAction;
    }

    McpArgs withPolicy(PolicyAction action) {
        McpArgs a = new McpArgs(values, confirmer);
        a.policyAction = action;
        return a;
    }

    /** The "target" argument as given (null for the default). */
    String target() {
        return values.get("target") instanceof String s && !s.isBlank() ? s : null;
    }

    /**
     * The "targets" argument: null when absent, a list of target names, or one string (an inventory
     * pattern). Given with "target" it is a CONFIG error: one call names one server or a set.
     */
    Object targets() {
        Object v = values.get("targets");
        if (v == null) {
            return null;
        }
        if (target() != null) {
            throw VpsException.config("both 'target' and 'targets' given", "pass 'target' for one server or 'targets' for several, not both");
        }
        if (v instanceof String s && !s.isBlank()) {
            return s.trim();
        }
        if (v instanceof List<?> list && !list.isEmpty() && list.stream().allMatch(e -> e instanceof String s && !s.isBlank())) {
            return list.stream().map(e -> ((String) e).trim()).toList();
        }
        throw bad("targets", "a non-empty list of target names, or one inventory pattern string");
    }

    /** Whether the call names a set of servers ("targets"). */
    boolean hasTargets() {
        return values.get("targets") != null;
    }

    /** The arguments as given (for the audit log, which masks secrets). */
    Map<String, Object> values() {
        return values;
    }

    /** How many hosts of a "targets" call run at once: "forks", 1..500, default 10. */
    int forks() {
        Object v = values.get("forks");
        if (v == null) {
            return DEFAULT_FORKS;
        }
        if (v instanceof Number n && n.doubleValue() == n.intValue() && n.intValue() >= 1 && n.intValue() <= MAX_FORKS) {
            return n.intValue();
        }
        throw bad("forks", "a whole number from 1 to " + MAX_FORKS);
    }

    /** These arguments for one host of a "targets" call: "target" names it; "targets" and "forks" are gone. */
    McpArgs forHost(String name) {
        Map<String, Object> one = new LinkedHashMap<>(values);
        one.remove("targets");
        one.remove("forks");
        one.put("target", name);
        return new McpArgs(one, confirmer);
    }

    /** These arguments with NAME set to VALUE (e.g. the one job id every host of a call shares). */
    McpArgs with(String name, Object value) {
        Map<String, Object> changed = new LinkedHashMap<>(values);
        changed.put(name, value);
        return new McpArgs(changed, confirmer);
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
