import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The one call every remote action makes: {@code Audit.start(action)}, then what the action knows
 * (target, connection, command or paths, env, secrets), then {@link #write}. The line goes to
 * {@link AuditLog#standard()}; a failure to write it is a warning on stderr, never the action's
 * failure. Every string of the line has each secret the action named replaced by ***; values of
 * env names that look secret, or were marked --secret-env, are *** from the start.
 */
final class Audit {
    /** Env names whose values never reach the log. */
    static final Pattern SECRET_NAME = Pattern.compile("(?i).*(PASS|SECRET|TOKEN|KEY|CREDENTIAL|AUTH|PRIVATE|COOKIE|SESSION).*");
    /** Who asked: "cli", or "mcp:<client name>" in mcp-server. */
    /** Who makes this thread's call: "cli", or "mcp:NAME" on an mcp-server's tool call (threads a call starts inherit it). */
    private static final InheritableThreadLocal<String> CALLER = new InheritableThreadLocal<>() {
        @Override
        protected String initialValue() {
            return "cli";
        }
    };
    /** The owner's policy's word on this thread's call (Guard sets it; a call's start clears it). */
    private static final ThreadLocal<String> DECIDED = new ThreadLocal<>();

    private final long startNanos = System.nanoTime();
    private final Map<String, Object> fields = new LinkedHashMap<>();
    private final List<String> secrets = new ArrayList<>();
    /** What {@link #write} wrote, for the server's syslog line. */
    private Map<String, Object> written;

    private Audit(String action) {
        fields.put("time", Instant.now().toString());
        fields.put("user", System.getProperty("user.name"));
        fields.put("caller", CALLER.get());
        fields.put("action", action);
        fields.put("target", null);
        fields.put("hostKey", null);
        fields.put("cwd", Environment.workingFolder().toString());
        SERVER_SECRETS.forEach(name -> secret(Environment.get(name)));
    }

    static Audit start(String action) {
        return new Audit(action);
    }

    /** mcp-server names its client once the initialize request told it. */
    static void caller(String name) {
        CALLER.set(name);
    }

    Audit target(Target t) {
        if (t != null) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", t.alias() != null ? t.alias() : t.host());
            m.put("host", t.host());
            m.put("port", t.port());
            m.put("user", t.user());
            fields.put("target", m);
            secret(t.credentials().password());
            secret(t.credentials().keyPassphrase());
        }
        return this;
    }

    /** The host key this connection's login verified. */
    Audit connection(VpsConnection c) {
        if (c != null) {
            target(c.target);
            fields.put("hostKey", c.hostKeyFingerprint());
        }
        return this;
    }

    Audit put(String name, Object value) {
        fields.put(name, value);
        return this;
    }

    Audit putIfAbsent(String name, Object value) {
        fields.putIfAbsent(name, value);
        return this;
    }

    Audit command(String text) {
        return put("command", text);
    }

    Audit paths(String from, String to) {
        return put("paths", Map.of("from", String.valueOf(from), "to", String.valueOf(to)));
    }

    /** The env the command got: names with values, a secret one's value ***. SECRET_NAMES are --secret-env. */
    Audit env(Map<String, String> env, Collection<String> secretNames) {
        if (env == null || env.isEmpty()) {
            return this;
        }
        Map<String, String> shown = new LinkedHashMap<>();
        env.forEach((name, value) -> {
            boolean secret = SECRET_NAME.matcher(name).matches() || (secretNames != null && secretNames.contains(name));
            if (secret) {
                secret(value);
            }
            shown.put(name, secret ? "***" : value);
        });
        return put("env", shown);
    }

    /** A value that must not appear anywhere in the line (a password, a --send-env value). */
    Audit secret(String value) {
        if (value != null && !value.isEmpty()) {
            secrets.add(value);
        }
        return this;
    }

    Audit secrets(Collection<String> values) {
        if (values != null) {
            values.forEach(this::secret);
        }
        return this;
    }

    /** The policy decision ("allow", "confirmed: rule", "refused: rule"), when not the call's own (see {@link #decided}). */
    Audit policy(String decision) {
        return put("policy", decision);
    }

    /** What the owner's policy decided about the call this thread runs: every line it writes carries it. */
    static void decided(String decision) {
        DECIDED.set(decision);
    }

    /**
     * A new call begins on this thread, which ran another before (mcp-server's pooled workers): no
     * decision yet. A script's call runs on a thread of its own (or, in a fleet, checks again per host).
     */
    static void newCall() {
        DECIDED.remove();
    }

    /** Ends the record: STATUS (exited, failed, ...), EXIT code or null, BYTES moved or printed; then writes it. */
    void write(String status, Integer exitCode, Long bytes, PrintStream err) {
        if (written != null) {
            return;   // one line per action, however it ended
        }
        fields.put("status", status);
        fields.put("exitCode", exitCode);
        fields.put("durationMs", (System.nanoTime() - startNanos) / 1_000_000);
        fields.put("bytes", bytes);
        fields.putIfAbsent("policy", DECIDED.get());
        written = redacted();
        try {
            AuditLog.standard().append(written);
        } catch (Exception e) {
            if (err != null) {
                err.println("warning: the audit log was not written: " + e.getMessage());
            }
        }
    }

    /** Bytes that must not appear (an interaction's --send-env values). */
    Audit secretBytes(List<byte[]> values) {
        if (values != null) {
            values.forEach(v -> secret(new String(v, StandardCharsets.UTF_8)));
        }
        return this;
    }

    /**
     * --audit-remote: after {@link #write}, one line to the server's syslog through `logger -t
     * vps-toolkit`, run by /bin/sh with the summary quoted. A server without logger, or a failure,
     * is a warning on ERR; the action's result stands.
     */
    void writeRemote(VpsConnection connection, PrintStream err) {
        if (written == null || connection == null) {
            return;
        }
        String script = "command -v logger >/dev/null 2>&1 || exit 127; logger -t vps-toolkit -- " + ShellQuote.quote(summary(written));
        try {
            java.io.ByteArrayOutputStream said = new java.io.ByteArrayOutputStream();
            ExecOutcome o = ExecRunner.run(connection, RemoteCommand.of(script), java.io.OutputStream.nullOutputStream(), said,
                    java.io.InputStream.nullInputStream());
            if (o.processExitCode() != 0) {
                err.println("warning: the server's syslog did not get the audit line: " + (o.processExitCode() == 127
                        ? "the server has no logger program" : "logger exited " + o.processExitCode() + " " + said.toString(StandardCharsets.UTF_8).strip()));
            }
        } catch (RuntimeException e) {
            err.println("warning: the server's syslog did not get the audit line: " + e.getMessage());
        }
    }

    /** One line for syslog: who, what, on what, how it ended; secrets already masked, newlines made spaces. */
    static String summary(Map<String, Object> line) {
        StringBuilder b = new StringBuilder();
        for (String k : List.of("user", "caller", "action", "command", "paths", "status", "exitCode", "bytes", "durationMs", "policy")) {
            Object v = line.get(k);
            if (v != null) {
                b.append(b.isEmpty() ? "" : " ").append(k).append('=').append(v instanceof Map<?, ?> || v instanceof String ? Json.write(v) : v);
            }
        }
        String one = b.toString().replaceAll("[\\r\\n\\t]+", " ");
        return one.length() > 900 ? one.substring(0, 897) + "..." : one;
    }

    /** The fields with every secret replaced by *** in every string, however deep. */
    Map<String, Object> redacted() {
        List<byte[]> bytes = secrets.stream().map(s -> s.getBytes(StandardCharsets.UTF_8)).toList();
        @SuppressWarnings("unchecked")
        Map<String, Object> out = (Map<String, Object>) redact(fields, bytes);
        return out;
    }

    private static Object redact(Object value, List<byte[]> secrets) {
        if (value instanceof String s) {
            return SecretRedactor.redact(s, secrets);
        }
        if (value instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, v) -> out.put(String.valueOf(k), redact(v, secrets)));
            return out;
        }
        if (value instanceof Collection<?> c) {
            return c.stream().map(v -> redact(v, secrets)).toList();
        }
        return value;
    }

    /** The audit of one sftp-put (PUT) or sftp-get call with PATHS (sources, then the destination): one line per call. */
    static TransferReport.Ending ofTransfer(boolean put, List<String> paths, boolean remote, PrintStream err) {
        Audit audit = start(put ? "upload" : "download");
        List<String> sources = List.copyOf(paths.subList(0, paths.size() - 1));
        audit.put("paths", Map.of("sources", sources, "destination", paths.get(paths.size() - 1)));
        return (target, connection, results, failure) -> {
            audit.target(target).connection(connection);
            long bytes = results == null ? 0 : results.stream().mapToLong(TransferResult::bytes).sum();
            if (results != null) {
                audit.put("files", results.size());
            }
            boolean leftSome = results != null && results.stream().anyMatch(r -> r.status().equals("refused") || r.status().equals("exists"));
            audit.write(failure != null ? "failed" : leftSome ? "partial" : "ok", failure != null ? null : leftSome ? 1 : 0, bytes, err);
            if (remote && failure == null) {
                audit.writeRemote(connection, err);
            }
        };
    }

    /** The secrets the environment may hold (a call's, or mcp-server's): never in a line, whatever a command names. */
    private static final List<String> SERVER_SECRETS = List.of("VPS_PASSWORD", "VPS_KEY_PASSPHRASE", "VPS_SUDO_PASSWORD", "VPS_SU_PASSWORD");

    /** The audit of one mcp-server tool call on one target, with its ARGS; before the handler runs. */
    static Audit ofTool(String tool, Map<String, Object> args) {
        VpsConnection.takeUsedOnThisThread();   // forget what an earlier call on this thread used
        Audit audit = start(tool);
        Map<String, Object> a = args == null ? Map.of() : args;
        audit.put("target", a.get("target") == null ? null : Map.of("name", String.valueOf(a.get("target"))));
        for (String key : List.of("command", "path", "local", "remote", "id", "text")) {
            if (a.get(key) != null) {
                audit.put(key.equals("text") ? "input" : key, a.get(key));
            }
        }
        if (a.get("send_env") instanceof String name) {
            audit.put("input", "send_env " + name).secret(Environment.get(name));
        }
        if (a.get("env") instanceof Map<?, ?> env) {
            Map<String, String> values = new LinkedHashMap<>();
            env.forEach((k, v) -> values.put(String.valueOf(k), String.valueOf(v)));
            audit.env(values, List.of());
        }
        return audit;
    }

    /** Ends a tool call's audit with its ENVELOPE (DESIGN §5). */
    void endTool(Map<String, Object> envelope, PrintStream err) {
        VpsConnection used = VpsConnection.takeUsedOnThisThread();
        if (used != null) {
            fields.put("hostKey", used.hostKeyFingerprint());
            // mcp-server's credentials may come from its .env or --env-file, not only from its environment.
            secret(used.target.credentials().password());
            secret(used.target.credentials().keyPassphrase());
        }
        if (envelope.get("host") instanceof String host) {
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("name", fields.get("target") instanceof Map<?, ?> m ? m.get("name") : null);
            t.put("host", host);
            fields.put("target", t);
        }
        if (envelope.get("job") != null || envelope.get("session") != null) {
            fields.putIfAbsent("id", envelope.get("job") != null ? envelope.get("job") : envelope.get("session"));
        }
        Object bytes = envelope.get("bytes");
        String status = envelope.get("error") != null ? "failed" : String.valueOf(envelope.getOrDefault("status", "ok"));
        write(status, envelope.get("exitCode") instanceof Number n ? n.intValue() : null, bytes instanceof Number n ? n.longValue() : null, err);
    }
}
