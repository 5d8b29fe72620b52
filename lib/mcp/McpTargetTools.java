import java.util.List;
import java.util.Map;

/** mcp-server's list_targets and diagnose_auth. */
final class McpTargetTools {
    private final TargetNames names;
    private final SessionPool connections;

    McpTargetTools(TargetNames names, SessionPool connections) {
        this.names = names;
        this.connections = connections;
    }

    List<McpTool> tools() {
        return List.of(
                new McpTool("list_targets",
                        "List the servers this MCP server can reach by name: the default target it was started with, then every "
                                + "host of its inventory (--inventory), then every alias of the ssh config, each with host, port, user, whether a connection is open now, and any "
                                + "problem resolving it. Pass a name as 'target' to the other tools.",
                        new McpTool.Schema().build(), McpOutput.listTargets(), McpTool.Hints.local("List targets"), this::list),
                new McpTool("diagnose_auth",
                        "When a call fails with AUTH, HOSTKEY or NETWORK: explain why login to the target fails, check by check "
                                + "(DNS, TCP, banner, algorithms, host key, key files, agent, each key against the server, the account), "
                                + "and return a verdict with cause, evidence and the exact fix to apply or show the user. "
                                + "exitCode 0: login works; 1: it does not; 255: the host cannot be reached.",
                        new McpTool.Schema()
                                .flag("accept_new", "Record the server's host key in known_hosts when it is not known yet (trust on first use). "
                                        + "Default false: diagnose_auth only reads, whatever the target's settings say, and reports an unknown key with its fingerprint.")
                                .flag("fix_script", "Also return fix.script when the server refuses the key login for a cause on its side (no such user, a "
                                        + "nologin shell, the key missing, owners or modes, sshd settings): a POSIX sh script for the person to run as root "
                                        + "in the provider's web console, which checks and fixes each cause it finds. Show it to the user; it needs no SSH.")
                                .fleet().build(), McpOutput.diagnoseAuth(), McpTool.Hints.reads("Diagnose a failing login"),
                        new McpFleet(names).each("diagnose_auth", this::diagnose)));
    }

    /** T, recording an unknown host key (its own and its jump hosts') only when ACCEPT_NEW: a read-only tool writes nothing unasked. */
    private static Target recordingHostKeys(Target t, boolean acceptNew) {
        Target.HostKeyPolicy k = t.hostKeys();
        return new Target(t.alias(), t.host(), t.port(), t.user(), t.credentials(), new Target.HostKeyPolicy(k.knownHosts(), k.pinned(), acceptNew, k.alias()),
                t.connectTimeout(), t.aliveInterval(), t.aliveCountMax(), t.algorithms(),
                t.jumps().stream().map(hop -> recordingHostKeys(hop, acceptNew)).toList(), t.origins(), t.notes());
    }

    private Map<String, Object> list(McpArgs args) {
        long start = System.nanoTime();
        Map<String, Object> r = Json.envelope(null, "list_targets", "exited", 0, 0, null);
        r.put("targets", names.list(name -> names.connected(name, connections)));
        r.put("durationMs", (System.nanoTime() - start) / 1_000_000);
        return r;
    }

    private Map<String, Object> diagnose(McpArgs args) {
        long start = System.nanoTime();
        Target t = recordingHostKeys(names.resolve(names.nameOrDefault(args.target())), args.flag("accept_new"));
        AuthDiagnosis d = new AuthDiagnosis(t, null).run();
        Map<String, Object> r = Json.envelope(t.host(), "diagnose-auth " + t.display(), "exited", d.exitCode(), (System.nanoTime() - start) / 1_000_000, null);
        r.put("checks", d.checks.stream().map(Json::fields).toList());
        r.put("verdict", Json.fields(d.verdict));
        if (args.flag("fix_script")) {
            r.put("fix", Json.fields(FixScript.of(d, t.user())));
        }
        return r;
    }
}
