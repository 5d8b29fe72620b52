///usr/bin/env jbang "$0" "$@" ; exit $?
//MAIN DiagnoseAuth
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto
//DESCRIPTION Explain why SSH login fails and exactly what to change: bounded checks, then one verdict.
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
//SOURCES ../lib/diagnose/AuthDiagnosis.java ../lib/diagnose/FixScript.java
//SOURCES ../lib/sandbox/Sandbox.java ../lib/sandbox/SandboxServer.java
//SOURCES ../lib/fleet/FleetAware.java ../lib/fleet/FleetHost.java ../lib/fleet/FleetOptions.java
//SOURCES ../lib/fleet/FleetPlan.java ../lib/fleet/FleetResult.java ../lib/fleet/FleetRun.java
//SOURCES ../lib/fleet/HostAddress.java ../lib/fleet/HostOutput.java ../lib/fleet/HostPattern.java
//SOURCES ../lib/fleet/HostResult.java ../lib/fleet/HostSet.java ../lib/fleet/IniInventory.java
//SOURCES ../lib/fleet/Inventory.java ../lib/fleet/InventoryModel.java ../lib/fleet/YamlInventory.java
//SOURCES ../lib/cli/Cli.java ../lib/cli/FleetCli.java

import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "diagnose-auth", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class, sortOptions = false,
        description = {"Finds out why login to a server fails: target, DNS and TCP, banner, algorithms, host key,",
                "key files, agent, then each key against the server, and says what to change.",
                "Never prompts; a password is only tried with --password-auth.",
                "Exit 0: login works; 1: it does not (the verdict says why); 255: the host cannot be reached.",
                "With several hosts (-H a,b or --inventory/--limit) each host gets its own checks and verdict."},
        footer = {"", "Examples:", "  diagnose-auth -H vps", "  diagnose-auth -H 203.0.113.10 -u deploy -i ~/.ssh/id_ed25519 --json",
                "  diagnose-auth -H vps -u deploy --fix-script > fix.sh"})
class DiagnoseAuth implements Callable<Integer>, FleetAware {
    @Mixin
    TargetOptions target;

    @Mixin
    FleetOptions fleet;

    @Option(names = "--json", description = "Print one JSON object with every check and the verdict.")
    boolean json;

    @Option(names = "--fix-script", description = {"When the server refuses the key login (no such user, a nologin shell, the key missing",
            "from the file sshd reads, owners or modes, PubkeyAuthentication off, the key's type not accepted), print a",
            "POSIX sh script to run as root on the server (the provider's web console) that checks and fixes each of them.",
            "The script alone goes to stdout, the checks and verdict to stderr; --json carries it as fix.script."})
    boolean fixScript;

    private final PrintStream out;
    private final PrintStream err;

    DiagnoseAuth() {
        this(System.out, System.err);
    }

    DiagnoseAuth(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String... args) {
        Cli.main((out, err, in) -> new DiagnoseAuth(out, err), args);
    }

    /** Several hosts' scripts on one stdout, each line prefixed with its host, would run as none of them. */
    @Override
    public void beforeFleet(java.util.List<FleetHost> hosts) {
        if (fixScript && !json) {
            throw VpsException.config("--fix-script prints one host's script: with several hosts it needs --json",
                    "add --json (each host's script is hosts.NAME.fix.script), or give -H one host");
        }
    }

    @Override
    public Integer call() {
        long start = System.nanoTime();
        Target t;
        try {
            t = target.resolve(err);
        } catch (VpsException e) {
            if (json) {
                Map<String, Object> r = Json.failure(null, "diagnose-auth", e, 0);
                r.put("checks", java.util.List.of());
                r.put("verdict", null);
                out.println(Json.write(r));
            }
            return Cli.fail(e, err);
        }
        // With --fix-script the script is what stdout holds (to save and run); the checks go to stderr.
        PrintStream report = fixScript ? err : out;
        AuthDiagnosis d = new AuthDiagnosis(t, json ? null : report).run();
        long ms = (System.nanoTime() - start) / 1_000_000;
        // Not reached at all is a NETWORK failure, as for any script: a host set counts the host as unreachable.
        VpsException unreachable = d.exitCode() == VpsException.EXIT_CONNECT
                ? new VpsException(VpsException.Kind.NETWORK, d.verdict.cause(), d.verdict.fix(), true, null) : null;
        if (json) {
            Map<String, Object> r = Json.envelope(t.host(), "diagnose-auth " + t.display(), "exited", d.exitCode(), ms, unreachable);
            r.put("checks", d.checks.stream().map(Json::fields).toList());
            r.put("verdict", Json.fields(d.verdict));
            if (fixScript) {
                r.put("fix", Json.fields(FixScript.of(d, t.user())));
            }
            out.println(Json.write(r));
        } else {
            report.println();
            report.println("verdict:  " + d.verdict.cause());
            report.println("evidence: " + d.verdict.evidence());
            report.println("fix:      " + d.verdict.fix());
            if (fixScript) {
                FixScript.Result fix = FixScript.of(d, t.user());
                report.println("script:   " + fix.note());
                if (fix.script() != null) {
                    out.print(fix.script());
                }
            }
        }
        return unreachable != null ? Cli.fail(unreachable, err) : d.exitCode();
    }
}
