///usr/bin/env jbang "$0" "$@" ; exit $?
//MAIN TunnelCommand
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto
//DESCRIPTION -L / -R / -D forwards to a server kept alive across drops: start (detached) / status / list / stop.
//SOURCES ../lib/Deps.java
//SOURCES ../lib/util/ColdRun.java ../lib/util/Daemons.java ../lib/util/Durations.java ../lib/util/Environment.java
//SOURCES ../lib/util/Interrupts.java ../lib/util/Json.java ../lib/util/LocalFolders.java ../lib/util/Processes.java
//SOURCES ../lib/util/Sha256.java ../lib/util/ShellQuote.java ../lib/util/VpsException.java
//SOURCES ../lib/util/YamlDocument.java
//SOURCES ../lib/target/HostSpec.java ../lib/target/SshConfig.java ../lib/target/Target.java
//SOURCES ../lib/target/TargetOptions.java ../lib/target/TargetResolver.java
//SOURCES ../lib/ssh/Fingerprints.java ../lib/ssh/HostKeyVerifier.java ../lib/ssh/Identities.java
//SOURCES ../lib/ssh/JumpProxy.java ../lib/ssh/KeyFiles.java ../lib/ssh/Reconnect.java ../lib/ssh/ServerProbe.java
//SOURCES ../lib/ssh/SessionPool.java ../lib/ssh/VpsConnection.java
//SOURCES ../lib/exec/ExecOutcome.java ../lib/exec/ExecRunner.java ../lib/exec/Heartbeat.java ../lib/exec/InputWait.java
//SOURCES ../lib/exec/Interaction.java ../lib/exec/Privilege.java ../lib/exec/PromptRules.java
//SOURCES ../lib/exec/RemoteCommand.java ../lib/exec/RemoteLock.java ../lib/exec/SecretRedactor.java
//SOURCES ../lib/exec/Signals.java ../lib/exec/StartGate.java ../lib/exec/Terminal.java
//SOURCES ../lib/transfer/TransferReport.java ../lib/transfer/TransferResult.java
//SOURCES ../lib/sandbox/Sandbox.java ../lib/sandbox/SandboxServer.java
//SOURCES ../lib/fleet/FleetAware.java ../lib/fleet/FleetHost.java ../lib/fleet/FleetOptions.java
//SOURCES ../lib/fleet/FleetPlan.java ../lib/fleet/FleetResult.java ../lib/fleet/FleetRun.java
//SOURCES ../lib/fleet/HostAddress.java ../lib/fleet/HostOutput.java ../lib/fleet/HostPattern.java
//SOURCES ../lib/fleet/HostResult.java ../lib/fleet/HostSet.java ../lib/fleet/IniInventory.java
//SOURCES ../lib/fleet/Inventory.java ../lib/fleet/InventoryModel.java ../lib/fleet/YamlInventory.java
//SOURCES ../lib/audit/Audit.java ../lib/audit/AuditLog.java
//SOURCES ../lib/policy/Decision.java ../lib/policy/Guard.java ../lib/policy/Policy.java ../lib/policy/PolicyAction.java
//SOURCES ../lib/policy/PolicyOptions.java ../lib/policy/ReadOnlyPrograms.java ../lib/policy/ShellCommands.java
//SOURCES ../lib/tunnel/PortHolder.java ../lib/tunnel/RemoteForwardSockets.java ../lib/tunnel/Socks5.java
//SOURCES ../lib/tunnel/Tunnel.java ../lib/tunnel/TunnelDaemon.java ../lib/tunnel/TunnelOptions.java
//SOURCES ../lib/tunnel/TunnelSpec.java ../lib/tunnel/Tunnels.java
//SOURCES ../lib/cli/Cli.java ../lib/cli/FleetCli.java ../lib/cli/ParentCommand.java

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "tunnel", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
        description = {"Forwards to a server's ports kept up like autossh: `start` returns at once with an id while the tunnel runs",
                "in a background process of its own; the local ports stay bound while a dropped login is replaced (keepalive,",
                "reconnect with backoff, the host key verified again). A failure that will not heal (AUTH, HOSTKEY, the server",
                "refusing the forward) stops the tunnel with that error in its status. Local binds default to 127.0.0.1.",
                "Exit codes: 0; 1 status of a tunnel that is not up; 2 CONFIG (bad forward, local port in use, no such tunnel)."},
        subcommands = {TunnelCommand.Start.class, TunnelCommand.Status.class, TunnelCommand.ListTunnels.class, TunnelCommand.Stop.class},
        footer = {"", "Examples:",
                "  export T=$(tunnel -H vps start -L 15432:127.0.0.1:5432)   # the server's PostgreSQL on local port 15432",
                "  tunnel -H vps start -L 12375:/var/run/docker.sock -D 11080   # its Docker socket; a SOCKS5 proxy",
                "  tunnel status \"$T\" --json",
                "  tunnel stop --all"})
class TunnelCommand extends ParentCommand {
    TunnelCommand() {
        this(System.out, System.err);
    }

    TunnelCommand(PrintStream out, PrintStream err) {
        super(out, err);
    }

    public static void main(String... args) {
        Cli.main(new TunnelCommand(), args);
    }

    /** One line for a person: id, status, target, forwards, traffic. */
    static String line(Tunnels.Entry e) {
        Map<String, Object> m = e.toJson();
        StringBuilder b = new StringBuilder(e.id()).append("  ").append(statusWords(m));
        if (m.get("target") != null) {
            b.append("  ").append(m.get("target"));
        }
        if (m.get("forwards") instanceof List<?> forwards) {
            forwards.forEach(f -> b.append("  ").append(((Map<?, ?>) f).get("describe")));
        }
        if (m.get("bytesIn") != null) {
            b.append("  in ").append(m.get("bytesIn")).append(" B  out ").append(m.get("bytesOut")).append(" B  connections ")
                    .append(m.get("connectionsOpen")).append(" open / ").append(m.get("connectionsTotal")).append(" total");
        }
        if (m.get("lastError") != null) {
            b.append("  last error: ").append(m.get("lastError"));
        }
        return b.toString();
    }

    private static String statusWords(Map<String, Object> m) {
        String status = String.valueOf(m.get("status"));
        return switch (status) {
            case "up", "reconnecting" -> status + " since " + m.get("since");
            case "failed" -> "failed: " + (m.get("error") instanceof Map<?, ?> err ? err.get("kind") + ": " + err.get("message") : "?");
            case "stopped" -> "stopped" + (m.get("ended") != null ? " (" + m.get("ended") + ")" : "");
            case "lost" -> "lost: its process ended without a word (killed?)";
            default -> status;
        };
    }

    @Command(name = "start", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
            description = "Start a tunnel in the background and print its id (--json: {\"tunnel\",\"status\",\"forwards\",...}) once it is up; with --foreground, run it here until Ctrl-C.")
    static final class Start implements Callable<Integer> {
        @CommandLine.ParentCommand
        TunnelCommand parent;

        @Mixin
        TunnelOptions forwards;

        @Mixin
        PolicyOptions policy;

        @Option(names = "--foreground", description = "Run the tunnel in this process until Ctrl-C, printing each change of state on stderr.")
        boolean foreground;

        @Override
        public Integer call() {
            Audit audit = Audit.start("tunnel_start");
            Target t = null;
            try {
                List<TunnelSpec> specs = forwards.specs(parent.err);
                t = parent.target.resolve(parent.err);
                List<String> shown = specs.stream().map(s -> s.describe(s.port())).toList();
                audit.target(t).put("forwards", shown);
                policy.check(t, parent.target.inventoryNames, PolicyAction.of(PolicyAction.Kind.TUNNEL_START, List.of(), false,
                        "tunnel " + String.join(", ", shown)), System.in, parent.err);
                return foreground ? runHere(t, specs, audit) : detach(t, specs, audit);
            } catch (VpsException e) {
                if (t != null) {
                    audit.write("failed", null, null, parent.err);
                }
                if (parent.json) {
                    parent.out.println(Json.write(Json.failure(t == null ? null : t.host(), "tunnel start", e, 0)));
                }
                return Cli.fail(e, parent.err);
            }
        }

        private int detach(Target t, List<TunnelSpec> specs, Audit audit) {
            Tunnels.refuseHeldPorts(specs);
            String id = Tunnels.newId();
            audit.put("id", id);
            List<String> args = new ArrayList<>(parent.spec.commandLine().getParseResult().originalArgs());
            if (forwards.idle == null) {
                args.addAll(forwards.idleArgs());   // the default as this call's environment says it, not the tunnel process's
            }
            Tunnels.Entry e = Tunnels.start(id, args, t.connectTimeout());
            audit.put("hostKey", e.state().get("hostKey"));
            audit.write("ok", 0, null, parent.err);
            if (parent.json) {
                parent.out.println(Json.write(e.toJson()));
            } else {
                parent.out.println(id);
                parent.err.println(line(e));
            }
            return 0;
        }

        private int runHere(Target t, List<TunnelSpec> specs, Audit audit) {
            Tunnel tunnel = new Tunnel(t, specs, changed -> parent.err.println("tunnel: " + changed.status().name().toLowerCase(java.util.Locale.ROOT)
                    + (changed.error() != null ? ": " + changed.error().describe() : "")));
            tunnel.start();
            audit.put("hostKey", tunnel.snapshot().get("hostKey"));
            audit.write("ok", 0, null, parent.err);
            tunnel.forwards().forEach(f -> parent.err.println("  " + f.get("describe")));
            parent.err.println("Ctrl-C ends it");
            try (Interrupts.Registration stop = Interrupts.stopping(tunnel::close)) {
                while (tunnel.status() == Tunnel.Status.UP || tunnel.status() == Tunnel.Status.RECONNECTING) {
                    Thread.sleep(500);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                tunnel.close();
            }
            if (Interrupts.happened()) {
                return Interrupts.EXIT;
            }
            return tunnel.error() == null ? 0 : Cli.fail(tunnel.error(), parent.err);
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
            description = "One tunnel (up | reconnecting since T | failed: error; bytes in/out, connections open/total, last error), or all of them. Exit 0 when it is up or reconnecting.")
    static final class Status implements Callable<Integer> {
        @CommandLine.ParentCommand
        TunnelCommand parent;

        @Parameters(paramLabel = "ID", arity = "0..1", description = "The tunnel (tunnel list shows them); without it, every tunnel.")
        String id;

        @Override
        public Integer call() {
            if (id == null) {
                return listAll(parent);
            }
            try {
                Tunnels.Entry e = Tunnels.read(id);
                if (e == null) {
                    throw VpsException.config("no tunnel " + id, "tunnel list shows the tunnels that run");
                }
                if (parent.json) {
                    parent.out.println(Json.write(e.toJson()));
                } else {
                    parent.out.println(line(e));
                }
                return switch (e.status()) {
                    case "up", "reconnecting" -> 0;
                    case "failed" -> e.failure() != null ? Cli.fail(e.failure(), parent.err) : 1;
                    default -> 1;
                };
            } catch (VpsException e) {
                if (parent.json) {
                    parent.out.println(Json.write(Json.failure(null, "tunnel status", e, 0)));
                }
                return Cli.fail(e, parent.err);
            }
        }
    }

    static int listAll(TunnelCommand parent) {
        try {
            List<Tunnels.Entry> all = Tunnels.list();
            if (parent.json) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("tunnels", all.stream().map(Tunnels.Entry::toJson).toList());
                parent.out.println(Json.write(r));
            } else {
                all.forEach(e -> parent.out.println(line(e)));
                if (all.isEmpty()) {
                    parent.out.println("no tunnels");
                }
            }
            return 0;
        } catch (VpsException e) {
            return Cli.fail(e, parent.err);
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
            description = "Every tunnel of this user (--json: {\"tunnels\": [...]}); failed ones stay listed until tunnel stop.")
    static final class ListTunnels implements Callable<Integer> {
        @CommandLine.ParentCommand
        TunnelCommand parent;

        @Override
        public Integer call() {
            return listAll(parent);
        }
    }

    @Command(name = "stop", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
            description = "End a tunnel (its local ports are released) and forget it; --all: every one.")
    static final class Stop implements Callable<Integer> {
        @CommandLine.ParentCommand
        TunnelCommand parent;

        @Parameters(paramLabel = "ID", arity = "0..1", description = "The tunnel to stop.")
        String id;

        @Option(names = "--all", description = "Stop every tunnel.")
        boolean all;

        @Override
        public Integer call() {
            try {
                if ((id == null) == !all) {
                    throw VpsException.config(all ? "give an ID or --all, not both" : "no tunnel named", "tunnel stop ID, or tunnel stop --all");
                }
                List<String> ids = all ? Tunnels.list().stream().map(Tunnels.Entry::id).toList() : List.of(id);
                List<String> stopped = new ArrayList<>();
                for (String one : ids) {
                    Tunnels.Entry e = Tunnels.stop(one);
                    if (e == null) {
                        throw VpsException.config("no tunnel " + one, "tunnel list shows the tunnels that run");
                    }
                    audit(e);
                    stopped.add(one);
                    if (!parent.json) {
                        parent.out.println(one + "  stopped" + (e.alive() ? "" : " (it was " + e.status() + ")"));
                    }
                }
                if (parent.json) {
                    parent.out.println(Json.write(Map.of("stopped", stopped)));
                } else if (stopped.isEmpty()) {
                    parent.out.println("no tunnels");
                }
                return 0;
            } catch (VpsException e) {
                if (parent.json) {
                    parent.out.println(Json.write(Json.failure(null, "tunnel stop", e, 0)));
                }
                return Cli.fail(e, parent.err);
            }
        }

        private void audit(Tunnels.Entry e) {
            Map<String, Object> state = e.state() == null ? Map.of() : e.state();
            Map<String, Object> target = new LinkedHashMap<>();
            target.put("name", state.get("target"));
            Audit.start("tunnel_stop").put("target", target).put("id", e.id()).put("hostKey", state.get("hostKey"))
                    .put("forwards", e.toJson().get("forwards"))
                    .write("ok", 0, Tunnels.bytesMoved(state), parent.err);
        }
    }
}
