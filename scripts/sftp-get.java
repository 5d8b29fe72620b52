///usr/bin/env jbang "$0" "$@" ; exit $?
//MAIN SftpGet
//JAVA_OPTIONS -XX:+UseSerialGC -Xmn16m -Xshare:auto -XX:CompileCommand=quiet -XX:CompileCommand=CompileThresholdScaling,com.sun.crypto.provider.*::*,0.01 -XX:CompileCommand=CompileThresholdScaling,sun.security.provider.*::*,0.01
// JVM options: the JDK's AES-GCM and SHA-256 classes compile at 1% of the usual thresholds, so the
// C2 intrinsics carry the bulk of a cold transfer; a 16 MiB young generation reuses the same memory
// instead of touching fresh pages (measured with bench/transfer-vs-openssh).
//DESCRIPTION Download files and folders over SFTP: atomic, resumable, SHA-256 verified; remote globs.
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
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "sftp-get", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class, sortOptions = false,
        description = {"Download files and folders over SFTP: atomic, resumable, SHA-256 verified; remote globs.",
                "Each file is written under a private hidden .NAME.vps-partial.RANDOM name beside the target and renamed into place",
                "only when complete and verified; a rerun after an interruption resumes it. Folders are copied",
                "recursively; nothing is written outside the destination or through a link: a name from the server that is not",
                "one plain file name is refused (status 'refused', PROTOCOL), a link leading out is skipped (see --links).",
                "With several hosts (-H a,b or --inventory/--limit) each host's files land in LOCAL/NAME/ (NAME: the host's name",
                "as given, which must be one plain path component):",
                "  sftp-get -H web1,web2 /etc/hostname ./all/   # ./all/web1/hostname, ./all/web2/hostname",
                "Exit 0: done; 1: a file problem on either side (or a refused name); 255: could not connect (several hosts: see the fleet exit codes)."},
        footer = {"", "Examples:", "  sftp-get --sandbox /etc/hostname ./hostname", "  sftp-get -H vps '/var/log/nginx/*.log' ./logs/", "  sftp-get -H vps /etc/nginx/nginx.conf -   # to stdout"})
class SftpGet implements Callable<Integer>, FleetAware {
    @Mixin
    TargetOptions target;

    @Mixin
    FleetOptions fleet;

    @Mixin
    TransferOptions transfer;

    @Parameters(arity = "2..*", paramLabel = "REMOTE... LOCAL", description = "Sources, then the destination; '-' is stdout (one file; --json then prints its object on stderr). A LOCAL ending in / is a folder, created when missing.")
    List<String> paths = new ArrayList<>();

    private final PrintStream out;
    private final PrintStream err;
    private final InputStream in;

    SftpGet() {
        this(System.out, System.err, System.in);
    }

    SftpGet(PrintStream out, PrintStream err, InputStream in) {
        this.out = out;
        this.err = err;
        this.in = in;
    }

    public static void main(String... args) {
        Cli.main(SftpGet::new, args);
    }

    @Override
    public Integer call() {
        transfer.whenEnded(Audit.ofTransfer(false, paths, transfer.auditRemote, err));
        return transfer.call(target, false, paths, in, out, err);
    }

    /**
     * Before any host runs: LOCAL is the folder every host's own folder goes in (it must exist, or
     * end in /, or --mkdir), and every host's name must be one plain path component.
     */
    @Override
    public void beforeFleet(List<FleetHost> hosts) {
        String local = paths.get(paths.size() - 1);
        hosts.forEach(h -> TransferReport.perHostDestination(local, h.pathName()));
        if (!transfer.mkdir && !local.endsWith("/") && !Files.isDirectory(Environment.resolve(local))) {
            throw VpsException.config("local folder " + local + " does not exist (with several hosts, each host's files go in " + local + "/NAME/)",
                    "create it first, or pass --mkdir");
        }
    }

    /** This host's files go in LOCAL/NAME/. */
    @Override
    public void forHost(FleetHost host, Object first) {
        paths.set(paths.size() - 1, TransferReport.perHostDestination(paths.get(paths.size() - 1), host.pathName()));
    }
}
