import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** mcp-server's tunnel tools: the `tunnel` command's start, status and stop (each tunnel runs in its own background process, see {@link Tunnels}). */
final class McpTunnelTools {
    private final TargetNames names;
    private final SessionPool connections;
    private final PrintStream err;

    McpTunnelTools(TargetNames names, SessionPool connections, PrintStream err) {
        this.names = names;
        this.connections = connections;
        this.err = err;
    }

    List<McpTool> tools() {
        return List.of(
                new McpTool("tunnel_start",
                        "Forward ports to or from a server and keep the forward up across dropped connections and server restarts, "
                                + "like ssh -L/-R/-D with autossh; returns at once with the tunnel id once it is up. Use it to reach a "
                                + "service that listens only on the server (PostgreSQL on 127.0.0.1:5432, the Docker socket, an admin UI) "
                                + "from later commands on this machine. Stop it with tunnel_stop when done; tunnel_status shows whether it is up.",
                        new McpTool.Schema()
                                .text("local", "-L forwards, space-separated: [BIND:]PORT:HOST:HOSTPORT (HOST as the server sees it, e.g. "
                                        + "'5432:127.0.0.1:5432'), or [BIND:]PORT:/remote/unix.sock (e.g. '2375:/var/run/docker.sock'). PORT 0: any free port.")
                                .text("remote", "-R forwards, space-separated: [BIND:]PORT:HOST:HOSTPORT: the server's PORT reaches HOST:HOSTPORT as this machine sees it.")
                                .text("socks", "-D SOCKS5 proxies, space-separated: [BIND:]PORT (names resolve on the server).")
                                .flag("bind_any", "Allow a bind address other than loopback (reachable from other machines).")
                                .text("idle", "End the tunnel after this long with no client connection open, e.g. '30m', or 'never' (default: mcp-server's VPS_PERSIST, else 10m).")
                                .build(),
                        McpOutput.tunnel(), McpTool.Hints.changes("Start a tunnel", false, false), this::start),
                new McpTool("tunnel_status",
                        "A tunnel's state (status up | reconnecting | failed with its error | stopped | lost; since; forwards with their "
                                + "ports; bytesIn/bytesOut; connectionsOpen/connectionsTotal; lastError), or every tunnel without 'id'.",
                        new McpTool.Schema().text("id", "The tunnel id from tunnel_start; omit for all.").build(),
                        McpOutput.tunnel(), McpTool.Hints.local("Tunnel status"), this::status),
                new McpTool("tunnel_stop",
                        "Stop a tunnel (its ports are released) and forget it; all=true stops every tunnel.",
                        new McpTool.Schema().text("id", "The tunnel id.").flag("all", "Stop every tunnel.").build(),
                        McpOutput.tunnel(), McpTool.Hints.changes("Stop a tunnel", true, true), this::stop));
    }

    private Map<String, Object> start(McpArgs args) {
        TunnelOptions o = new TunnelOptions();
        List<String> forwardArgs = new ArrayList<>();
        addAll(forwardArgs, "-L", args.text("local"), o.local);
        addAll(forwardArgs, "-R", args.text("remote"), o.remote);
        addAll(forwardArgs, "-D", args.text("socks"), o.socks);
        o.bindAny = args.flag("bind_any");
        o.idle = args.text("idle");
        List<TunnelSpec> specs = o.specs(err);
        Tunnels.refuseHeldPorts(specs);   // as tunnel start does: a port one of ours holds is named by its id
        if (o.bindAny) {
            forwardArgs.add("--bind-any");
        }
        forwardArgs.addAll(o.idleArgs());
        String shown = "tunnel " + String.join(", ", specs.stream().map(s -> s.describe(s.port())).toList());
        String name = names.nameOrDefault(args.target());
        Target t = McpConfirm.checked(args, names, name, connections, PolicyAction.of(PolicyAction.Kind.TUNNEL_START, List.of(), false, shown));
        List<String> daemonArgs = new ArrayList<>(targetArgs(t));
        daemonArgs.addAll(forwardArgs);
        return Tunnels.start(Tunnels.newId(), daemonArgs, t.connectTimeout()).toJson();
    }

    /**
     * Target options that make a tunnel's process resolve T again (mcp-server's tunnel_start, which has a
     * resolved target rather than a command line): its name (an ssh config alias resolves as before),
     * and what was resolved for it. Secrets are never here: the process reads them from the same environment.
     */
    private static List<String> targetArgs(Target t) {
        if (TargetNames.SANDBOX.equals(t.alias()) && t.origins().getOrDefault("host", "").startsWith("sandbox ")) {
            return List.of("--sandbox");
        }
        List<String> a = new ArrayList<>(List.of("-H", t.alias() != null ? t.alias() : t.host(), "-p", Integer.toString(t.port()), "-u", t.user(),
                "--connect-timeout", t.connectTimeout().toMillis() + "ms"));
        t.identities().forEach(i -> a.addAll(List.of("-i", i.toString())));
        if (t.knownHosts() != null) {
            a.addAll(List.of("--known-hosts", t.knownHosts().toString()));
        }
        if (t.pinnedHostKey() != null) {
            a.addAll(List.of("--host-key", t.pinnedHostKey()));
        }
        if (t.passwordAuth()) {
            a.add("--password-auth");
        }
        if (!t.jumps().isEmpty()) {
            a.addAll(List.of("-J", String.join(",", t.jumps().stream().map(j -> j.user() + "@" + j.host() + ":" + j.port()).toList())));
        }
        return a;
    }

    private static void addAll(List<String> args, String option, String specs, List<String> into) {
        if (specs != null) {
            for (String s : specs.trim().split("[\\s,]+")) {
                if (!s.isEmpty()) {
                    args.add(option);
                    args.add(s);
                    into.add(s);
                }
            }
        }
    }

    private Map<String, Object> status(McpArgs args) {
        String id = args.text("id");
        if (id == null) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("tunnels", Tunnels.list().stream().map(Tunnels.Entry::toJson).toList());
            return r;
        }
        Tunnels.Entry e = Tunnels.read(id);
        if (e == null) {
            throw VpsException.config("no tunnel " + id, "tunnel_status without id lists the tunnels");
        }
        return e.toJson();
    }

    private Map<String, Object> stop(McpArgs args) {
        String id = args.text("id");
        boolean all = args.flag("all");
        if ((id == null) == !all) {
            throw VpsException.config(all ? "give id or all, not both" : "no tunnel named", "pass id (from tunnel_start), or all: true");
        }
        List<String> stopped = new ArrayList<>();
        for (String one : all ? Tunnels.list().stream().map(Tunnels.Entry::id).toList() : List.of(id)) {
            if (Tunnels.stop(one) == null) {
                throw VpsException.config("no tunnel " + one, "tunnel_status without id lists the tunnels");
            }
            stopped.add(one);
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("stopped", stopped);
        r.put("error", null);
        return r;
    }
}
