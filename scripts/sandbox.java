///usr/bin/env jbang "$0" "$@" ; exit $?
//MAIN SandboxCommand
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto
//DESCRIPTION The embedded sandbox target: a throwaway SSH server on 127.0.0.1 (up, down, status, env).
//SOURCES ../lib/Deps.java
//SOURCES ../lib/util/ColdRun.java ../lib/util/Daemons.java ../lib/util/Durations.java ../lib/util/Environment.java
//SOURCES ../lib/util/Interrupts.java ../lib/util/Json.java ../lib/util/LocalFolders.java ../lib/util/Processes.java
//SOURCES ../lib/util/Sha256.java ../lib/util/VpsException.java ../lib/util/YamlDocument.java
//SOURCES ../lib/target/HostSpec.java ../lib/target/SshConfig.java ../lib/target/Target.java
//SOURCES ../lib/target/TargetOptions.java ../lib/target/TargetResolver.java
//SOURCES ../lib/ssh/Fingerprints.java ../lib/ssh/HostKeyVerifier.java ../lib/ssh/Identities.java
//SOURCES ../lib/ssh/JumpProxy.java ../lib/ssh/KeyFiles.java ../lib/ssh/Reconnect.java ../lib/ssh/ServerProbe.java
//SOURCES ../lib/ssh/SessionPool.java ../lib/ssh/VpsConnection.java
//SOURCES ../lib/exec/Heartbeat.java
//SOURCES ../lib/sandbox/Sandbox.java ../lib/sandbox/SandboxServer.java
//SOURCES ../lib/fleet/FleetAware.java ../lib/fleet/FleetHost.java ../lib/fleet/FleetOptions.java
//SOURCES ../lib/fleet/FleetPlan.java ../lib/fleet/FleetResult.java ../lib/fleet/FleetRun.java
//SOURCES ../lib/fleet/HostAddress.java ../lib/fleet/HostOutput.java ../lib/fleet/HostPattern.java
//SOURCES ../lib/fleet/HostResult.java ../lib/fleet/HostSet.java ../lib/fleet/IniInventory.java
//SOURCES ../lib/fleet/Inventory.java ../lib/fleet/InventoryModel.java ../lib/fleet/YamlInventory.java
//SOURCES ../lib/cli/Cli.java ../lib/cli/FleetCli.java

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "sandbox", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
        description = {"Manages the embedded sandbox: a local SSH server on 127.0.0.1 that runs",
                "commands as you on this machine, not an isolated one. Commands start in its",
                "home folder, but they can read and change anything you can: try the scripts",
                "with it, not untrusted commands. It is only ever used when asked for",
                "(--sandbox, or the variables printed by 'sandbox env')."},
        footer = {"", "Actions:",
                "  up      start it (if not running) and print its address",
                "  down    stop it",
                "  status  say whether it runs (exit 0) or not (exit 1); the default action",
                "  env     start it if needed and print VPS_* lines: eval \"$(sandbox env)\""})
class SandboxCommand implements Callable<Integer> {
    static final String WHAT_IT_IS = "a local SSH server on 127.0.0.1 that runs commands as you on this machine, not an isolated one";

    @Parameters(paramLabel = "ACTION", description = "up, down, status (the default) or env", defaultValue = "status")
    String action;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    private final PrintStream out;
    private final PrintStream err;

    SandboxCommand() {
        this(System.out, System.err);
    }

    SandboxCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String... args) {
        Cli.main(new SandboxCommand(), args);
    }

    @Override
    public Integer call() {
        Sandbox sandbox = Sandbox.fromEnvironment();
        try {
            switch (action) {
                case "up" -> {
                    sandbox.ensureRunning();
                    return print(sandbox, "running");
                }
                case "down" -> {
                    boolean wasRunning = sandbox.stop();
                    return print(sandbox, wasRunning ? "stopped" : "not running");
                }
                case "status" -> {
                    boolean running = sandbox.status().running();
                    print(sandbox, running ? "running" : "stopped");
                    return running ? 0 : 1;
                }
                case "env" -> {
                    sandbox.ensureRunning();
                    Map<String, String> env = sandbox.environment();
                    if (json) {
                        out.println(Json.write(env));
                    } else {
                        env.forEach((k, v) -> out.println("export " + k + "='" + v.replace("'", "'\\''") + "'"));
                    }
                    return 0;
                }
                default -> throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                        "unknown action '" + action + "': use up, down, status or env");
            }
        } catch (VpsException e) {
            if (json) {
                out.println(Json.write(Map.of("status", "failed", "error", Json.error(e))));
            }
            return Cli.fail(e, err);
        }
    }

    private int print(Sandbox sandbox, String state) {
        Sandbox.Status s = sandbox.status();
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("status", state);
            m.put("host", s.running() ? "127.0.0.1" : null);
            m.put("port", s.running() ? s.port() : null);
            m.put("user", s.user());
            m.put("pid", s.running() ? s.pid() : null);
            m.put("dir", sandbox.dir.toString());
            out.println(Json.write(m));
        } else if (s.running()) {
            out.println("sandbox " + state + ": " + WHAT_IT_IS + " (user " + s.user() + ")");
            out.println("  " + s.user() + "@127.0.0.1 port " + s.port() + ", pid " + s.pid() + ", folder " + sandbox.dir + "; try: exec-command --sandbox -- whoami");
        } else {
            out.println("sandbox " + state + " (" + sandbox.dir + ")");
        }
        return 0;
    }
}
