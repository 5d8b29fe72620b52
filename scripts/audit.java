///usr/bin/env jbang "$0" "$@" ; exit $?
//MAIN AuditCommand
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto
//DESCRIPTION The local audit log of every remote action: show (filter by target and age) and verify (the hash chain).
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
//SOURCES ../lib/cli/Cli.java ../lib/cli/FleetCli.java ../lib/cli/ParentCommand.java

import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "audit", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
        description = {"The audit log: one JSON line per remote action (exec, each transfer, job and session operations, mcp-server's",
                "tools) in ~/.vps-toolkit/audit/audit.jsonl (VPS_TOOLKIT_HOME moves it), hash-chained so that verify finds an",
                "edited, inserted or removed line. Rotated at 8 MiB to audit.jsonl.1 .. .5; the chain continues across files."},
        subcommands = {AuditCommand.Show.class, AuditCommand.Verify.class},
        footer = {"", "Examples:", "  audit show --target web1 --since 1h", "  audit show --json", "  audit verify"})
class AuditCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--json", scope = CommandLine.ScopeType.INHERIT, description = "Print one JSON object.")
    boolean json;

    final PrintStream out;
    final PrintStream err;

    AuditCommand() {
        this(System.out, System.err);
    }

    AuditCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String... args) {
        Cli.main((out, err, in) -> new AuditCommand(out, err), args);
    }

    @Override
    public Integer call() {
        spec.commandLine().usage(out);
        return 2;
    }

    static AuditLog log() {
        return AuditLog.standard();
    }

    @Command(name = "show", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
            description = "Print the kept lines, oldest first: time, caller, action, target, status, command or paths.")
    static final class Show implements Callable<Integer> {
        @CommandLine.ParentCommand
        AuditCommand parent;

        @Option(names = "--target", paramLabel = "T", description = "Only lines whose target name or host is T.")
        String target;

        @Option(names = "--since", paramLabel = "DUR", converter = Durations.class, description = "Only lines from the last DUR (e.g. 1h, 30m, 7d).")
        Duration since;

        @Override
        public Integer call() throws IOException {
            Instant from = since == null ? null : Instant.now().minus(since);
            List<Map<String, Object>> entries = new ArrayList<>();
            for (AuditLog.Line line : log().lines()) {
                Map<String, Object> m = AuditLog.parse(line.text());
                if (matches(m, from)) {
                    entries.add(m);
                }
            }
            if (parent.json) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("entries", entries);
                r.put("count", entries.size());
                parent.out.println(Json.write(r));
            } else {
                entries.forEach(m -> parent.out.println(text(m)));
            }
            return 0;
        }

        private boolean matches(Map<String, Object> m, Instant from) {
            if (target != null && !(m.get("target") instanceof Map<?, ?> t && (target.equals(t.get("name")) || target.equals(t.get("host"))))) {
                return false;
            }
            if (from != null) {
                try {
                    return !Instant.parse(String.valueOf(m.get("time"))).isBefore(from);
                } catch (RuntimeException e) {
                    return false;
                }
            }
            return true;
        }

        private static String text(Map<String, Object> m) {
            Object t = m.get("target") instanceof Map<?, ?> target ? target.get("name") : null;
            Object what = m.get("command") != null ? m.get("command") : m.get("paths") != null ? Json.write(m.get("paths"))
                    : m.get("id") != null ? m.get("id") : "";
            String exit = m.get("exitCode") == null ? "" : " " + m.get("exitCode");
            return m.get("time") + "  " + m.get("caller") + "  " + m.get("action") + "  " + t + "  " + m.get("status") + exit
                    + "  " + String.valueOf(what).replace('\n', ' ');
        }
    }

    @Command(name = "verify", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
            description = {"Walk the hash chain from the oldest kept line. Exit 0: intact (and where the kept chain starts);",
                    "1: the first broken line as FILE:LINE and what is wrong: edited, inserted or removed."})
    static final class Verify implements Callable<Integer> {
        @CommandLine.ParentCommand
        AuditCommand parent;

        @Override
        public Integer call() throws IOException {
            AuditLog.Verdict v = log().verify();
            if (parent.json) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("intact", v.intact());
                r.put("lines", v.lines());
                r.put("start", v.start());
                r.put("problem", v.problem());
                parent.out.println(Json.write(r));
            }
            if (!v.intact()) {
                parent.err.println("audit: the chain is broken at " + v.problem());
                parent.err.println("hint: the log was changed after it was written; keep this copy aside and look at that line");
                return 1;
            }
            if (!parent.json) {
                parent.out.println("audit: intact, " + v.lines() + " line(s)" + (v.start() == null ? "" : "; the kept chain starts at " + v.start()));
            }
            return 0;
        }
    }
}
