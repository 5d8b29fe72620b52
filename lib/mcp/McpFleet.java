import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * A tool call with "targets": the tool's own one-server handler once per host ("target" naming it,
 * so every single-server guarantee holds), at most "forks" at once through FleetRun, answered with
 * FleetResult.toJson() (hosts by name, groups, summary) and the usual fields. The call is a tool error
 * when some host's result is one, and its error names those hosts.
 */
final class McpFleet {
    private final TargetNames names;

    McpFleet(TargetNames names) {
        this.names = names;
    }

    /** HANDLER, which serves one server, made to take "targets" too. */
    McpTool.Handler each(String tool, McpTool.Handler handler) {
        return each(tool, UnaryOperator.identity(), handler);
    }

    /**
     * The same, with ONCE adjusting the arguments one time for the whole set (job_start: one id that
     * every host shares) and PER_HOST for each host (download: into local/NAME/).
     */
    McpTool.Handler each(String tool, UnaryOperator<McpArgs> once, BiFunction<McpArgs, FleetHost, McpArgs> perHost, McpTool.Handler handler) {
        return args -> {
            Object targets = args.targets();
            return targets == null ? handler.call(args) : run(tool, names.hosts(targets), once.apply(args), perHost, handler);
        };
    }

    McpTool.Handler each(String tool, UnaryOperator<McpArgs> once, McpTool.Handler handler) {
        return each(tool, once, (args, host) -> args, handler);
    }

    private Map<String, Object> run(String tool, List<FleetHost> hosts, McpArgs args, BiFunction<McpArgs, FleetHost, McpArgs> perHost,
                                    McpTool.Handler handler) {
        long start = System.nanoTime();
        FleetResult result = FleetRun.run(hosts, new FleetPlan(args.forks(), null, 0),
                host -> onHost(tool, host, () -> perHost.apply(args.forHost(host.name()), host), handler));
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("command", args.label(tool));
        r.put("status", "exited");
        r.put("exitCode", result.exitCode());
        r.put("durationMs", (System.nanoTime() - start) / 1_000_000);
        r.putAll(result.toJson());
        VpsException problem = problem(result);
        r.put("error", problem == null ? null : Json.error(problem));
        return r;
    }

    /** One host's call, as it would answer for that host alone; a failure is its envelope, never the whole call's. */
    static HostResult onHost(String tool, FleetHost host, Supplier<McpArgs> hostArgs, McpTool.Handler handler) {
        long start = System.nanoTime();
        Map<String, Object> envelope;
        McpArgs args = null;
        Audit audit = null;
        try {
            args = hostArgs.get();
            audit = Audit.ofTool(tool, args.values());
            envelope = handler.call(args);
        } catch (VpsException e) {
            envelope = Json.failure(host.name(), args == null ? tool : args.label(tool), e, (System.nanoTime() - start) / 1_000_000);
        }
        (audit != null ? audit : Audit.ofTool(tool, Map.of("target", host.name()))).endTool(envelope, System.err);
        Object exit = envelope.get("exitCode");
        String kind = envelope.get("error") instanceof Map<?, ?> error ? String.valueOf(error.get("kind")) : null;
        // A kind only says "not reached" when the failure came before the command had an exit code of its own.
        return HostResult.of(host, exit instanceof Number n ? n.intValue() : kind == null ? 0 : exitCodeOf(kind),
                exit == null ? kind : null, envelope, text(envelope, "stdout"), text(envelope, "stderr"));
    }

    private static int exitCodeOf(String kind) {
        try {
            return new VpsException(VpsException.Kind.valueOf(kind), "", null, false, null).exitCode();
        } catch (IllegalArgumentException e) {
            return 1;
        }
    }

    private static String text(Map<String, Object> envelope, String stream) {
        return envelope.get(stream) instanceof String s ? s : "";
    }

    /** The whole call's error when some host's result is a tool error: which hosts, the first one's own words, where the rest are. */
    static VpsException problem(FleetResult result) {
        List<HostResult> failed = result.hosts().stream().filter(h -> h.envelope() != null && h.envelope().get("error") instanceof Map<?, ?>).toList();
        if (failed.isEmpty()) {
            return null;
        }
        HostResult first = failed.stream().filter(h -> h.outcome() == HostResult.Outcome.UNREACHABLE).findFirst().orElse(failed.get(0));
        Map<?, ?> error = (Map<?, ?>) first.envelope().get("error");
        VpsException.Kind kind;
        try {
            kind = VpsException.Kind.valueOf(String.valueOf(error.get("kind")));
        } catch (IllegalArgumentException e) {
            kind = VpsException.Kind.REMOTE;
        }
        List<String> which = failed.stream().map(h -> h.host().name()).toList();
        return new VpsException(kind, which.size() + " of " + result.hosts().size() + " servers failed (" + String.join(", ", which) + "); "
                + first.host().name() + ": " + error.get("message"),
                "each server's own error and hint is under hosts.NAME.error; once fixed, repeat the call with targets " + Json.write(which),
                false, null);
    }
}
