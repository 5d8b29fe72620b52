///usr/bin/env jbang "$0" "$@" ; exit $?
//SOURCES ../lib/Deps.java
//SOURCES ../lib/util/Daemons.java ../lib/util/Durations.java ../lib/util/Environment.java ../lib/util/Interrupts.java
//SOURCES ../lib/util/Json.java ../lib/util/LocalFolders.java ../lib/util/Processes.java ../lib/util/Sha256.java
//SOURCES ../lib/util/ShellQuote.java ../lib/util/VpsException.java
//SOURCES ../lib/target/Target.java
//SOURCES ../lib/ssh/Fingerprints.java ../lib/ssh/HostKeyVerifier.java ../lib/ssh/Identities.java
//SOURCES ../lib/ssh/JumpProxy.java ../lib/ssh/Reconnect.java ../lib/ssh/ServerProbe.java ../lib/ssh/VpsConnection.java
//SOURCES ../lib/exec/ExecOutcome.java ../lib/exec/ExecRunner.java ../lib/exec/Heartbeat.java ../lib/exec/InputWait.java
//SOURCES ../lib/exec/Interaction.java ../lib/exec/Privilege.java ../lib/exec/PromptRules.java
//SOURCES ../lib/exec/RemoteCommand.java ../lib/exec/RemoteLock.java ../lib/exec/SecretRedactor.java
//SOURCES ../lib/exec/Signals.java ../lib/exec/StartGate.java ../lib/exec/Terminal.java
//SOURCES ../lib/transfer/TransferReport.java ../lib/transfer/TransferResult.java
//SOURCES ../lib/audit/Audit.java ../lib/audit/AuditLog.java

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
