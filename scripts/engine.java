///usr/bin/env jbang "$0" "$@" ; exit $?
//MAIN EngineCommand
//JAVA_OPTIONS -XX:+UseSerialGC -Xmx160m -Xss512k -XX:MaxMetaspaceSize=96m -XX:ReservedCodeCacheSize=48m -Xshare:auto
//DESCRIPTION The warm engine behind bin/vps and --reuse: one background JVM that keeps SSH sessions warm and runs calls in-process.
//SOURCES ../lib/Deps.java
//SOURCES ../lib/util/ByteSizes.java ../lib/util/ColdRun.java ../lib/util/Daemons.java ../lib/util/Durations.java
//SOURCES ../lib/util/Environment.java ../lib/util/Interrupts.java ../lib/util/Json.java ../lib/util/LocalFolders.java
//SOURCES ../lib/util/Processes.java ../lib/util/ServerIds.java ../lib/util/Sha256.java ../lib/util/ShellQuote.java
//SOURCES ../lib/util/SpillBuffer.java ../lib/util/VpsException.java ../lib/util/YamlDocument.java
//SOURCES ../lib/target/HostSpec.java ../lib/target/SshConfig.java ../lib/target/Target.java
//SOURCES ../lib/target/TargetOptions.java ../lib/target/TargetResolver.java
//SOURCES ../lib/ssh/Fingerprints.java ../lib/ssh/HostKeyVerifier.java ../lib/ssh/Identities.java
//SOURCES ../lib/ssh/JumpProxy.java ../lib/ssh/KeyFiles.java ../lib/ssh/Reconnect.java ../lib/ssh/ServerProbe.java
//SOURCES ../lib/ssh/SessionPool.java ../lib/ssh/VpsConnection.java
//SOURCES ../lib/exec/ExecOutcome.java ../lib/exec/ExecRunner.java ../lib/exec/Heartbeat.java ../lib/exec/InputWait.java
//SOURCES ../lib/exec/Interaction.java ../lib/exec/InteractionOptions.java ../lib/exec/LockOptions.java
//SOURCES ../lib/exec/OutputCapture.java ../lib/exec/Privilege.java ../lib/exec/PrivilegeOptions.java
//SOURCES ../lib/exec/PromptRules.java ../lib/exec/RemoteCommand.java ../lib/exec/RemoteLock.java
//SOURCES ../lib/exec/SecretRedactor.java ../lib/exec/Signals.java ../lib/exec/StartGate.java ../lib/exec/Terminal.java
//SOURCES ../lib/transfer/BackgroundDigest.java ../lib/transfer/Downloader.java ../lib/transfer/LocalTree.java
//SOURCES ../lib/transfer/PosixModes.java ../lib/transfer/RemoteFs.java ../lib/transfer/RemotePaths.java
//SOURCES ../lib/transfer/SftpWriter.java ../lib/transfer/StripedUpload.java ../lib/transfer/Transfer.java
//SOURCES ../lib/transfer/TransferPlan.java ../lib/transfer/TransferProgress.java ../lib/transfer/TransferReport.java
//SOURCES ../lib/transfer/TransferResult.java ../lib/transfer/Uploader.java
//SOURCES ../lib/jobs/DetachedExec.java ../lib/jobs/Jobs.java
//SOURCES ../lib/sessions/Sessions.java
//SOURCES ../lib/diagnose/AuthDiagnosis.java ../lib/diagnose/FixScript.java
//SOURCES ../lib/sandbox/Sandbox.java ../lib/sandbox/SandboxServer.java
//SOURCES ../lib/fleet/FleetAware.java ../lib/fleet/FleetHost.java ../lib/fleet/FleetOptions.java
//SOURCES ../lib/fleet/FleetPlan.java ../lib/fleet/FleetResult.java ../lib/fleet/FleetRun.java
//SOURCES ../lib/fleet/HostAddress.java ../lib/fleet/HostOutput.java ../lib/fleet/HostPattern.java
//SOURCES ../lib/fleet/HostResult.java ../lib/fleet/HostSet.java ../lib/fleet/IniInventory.java
//SOURCES ../lib/fleet/Inventory.java ../lib/fleet/InventoryModel.java ../lib/fleet/YamlInventory.java
//SOURCES ../lib/audit/Audit.java ../lib/audit/AuditLog.java
//SOURCES ../lib/policy/Decision.java ../lib/policy/DryRun.java ../lib/policy/Guard.java ../lib/policy/Policy.java
//SOURCES ../lib/policy/PolicyAction.java ../lib/policy/PolicyOptions.java ../lib/policy/ReadOnlyPrograms.java
//SOURCES ../lib/policy/ShellCommands.java
//SOURCES ../lib/tunnel/PortHolder.java ../lib/tunnel/RemoteForwardSockets.java ../lib/tunnel/Socks5.java
//SOURCES ../lib/tunnel/Tunnel.java ../lib/tunnel/TunnelDaemon.java ../lib/tunnel/TunnelOptions.java
//SOURCES ../lib/tunnel/TunnelSpec.java ../lib/tunnel/Tunnels.java
//SOURCES ../lib/engine/EngineCall.java ../lib/engine/EngineFiles.java ../lib/engine/EngineServer.java
//SOURCES ../lib/cli/Cli.java ../lib/cli/FleetCli.java ../lib/cli/ParentCommand.java ../lib/cli/TransferOptions.java
//SOURCES exec-command.java sftp-put.java sftp-get.java job.java session.java diagnose-auth.java connection.java tunnel.java

import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "engine", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
        description = {"Runs the warm engine in the foreground: the thin client bin/vps (and ./jbang with --reuse) starts it",
                "in the background when none runs, and it ends after --persist without calls. You do not run it by hand;",
                "`connection status` shows it and `connection stop --all` ends it."})
class EngineCommand implements Callable<Integer> {
    @Option(names = "--sources", paramLabel = "DIR", required = true, description = "The toolkit's folder: the engine retires when its files change.")
    Path sources;

    @Option(names = "--persist", paramLabel = "DUR", converter = Durations.class, defaultValue = "10m",
            description = "End after DUR without calls (default 10m).")
    Duration persist;

    public static void main(String... args) {
        TargetResolver.proposePostQuantumFirst();   // the engine keeps its connections: see there
        Cli.main(new EngineCommand(), args);
    }

    @Override
    public Integer call() throws Exception {
        EngineServer engine = EngineServer.start(sources.toAbsolutePath().normalize(), persist, EngineCommand::make);
        if (engine == null) {
            return 0;   // another engine holds the folder
        }
        engine.awaitEnd();
        engine.close();
        return 0;
    }

    /** The scripts the engine runs, by the name the client sends (the catalog's alias). */
    static Object make(String name, PrintStream out, PrintStream err, InputStream in) {
        return switch (name) {
            case "exec-command" -> Cli.made(ExecCommand::new, out, err, in);   // made: fleet mode makes one per host
            case "sftp-put" -> Cli.made(SftpPut::new, out, err, in);
            case "sftp-get" -> Cli.made(SftpGet::new, out, err, in);
            case "job" -> Cli.made((o, e, i) -> new JobCommand(o, e), out, err, in);
            case "session" -> new SessionCommand(out, err);
            case "diagnose-auth" -> Cli.made((o, e, i) -> new DiagnoseAuth(o, e), out, err, in);
            case "connection" -> new ConnectionCommand(out, err);
            case "tunnel" -> new TunnelCommand(out, err);   // the front door only: each tunnel runs in a process of its own
            default -> null;
        };
    }
}
