import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.spec.McpSchema;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One tool of mcp-server: its name, the description an agent acts on, its input and output
 * schemas, its title and annotations, and a handler that returns the DESIGN §5 envelope, sent as
 * structuredContent and as JSON text. A result whose "error" is set, and every VpsException, is a
 * tool error (isError): the envelope with error {kind, message, hint, retriable}, then the two
 * lines `vps: KIND: message` and `hint: ...`. Each call runs as one of {@link McpCalls}: it can be
 * cancelled, and reports progress when asked.
 */
record McpTool(String name, String description, Map<String, Object> inputSchema, Map<String, Object> outputSchema, Hints hints, Handler handler) {
    /** A tool with the envelope as its output schema, read-only or else destructive. */
    McpTool(String name, String description, Map<String, Object> inputSchema, boolean readOnly, Handler handler) {
        this(name, description, inputSchema, McpOutput.plain(), readOnly ? Hints.reads(name) : Hints.changes(name, true, false), handler);
    }

    /** The tool's title and what it does to the world, as MCP's annotations tell a client (which may ask the person before a destructive one). */
    record Hints(String title, boolean readOnly, boolean destructive, boolean idempotent, boolean openWorld) {
        /** Only reads, on the server: repeating it changes nothing. */
        static Hints reads(String title) {
            return new Hints(title, true, false, true, true);
        }

        /** Changes something; DESTRUCTIVE when it may delete or replace what was there; IDEMPOTENT when repeating it adds nothing. */
        static Hints changes(String title, boolean destructive, boolean idempotent) {
            return new Hints(title, false, destructive, idempotent, true);
        }

        /** Reads only what this MCP server knows, no server. */
        static Hints local(String title) {
            return new Hints(title, true, false, true, false);
        }

        McpSchema.ToolAnnotations annotations() {
            return new McpSchema.ToolAnnotations(title, readOnly, destructive, idempotent, openWorld, null);
        }
    }

    interface Handler {
        Map<String, Object> call(McpArgs args);
    }

    SyncToolSpecification specification() {
        McpSchema.Tool tool = McpSchema.Tool.builder(name, inputSchema).title(hints.title()).description(description)
                .outputSchema(outputSchema).annotations(hints.annotations()).build();
        return SyncToolSpecification.builder().tool(tool).callHandler((exchange, request) -> {
            Audit.caller(exchange.getClientInfo() != null ? "mcp:" + exchange.getClientInfo().name() : "mcp");
            Object requestId = request.meta() == null ? null : request.meta().get(McpCalls.REQUEST_ID_META);
            try (McpCalls.Call running = McpCalls.begin(requestId, McpProgress.of(exchange, request, System.err))) {
                return call(request.arguments(), McpConfirm.through(exchange), running);
            }
        }).build();
    }

    /**
     * Runs the handler and always answers: a bug of ours, or an Error (OutOfMemoryError,
     * StackOverflowError, AssertionError), becomes this call's tool error, never the session's end.
     * The SDK would not do that: Reactor rethrows a VirtualMachineError from the handler on its worker
     * thread, and the call is then never answered.
     */
    McpSchema.CallToolResult call(Map<String, Object> arguments) {
        try (McpCalls.Call running = McpCalls.begin(null, null)) {
            return call(arguments, Guard.Confirmer.NOBODY, running);
        }
    }

    private McpSchema.CallToolResult call(Map<String, Object> arguments, Guard.Confirmer confirmer, McpCalls.Call running) {
        long start = System.nanoTime();
        McpArgs args = new McpArgs(arguments, confirmer);
        try {
            return toResult(cancelledIf(running, handle(args, start)));
        } catch (RuntimeException | Error e) {
            // Writing the result failed (e.g. no memory for its JSON): the short failure still fits.
            return toResult(internalFailure(args, e, start));
        }
    }

    /**
     * A cancelled call's result says so, whatever its work returned when its stops ended it (an exit
     * by TERM, an interrupted wait); a job it named stays, reported killed by job_status.
     */
    private static Map<String, Object> cancelledIf(McpCalls.Call running, Map<String, Object> result) {
        String why = running.cancelledBecause();
        if (why == null) {
            return result;
        }
        Map<String, Object> r = new java.util.LinkedHashMap<>(result);
        r.put("status", "failed");
        r.put("error", Interrupts.error(why + "; what it started on the server was stopped",
                r.get("job") == null ? "run it again if it is still needed" : "job_status " + r.get("job") + " says how the job ended (killed)"));
        return r;
    }

    private Map<String, Object> handle(McpArgs args, long start) {
        Audit.newCall();
        // One audit line per server: a "targets" call writes one per host (McpFleet.onHost); list_targets is local.
        Audit audit = name.equals("list_targets") || args.hasTargets() ? null : Audit.ofTool(name, args.values());
        Map<String, Object> result = handleUnaudited(args, start);
        if (audit != null) {
            audit.endTool(result, System.err);
        }
        return result;
    }

    private Map<String, Object> handleUnaudited(McpArgs args, long start) {
        try {
            return handler.call(args);
        } catch (VpsException e) {
            return Json.failure(args.target(), args.label(name), e, (System.nanoTime() - start) / 1_000_000);
        } catch (java.util.concurrent.CancellationException e) {
            // A transfer of a cancelled call stopped at its next packet (McpTransferFeed): no bug of ours.
            Map<String, Object> r = Json.envelope(null, args.label(name), "failed", null, (System.nanoTime() - start) / 1_000_000, null);
            r.put("error", Interrupts.error("the transfer was stopped", "run it again to resume it"));
            return r;
        } catch (RuntimeException | Error e) {
            return internalFailure(args, e, start);
        }
    }

    private Map<String, Object> internalFailure(McpArgs args, Throwable e, long start) {
        // For the server's stderr log: the top of the stack only (a StackOverflowError has 1,024 identical frames).
        System.err.println("mcp-server: internal error in " + name + ": " + e);
        java.util.Arrays.stream(e.getStackTrace()).limit(20).forEach(frame -> System.err.println("\tat " + frame));
        String hint = e instanceof OutOfMemoryError
                ? "mcp-server ran out of memory in this call (it is freed again): ask for less (a smaller max_bytes or max_output), or use download"
                : "retry once; if it repeats, report it with the server's stderr";
        VpsException internal = new VpsException(VpsException.Kind.PROTOCOL, "internal error in " + name + ": " + e, hint, false, e);
        return Json.failure(args.target(), args.label(name), internal, (System.nanoTime() - start) / 1_000_000);
    }

    /** The result as structuredContent and, for clients older than it, the same JSON as text (then the error's two lines). */
    private static McpSchema.CallToolResult toResult(Map<String, Object> result) {
        McpSchema.CallToolResult.Builder out = McpSchema.CallToolResult.builder().structuredContent(result).addTextContent(Json.write(result));
        if (result.get("error") instanceof Map<?, ?> error) {
            out.addTextContent("vps: " + error.get("kind") + ": " + error.get("message") + (error.get("hint") == null ? "" : "\nhint: " + error.get("hint")));
            out.isError(true);
        } else {
            out.isError(false);
        }
        return out.build();
    }

    /** An object schema built property by property; every tool also takes "target". */
    static final class Schema {
        private final Map<String, Object> properties = new LinkedHashMap<>();
        private final List<String> required = new ArrayList<>();

        Schema text(String name, String description) {
            return property(name, Map.of("type", "string", "description", description));
        }

        Schema requiredText(String name, String description) {
            required.add(name);
            return text(name, description);
        }

        Schema integer(String name, String description) {
            return property(name, Map.of("type", "integer", "minimum", 0, "description", description));
        }

        Schema flag(String name, String description) {
            return property(name, Map.of("type", "boolean", "description", description));
        }

        Schema choice(String name, String description, String... values) {
            return property(name, Map.of("type", "string", "enum", List.of(values), "description", description));
        }

        Schema strings(String name, String description) {
            return property(name, Map.of("type", "object", "additionalProperties", Map.of("type", "string"), "description", description));
        }

        /**
         * "targets" and "forks": the same call on several servers at once (see McpFleet); the result
         * is then one object with every host's result by name, the groups and a summary.
         */
        Schema fleet() {
            property("targets", Map.of("anyOf", List.of(Map.of("type", "array", "items", Map.of("type", "string"), "minItems", 1), Map.of("type", "string")),
                    "description", "Run this call on several servers instead of one: either a list of target names, each as 'target' takes "
                            + "(e.g. [\"web1\", \"deploy@10.0.0.5:2222\"]), or one string that is a pattern over the inventory this "
                            + "server was started with (--inventory or VPS_INVENTORY), in Ansible's pattern language: \"webservers\", "
                            + "\"web*\", \"webservers:&prod\", \"all:!db1\". Not together with 'target'. The result is one object: "
                            + "hosts (each server's own result by name), groups (servers with identical output and exit code) and "
                            + "summary {ok, failed, unreachable, skipped}; exitCode 0 all ok, 1 some failed, 255 some unreachable."));
            return integer("forks", "With targets: how many servers run at once (default 10, at most 500).");
        }

        private Schema property(String name, Map<String, Object> spec) {
            properties.put(name, spec);
            return this;
        }

        Map<String, Object> build() {
            Map<String, Object> all = new LinkedHashMap<>(properties);
            all.put("target", Map.of("type", "string", "description",
                    "Which server: an ~/.ssh/config alias, [user@]host[:port], or omit for the default target the server was started with (list_targets names them)."));
            Map<String, Object> schema = new LinkedHashMap<>();
            schema.put("type", "object");
            schema.put("properties", all);
            schema.put("required", required);
            schema.put("additionalProperties", false);
            return schema;
        }
    }
}
