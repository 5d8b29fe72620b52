///usr/bin/env jbang "$0" "$@" ; exit $?
//MAIN ConnectionCommand
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto
//DESCRIPTION The warm engine that bin/vps and --reuse use: status (its warm targets) and stop.
//SOURCES ../lib/Deps.java
//SOURCES ../lib/util/ColdRun.java ../lib/util/Daemons.java ../lib/util/Durations.java ../lib/util/Environment.java
//SOURCES ../lib/util/Interrupts.java ../lib/util/Json.java ../lib/util/LocalFolders.java ../lib/util/Processes.java
//SOURCES ../lib/util/Sha256.java ../lib/util/ShellQuote.java ../lib/util/SpillBuffer.java ../lib/util/VpsException.java
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
//SOURCES ../lib/engine/EngineCall.java ../lib/engine/EngineFiles.java ../lib/engine/EngineServer.java
//SOURCES ../lib/cli/Cli.java ../lib/cli/FleetCli.java ../lib/cli/ParentCommand.java

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "connection", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
        description = {"Shows and stops the warm engine that bin/vps and --reuse (or VPS_REUSE=1) use: one background JVM per",
                "user that keeps SSH logins to your targets, so later calls skip the JVM start and the handshake. It ends",
                "by itself after --persist (default 10m) without calls. With target options, only that target's login."},
        subcommands = {ConnectionCommand.Status.class, ConnectionCommand.Stop.class},
        footer = {"", "Examples:", "  connection status", "  connection stop -H vps", "  connection stop --all"})
class ConnectionCommand extends ParentCommand {
    ConnectionCommand() {
        this(System.out, System.err);
    }

    ConnectionCommand(PrintStream out, PrintStream err) {
        super(out, err);
    }

    public static void main(String... args) {
        Cli.main(new ConnectionCommand(), args);
    }

    @Command(mixinStandardHelpOptions = true, versionProvider = Cli.Version.class)
    abstract static class Sub implements Callable<Integer> {
        @CommandLine.ParentCommand
        ConnectionCommand parent;

        boolean named() {
            TargetOptions t = parent.target;
            return t.host != null || t.sandbox || Environment.get("VPS_HOST") != null;
        }

        /** This call runs cold: no engine answered. What is known of one from its folder. */
        Map<String, Object> notAnswering() {
            Map<String, Object> m = new LinkedHashMap<>();
            long[] portPid = EngineFiles.here().portAndPid();
            boolean alive = portPid != null && ProcessHandle.of(portPid[1]).map(ProcessHandle::isAlive).orElse(false);
            m.put("running", alive);
            if (alive) {
                m.put("pid", portPid[1]);
                m.put("port", portPid[0]);
            }
            return m;
        }

        int report(String action, Map<String, Object> engine, List<Map<String, Object>> targets, int exit) {
            if (parent.json) {
                Map<String, Object> r = Json.envelope(null, "connection " + action, "exited", exit, 0, null);
                r.put("engine", engine);
                r.put("targets", targets);
                parent.out.println(Json.write(r));
            }
            return exit;
        }

        int failed(String action, VpsException e) {
            if (parent.json) {
                parent.out.println(Json.write(Json.failure(null, "connection " + action, e, 0)));
            }
            return Cli.fail(e, parent.err);
        }
    }

    @Command(name = "status", description = "The engine (pid, port, calls, idle limit) and its warm targets. Exit 0 when it runs, 1 when not.")
    static final class Status extends Sub {
        @Override
        public Integer call() {
            EngineServer engine = EngineServer.running();
            if (engine == null) {
                Map<String, Object> m = notAnswering();
                if (!parent.json) {
                    parent.out.println(Boolean.TRUE.equals(m.get("running"))
                            ? "engine pid " + m.get("pid") + " on port " + m.get("port") + " runs but did not take this call"
                            : "no engine running (bin/vps or --reuse starts one)");
                }
                return report("status", m, List.of(), 1);
            }
            try {
                List<Map<String, Object>> targets = new ArrayList<>(engine.pool().status());
                if (named()) {
                    Target t = parent.target.resolve(parent.err);
                    targets.removeIf(m -> !t.display().equals(m.get("target")));
                }
                Map<String, Object> e = engine.describe();
                e.put("running", true);
                if (!parent.json) {
                    parent.out.println("engine pid " + e.get("pid") + "  port " + e.get("port") + "  calls " + e.get("calls")
                            + "  idle " + e.get("idleSeconds") + "s of " + e.get("persistSeconds") + "s");
                    for (Map<String, Object> t : targets) {
                        parent.out.println("  " + t.get("target") + "  " + (Boolean.TRUE.equals(t.get("connected")) ? "connected" : "down")
                                + "  since " + t.get("since") + "  idle " + t.get("idleSeconds") + "s  in use " + t.get("leases")
                                + "  reconnects " + t.get("reconnects"));
                    }
                    if (targets.isEmpty()) {
                        parent.out.println("  no warm targets");
                    }
                }
                return report("status", e, targets, 0);
            } catch (VpsException e) {
                return failed("status", e);
            }
        }
    }

    @Command(name = "stop", description = "Close the target's warm login; with --all (or no target), close every one and end the engine.")
    static final class Stop extends Sub {
        @Option(names = "--all", description = "Close every warm login and end the engine.")
        boolean all;

        @Override
        public Integer call() {
            EngineServer engine = EngineServer.running();
            if (engine == null) {
                Map<String, Object> m = notAnswering();
                if (!parent.json) {
                    parent.out.println("no engine running: nothing to stop");
                }
                return report("stop", m, List.of(), 0);
            }
            try {
                Map<String, Object> e = engine.describe();
                List<Map<String, Object>> targets = new ArrayList<>();
                if (all || !named()) {
                    targets.addAll(engine.pool().status());
                    engine.pool().dropAll();
                    engine.stopWhenIdle();
                    e.put("running", false);
                    if (!parent.json) {
                        parent.out.println("engine pid " + e.get("pid") + " stopped (" + targets.size() + " warm target" + (targets.size() == 1 ? "" : "s") + " closed)");
                    }
                } else {
                    Target t = parent.target.resolve(parent.err);
                    boolean was = engine.pool().drop(t);
                    e.put("running", true);
                    targets.add(Map.of("target", t.display(), "stopped", was));
                    if (!parent.json) {
                        parent.out.println(t.display() + (was ? "  closed" : "  had no warm login"));
                    }
                }
                return report("stop", e, targets, 0);
            } catch (VpsException e) {
                return failed("stop", e);
            }
        }
    }
}
