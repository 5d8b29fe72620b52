///usr/bin/env jbang "$0" "$@" ; exit $?
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
//SOURCES ../lib/transfer/TransferOptions.java ../lib/transfer/TransferPlan.java ../lib/transfer/TransferProgress.java
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
//SOURCES ../lib/cli/Cli.java ../lib/cli/FleetCli.java

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The audit append alone, in-process: N exec lines written the way a call writes them (Audit.start,
 * the fields, write: lock, read the last line, hash, append, head), to VPS_TOOLKIT_HOME's log.
 * Prints "median_us p90_us max_us" over the N appends after WARMUP unmeasured ones.
 * Usage: jbang bench/AuditAppendCost.java N WARMUP
 */
class AuditAppendCost {
    public static void main(String[] args) {
        int n = Integer.parseInt(args[0]);
        int warmup = Integer.parseInt(args[1]);
        List<Long> micros = new ArrayList<>();
        for (int i = 0; i < warmup + n; i++) {
            long start = System.nanoTime();
            Audit.start("exec").command("systemctl status nginx --no-pager").env(Map.of("RAILS_ENV", "production", "API_TOKEN", "x"), List.of())
                    .write("exited", 0, 1234L, System.err);
            long took = (System.nanoTime() - start) / 1000;
            if (i >= warmup) {
                micros.add(took);
            }
        }
        micros.sort(null);
        System.out.println(micros.get(n / 2) + " " + micros.get(Math.min(n - 1, n * 9 / 10)) + " " + micros.get(n - 1));
    }
}
