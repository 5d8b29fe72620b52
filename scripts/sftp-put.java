///usr/bin/env jbang "$0" "$@" ; exit $?
//MAIN SftpPut
//JAVA_OPTIONS -XX:+UseSerialGC -Xmn16m -Xshare:auto -XX:CompileCommand=quiet -XX:CompileCommand=CompileThresholdScaling,com.sun.crypto.provider.*::*,0.01 -XX:CompileCommand=CompileThresholdScaling,sun.security.provider.*::*,0.01
// JVM options: the JDK's AES-GCM and SHA-256 classes compile at 1% of the usual thresholds, so the
// C2 intrinsics carry the bulk of a cold transfer; a 16 MiB young generation reuses the same memory
// instead of touching fresh pages (measured with bench/transfer-vs-openssh).
//DESCRIPTION Upload files and folders over SFTP: atomic, resumable, SHA-256 verified.
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
//SOURCES ../lib/transfer/BackgroundDigest.java ../lib/transfer/Downloader.java ../lib/transfer/LocalTree.java
//SOURCES ../lib/transfer/PosixModes.java ../lib/transfer/RemoteFs.java ../lib/transfer/RemotePaths.java
//SOURCES ../lib/transfer/SftpWriter.java ../lib/transfer/StripedUpload.java ../lib/transfer/Transfer.java
//SOURCES ../lib/transfer/TransferPlan.java ../lib/transfer/TransferProgress.java ../lib/transfer/TransferReport.java
//SOURCES ../lib/transfer/TransferResult.java ../lib/transfer/Uploader.java
//SOURCES ../lib/sandbox/Sandbox.java ../lib/sandbox/SandboxServer.java
//SOURCES ../lib/fleet/FleetAware.java ../lib/fleet/FleetHost.java ../lib/fleet/FleetOptions.java
//SOURCES ../lib/fleet/FleetPlan.java ../lib/fleet/FleetResult.java ../lib/fleet/FleetRun.java
//SOURCES ../lib/fleet/HostAddress.java ../lib/fleet/HostOutput.java ../lib/fleet/HostPattern.java
//SOURCES ../lib/fleet/HostResult.java ../lib/fleet/HostSet.java ../lib/fleet/IniInventory.java
//SOURCES ../lib/fleet/Inventory.java ../lib/fleet/InventoryModel.java ../lib/fleet/YamlInventory.java
//SOURCES ../lib/audit/Audit.java ../lib/audit/AuditLog.java
//SOURCES ../lib/policy/Decision.java ../lib/policy/Guard.java ../lib/policy/Policy.java ../lib/policy/PolicyAction.java
//SOURCES ../lib/policy/PolicyOptions.java ../lib/policy/ReadOnlyPrograms.java ../lib/policy/ShellCommands.java
//SOURCES ../lib/cli/Cli.java ../lib/cli/FleetCli.java ../lib/cli/TransferOptions.java

import java.io.InputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "sftp-put", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class, sortOptions = false,
        description = {"Upload files and folders over SFTP: atomic, resumable, SHA-256 verified.",
                "Each file is written under a hidden .NAME.vps-partial.RANDOM name beside the target (created new,",
                "mode 0600) and renamed into place only when complete and verified; a rerun after an interruption",
                "resumes it if it is still yours. Folders are copied",
                "recursively. With several hosts (-H a,b or --inventory/--limit) the same files go to every host, each copy",
                "verified on its host; stdin ('-') is read once and every host gets the same bytes:",
                "  sftp-put -H web1,web2 --json ./app.conf /etc/app/app.conf   # per-host files, bytes, sha256",
                "Exit 0: done; 1: a file problem on either side; 255: could not connect (several hosts: see the fleet exit codes)."},
        footer = {"", "Examples:", "  sftp-put --sandbox ./app.conf app.conf      # into the sandbox's home folder", "  printf 'key: value\\n' | sftp-put -H vps - /etc/app/config.yml", "  sftp-put -H vps --mkdir ./site /var/www/"})
class SftpPut implements Callable<Integer>, FleetAware {
    @Mixin
    TargetOptions target;

    @Mixin
    FleetOptions fleet;

    @Mixin
    TransferOptions transfer;

    @Parameters(arity = "2..*", paramLabel = "LOCAL... REMOTE", description = "Sources, then the destination; '-' is stdin.")
    List<String> paths = new ArrayList<>();

    private final PrintStream out;
    private final PrintStream err;
    private final InputStream in;

    SftpPut() {
        this(System.out, System.err, System.in);
    }

    SftpPut(PrintStream out, PrintStream err, InputStream in) {
        this.out = out;
        this.err = err;
        this.in = in;
    }

    public static void main(String... args) {
        Cli.main(SftpPut::new, args);
    }

    @Override
    public Integer call() {
        transfer.whenEnded(Audit.ofTransfer(true, paths, transfer.auditRemote, err));
        return transfer.call(target, true, paths, in, out, err);
    }

    /** With several hosts, a '-' source is read once and every host gets a copy of it. */
    @Override
    public boolean readsStdin() {
        return paths.subList(0, paths.size() - 1).contains("-");
    }
}
