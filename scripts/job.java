///usr/bin/env jbang "$0" "$@" ; exit $?
//MAIN JobCommand
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto
//DESCRIPTION Detached jobs that survive disconnects and agent timeouts: start, status, logs, wait, kill, list, gc.
//SOURCES ../lib/Deps.java
//SOURCES ../lib/util/ColdRun.java ../lib/util/Daemons.java ../lib/util/Durations.java ../lib/util/Environment.java
//SOURCES ../lib/util/Interrupts.java ../lib/util/Json.java ../lib/util/LocalFolders.java ../lib/util/Processes.java
//SOURCES ../lib/util/ServerIds.java ../lib/util/Sha256.java ../lib/util/ShellQuote.java ../lib/util/VpsException.java
//SOURCES ../lib/util/YamlDocument.java
//SOURCES ../lib/target/HostSpec.java ../lib/target/SshConfig.java ../lib/target/Target.java
//SOURCES ../lib/target/TargetOptions.java ../lib/target/TargetResolver.java
//SOURCES ../lib/ssh/Fingerprints.java ../lib/ssh/HostKeyVerifier.java ../lib/ssh/Identities.java
//SOURCES ../lib/ssh/JumpProxy.java ../lib/ssh/KeyFiles.java ../lib/ssh/Reconnect.java ../lib/ssh/ServerProbe.java
//SOURCES ../lib/ssh/SessionPool.java ../lib/ssh/VpsConnection.java
//SOURCES ../lib/exec/ExecOutcome.java ../lib/exec/ExecRunner.java ../lib/exec/Heartbeat.java ../lib/exec/InputWait.java
//SOURCES ../lib/exec/Interaction.java ../lib/exec/LockOptions.java ../lib/exec/Privilege.java
//SOURCES ../lib/exec/PrivilegeOptions.java ../lib/exec/PromptRules.java ../lib/exec/RemoteCommand.java
//SOURCES ../lib/exec/RemoteLock.java ../lib/exec/SecretRedactor.java ../lib/exec/Signals.java
//SOURCES ../lib/exec/StartGate.java ../lib/exec/Terminal.java
//SOURCES ../lib/transfer/TransferReport.java ../lib/transfer/TransferResult.java
//SOURCES ../lib/jobs/Jobs.java
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

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "job", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
        description = {"Runs long commands detached on the server (own session, stdin from /dev/null), so they survive",
                "a dropped connection, a killed client and an agent's tool timeout. State lives on the server in",
                "~/.vps-toolkit/jobs/ID (0700). Exit codes: the job's own for wait, 75 still running, 1 no such job.",
                "With several hosts (-H a,b or --inventory/--limit) start gives every host's job the same id (--id, else one",
                "new id), so status, wait, logs and kill take that id with the same hosts; list lists each host's jobs:",
                "  job -H web1,web2 start --id deploy -- ./deploy.sh && job -H web1,web2 wait deploy"},
        subcommands = {JobCommand.Start.class, JobCommand.Status.class, JobCommand.Logs.class, JobCommand.Wait.class,
                JobCommand.Kill.class, JobCommand.ListJobs.class, JobCommand.Gc.class},
        footer = {"", "Examples:", "  job -H vps start --id upgrade -- 'apt-get update && apt-get -y upgrade'",
                "  job -H vps wait upgrade --max 50s     # exit 75 while it still runs", "  job -H vps logs upgrade --from 0"})
class JobCommand extends ParentCommand {
    static final int STILL_RUNNING = 75;

    @Mixin
    FleetOptions fleet;

    JobCommand() {
        this(System.out, System.err);
    }

    JobCommand(PrintStream out, PrintStream err) {
        super(out, err);
    }

    public static void main(String... args) {
        Cli.main((out, err, in) -> new JobCommand(out, err), args);
    }

    /** A job subcommand: ParentCommand.Sub's skeleton through Jobs; all of them may run again after a dropped link unless they say otherwise. */
    abstract static class Sub extends ParentCommand.Sub<Jobs> {
        @Override
        Jobs on(VpsConnection connection) {
            return new Jobs(connection);
        }

        @Override
        Map<String, Object> result(String host, String command) {
            return Json.envelope(host, command, "exited", 0, 0, null);
        }

        @Override
        boolean repeatable() {
            return true;
        }

        /** The job's status line; every subcommand prints it on stdout. */
        String line(Jobs.Status s) {
            String how = s.signal() != null ? " (signal " + s.signal() + ")" : s.exitCode() != null ? " (exit " + s.exitCode() + ")"
                    : s.orphaned() ? " (orphaned: its runner died; pid " + s.pid() + ")" : "";
            return s.id() + "  " + s.status() + how + "  started " + java.time.Instant.ofEpochSecond(s.startedEpoch()) + "  " + s.command();
        }
    }

    @Command(name = "start", description = "Start CMD detached and print its id at once. --id makes it idempotent: the same id never runs twice.")
    static final class Start extends Sub implements FleetAware {
        @Option(names = "--id", paramLabel = "KEY", description = "The job id (an idempotency key): starting it again returns the existing job.")
        String id;

        @Mixin
        LockOptions lock;

        @Mixin
        PrivilegeOptions privilege;

        @Parameters(paramLabel = "CMD", arity = "1..*", description = "The command (words joined with spaces, as with ssh).")
        List<String> words = new ArrayList<>();

        @Option(names = "--audit-remote", description = "Also write a one-line record of the start to the server's syslog (logger -t vps-toolkit).")
        boolean auditRemote;
        @Mixin
        PolicyOptions policy;

        /** Chosen once, so that a report after a dropped link can name the job to check. */
        String jobId;
        private Privilege asWho;

        @Override
        boolean auditRemote() {
            return auditRemote;
        }

        @Override
        void audit(Audit audit, Map<String, Object> r) {
            audit.command(String.join(" ", words)).put("job", jobId).secret(asWho == null ? null : asWho.password());
        }

        @Override
        PolicyAction policyAction() {
            String command = String.join(" ", words);
            return PolicyAction.of(PolicyAction.Kind.JOB_START, List.of(command), privilege.requested(), command);
        }

        @Override
        PolicyOptions policyOptions() {
            return policy;
        }

        @Override
        boolean repeatable() {
            return id != null;
        }

        /** Several hosts: one id for all of them, settled once (a new one when --id is absent), so `job wait ID -H ...` finds each. */
        @Override
        public void beforeFleet(List<FleetHost> hosts) {
            id = id != null ? Jobs.checkId(id) : Jobs.newId();
        }

        @Override
        public void forHost(FleetHost host, Object first) {
            id = ((Start) first).id;
        }

        @Override
        int run(Jobs jobs, Map<String, Object> r) {
            jobId = id != null ? Jobs.checkId(id) : Jobs.newId();
            RemoteLock remoteLock = lock.lock("job " + jobId);
            boolean created;
            try {
                asWho = privilege.privilege(parent.target, login);
                created = jobs.start(jobId, String.join(" ", words), remoteLock, asWho);
            } catch (VpsException e) {
                if (e.kind != VpsException.Kind.NETWORK || id != null) {
                    throw e;
                }
                throw new VpsException(e.kind, e.getMessage() + "; job " + jobId + " may have been created",
                        "check it with: job status " + jobId + " (next time give --id KEY: starting is then safe to repeat)", false, e);
            }
            Jobs.Status s = jobs.status(jobId);
            s.putInto(r);
            r.put("created", created);
            if (!json()) {
                parent.out.println(jobId);
                if (!created) {
                    parent.err.println("job " + jobId + " already exists (" + s.status() + "); it was not started again");
                }
            }
            return 0;
        }
    }

    @Command(name = "status", description = "Say whether the job is running (orphaned if only its runner died), exited, killed or lost (its server rebooted, or it left no exit status).")
    static final class Status extends Sub {
        @Parameters(paramLabel = "ID")
        String id;

        @Override
        int run(Jobs jobs, Map<String, Object> r) {
            Jobs.Status s = jobs.status(id);
            s.putInto(r);
            if (!json()) {
                parent.out.println(line(s));
            }
            return 0;
        }
    }

    @Command(name = "logs", description = "Print the job's output from byte --from (default 0); --follow keeps printing until it ends.")
    static final class Logs extends Sub {
        @Parameters(paramLabel = "ID")
        String id;

        @Option(names = "--from", paramLabel = "BYTE", description = "Start at this byte offset (the 'next' value of the previous call).")
        long from;

        @Option(names = "--stderr", description = "The job's stderr instead of its stdout.")
        boolean stderr;

        @Option(names = "--follow", description = "Keep printing new output until the job ends.")
        boolean follow;

        @Option(names = "--max", paramLabel = "DUR", converter = Durations.class, description = "With --follow: stop after DUR (exit 75 if still running).")
        Duration max;

        @Option(names = "--heartbeat", paramLabel = "DUR", converter = Durations.class, defaultValue = "20s",
                description = "With --follow: while no output comes for DUR, print a progress line to stderr (default 20s; 0: off).")
        Duration heartbeat;

        /** Counts what was printed, across a reconnect, so that a retry neither repeats nor skips output. */
        Jobs.CountingStream sink;
        final java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();

        @Override
        int run(Jobs jobs, Map<String, Object> r) {
            if (sink == null) {
                sink = new Jobs.CountingStream(json() ? captured : parent.out);
            }
            long offset = from + sink.count;
            long deadline = max == null ? Long.MAX_VALUE : System.nanoTime() + max.toNanos();
            Jobs.Status s;
            try (Heartbeat beat = new Heartbeat(parent.err, follow ? heartbeat : null, "job " + id, null)) {
                java.io.OutputStream watched = beat.watch(sink);
                while (true) {
                    s = jobs.status(id);
                    jobs.logs(id, stderr, from + sink.count, watched);
                    offset = from + sink.count;
                    if (!follow || !s.status().equals("running")) {
                        break;
                    }
                    if (System.nanoTime() > deadline) {
                        break;
                    }
                    sleep(1000);
                }
            }
            s.putInto(r);
            r.put("stdout", json() ? captured.toString(java.nio.charset.StandardCharsets.UTF_8) : "");
            r.put("next", offset);
            if (!json()) {
                parent.err.println("next: --from " + offset + " (" + s.status() + ")");
            }
            return follow && s.status().equals("running") ? STILL_RUNNING : 0;
        }

        @Override
        String[] whenInterrupted() {
            if (!follow) {
                return null;
            }
            long next = from + (sink == null ? 0 : sink.count);
            return new String[] {"job " + id + " goes on running on the server; its output was printed up to byte " + next,
                    "continue with: job logs " + id + " --from " + next + " --follow (job kill " + id + " stops it)", id};
        }
    }

    @Command(name = "wait", description = "Wait for the job to end and exit with its status; exit 75 when --max elapses first.")
    static final class Wait extends Sub {
        @Parameters(paramLabel = "ID")
        String id;

        @Option(names = "--max", paramLabel = "DUR", converter = Durations.class, defaultValue = "50s",
                description = "Wait at most DUR (default 50s, under an agent's tool-call limit); then exit 75.")
        Duration max;

        @Option(names = "--heartbeat", paramLabel = "DUR", converter = Durations.class, defaultValue = "20s",
                description = "Every DUR of waiting, print a progress line to stderr: output so far and its last line (default 20s; 0: off).")
        Duration heartbeat;

        @Override
        int run(Jobs jobs, Map<String, Object> r) {
            Jobs.Status s;
            try (Heartbeat beat = new Heartbeat(parent.err, heartbeat, "job " + id, () -> progress(jobs, id))) {
                s = jobs.awaitEnd(id, max, 1000);
            }
            s.putInto(r);
            if (!json()) {
                parent.out.println(line(s));
            }
            return switch (s.status()) {
                case "running" -> STILL_RUNNING;
                case "lost" -> 1;
                default -> s.processExitCode();
            };
        }

        @Override
        String[] whenInterrupted() {
            return new String[] {"job " + id + " goes on running on the server",
                    "continue with: job wait " + id + " --max 50s, and job logs " + id + " --from 0 for its output (job kill " + id + " stops it)", id};
        }
    }

    /** What a job has printed so far, for a heartbeat line. */
    static String progress(Jobs jobs, String id) {
        Jobs.Status s = jobs.status(id);
        return Heartbeat.describe(s.stdoutBytes(), Heartbeat.lastLine(jobs.tail(id, 512)));
    }

    @Command(name = "kill", description = "Send a signal (default TERM) to the job's whole process group.")
    static final class Kill extends Sub {
        @Parameters(paramLabel = "ID")
        String id;

        @Option(names = "--signal", paramLabel = "SIG", defaultValue = "TERM", description = "TERM (default), KILL, INT, HUP, ...")
        String signal;

        @Override
        int run(Jobs jobs, Map<String, Object> r) {
            jobs.kill(id, signal.toUpperCase().replaceFirst("^SIG", ""));
            Jobs.Status s = jobs.awaitEnd(id, Duration.ofSeconds(5), 200);
            s.putInto(r);
            if (!json()) {
                parent.out.println(line(s));
            }
            return 0;
        }
    }

    @Command(name = "list", description = "List the jobs on the server.")
    static final class ListJobs extends Sub {
        @Override
        int run(Jobs jobs, Map<String, Object> r) {
            List<Jobs.Status> all = jobs.list();
            r.put("jobs", all.stream().map(Jobs.Status::toJson).toList());
            if (!json()) {
                all.forEach(s -> parent.out.println(line(s)));
            }
            return 0;
        }
    }

    @Command(name = "gc", description = "Remove finished and lost jobs older than --older-than (default 168h).")
    static final class Gc extends Sub {
        @Option(names = "--older-than", paramLabel = "DUR", converter = Durations.class, defaultValue = "168h",
                description = "Only jobs started longer ago than DUR (default 168h); running jobs are never removed.")
        Duration olderThan;

        @Override
        int run(Jobs jobs, Map<String, Object> r) {
            List<String> removed = jobs.gc(olderThan.toSeconds());
            r.put("removed", removed);
            if (!json()) {
                parent.out.println("removed " + removed.size() + " job(s)" + (removed.isEmpty() ? "" : ": " + String.join(", ", removed)));
            }
            return 0;
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
