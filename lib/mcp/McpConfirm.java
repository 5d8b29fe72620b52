import io.modelcontextprotocol.server.McpSyncServerExchange;
import io.modelcontextprotocol.spec.McpSchema;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The owner's confirm rule through MCP: the client is asked by elicitation (form mode: the target and the
 * exact command) when it declared that capability; accept runs the call, decline or cancel refuses it,
 * and a client without the capability cannot be asked (the call is refused with a hint).
 */
final class McpConfirm {
    private McpConfirm() {}

    /**
     * The target NAME resolves to (its warm session's, from CONNECTIONS), checked against the owner's
     * policy for ACTION (a rule's match also sees NAME's name and groups in the server's inventory),
     * asking through the call's client.
     */
    static Target checked(McpArgs args, TargetNames names, String name, SessionPool connections, PolicyAction action) {
        Target t = names.resolveFor(name, connections);
        Guard.check(t, names.inventoryNamesOf(name), action, args.confirmer());
        return t;
    }

    /** The same for the action ARGS carry (McpArgs.withPolicy), if any. */
    static Target checked(McpArgs args, TargetNames names, String name, SessionPool connections) {
        return args.policyAction() == null ? names.resolveFor(name, connections) : checked(args, names, name, connections, args.policyAction());
    }

    static Guard.Confirmer through(McpSyncServerExchange exchange) {
        if (exchange == null) {
            return Guard.Confirmer.NOBODY;
        }
        return (target, what, reason) -> {
            McpSchema.ClientCapabilities caps = exchange.getClientCapabilities();
            McpSchema.ClientCapabilities.Elicitation elicitation = caps == null ? null : caps.elicitation();
            if (elicitation == null || elicitation.form() == null && elicitation.url() != null) {
                return null;   // no form elicitation: nobody can be asked
            }
            Map<String, Object> properties = new LinkedHashMap<>();
            properties.put("target", Map.of("type", "string", "title", "Target", "default", target));
            properties.put("command", Map.of("type", "string", "title", "Command", "default", what));
            McpSchema.ElicitRequest request = McpSchema.ElicitRequest.builder()
                    .message("The server owner's policy asks you to confirm (" + reason + ").\nTarget: " + target + "\nCommand: " + what
                            + "\nAccept to run it, decline to refuse it.")
                    .requestedSchema(Map.of("type", "object", "properties", properties))
                    .build();
            try {
                return exchange.createElicitation(request).action() == McpSchema.ElicitResult.Action.ACCEPT;
            } catch (RuntimeException e) {
                return false;   // no answer: not a yes
            }
        };
    }
}
