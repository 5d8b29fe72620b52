///usr/bin/env jbang "$0" "$@" ; exit $?
//MAIN SessionCommand
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto
//DESCRIPTION Interactive programs (a shell, psql, a REPL) living on the server across calls: open, send, read, list, close.
//SOURCES ../lib/Deps.java
//SOURCES ../lib/util/ByteSizes.java ../lib/util/ColdRun.java ../lib/util/Daemons.java ../lib/util/Durations.java
//SOURCES ../lib/util/Environment.java ../lib/util/Interrupts.java ../lib/util/Json.java ../lib/util/LocalFolders.java
//SOURCES ../lib/util/Processes.java ../lib/util/ServerIds.java ../lib/util/Sha256.java ../lib/util/ShellQuote.java
//SOURCES ../lib/util/VpsException.java ../lib/util/YamlDocument.java
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
//SOURCES ../lib/sessions/Sessions.java
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

@Command(name = "session", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
        description = "Runs an interactive program (sh -i, psql, python3, a device's CLI) on the server and talks to it over separate calls: open prints its id, send types into it, read returns its output from an offset. It lives on the server (~/.vps-toolkit/sessions/ID, 0700), so it survives a killed client and a dropped link; its output keeps the last 8 MiB; it is closed after --idle without input. Exit codes: 0, 1 no such session (or it ended), 124 read --wait-for saw no match within --max.",
        subcommands = {SessionCommand.Open.class, SessionCommand.Send.class, SessionCommand.Read.class,
                SessionCommand.ListSessions.class, SessionCommand.Close.class},
        footer = {"", "Examples:", "  export ID=$(session -H vps open -- sh -i)              # the new session's id",
                "  session -H vps send \"$ID\" 'cd /tmp && ls\\n'            # \\n is Enter",
                "  session -H vps read \"$ID\" --from 0 --wait-for '[$#] $'   # up to the prompt; stderr says the next --from",
                "  session -H vps close \"$ID\""})
class SessionCommand extends ParentCommand {
    SessionCommand() {
        this(System.out, System.err);
    }

    SessionCommand(PrintStream out, PrintStream err) {
        super(out, err);
    }

    public static void main(String... args) {
        Cli.main(new SessionCommand(), args);
    }

    /** A session subcommand: ParentCommand.Sub's skeleton through Sessions. */
    abstract static class Sub extends ParentCommand.Sub<Sessions> {
        @Override
        Sessions on(VpsConnection connection) {
            return new Sessions(connection);
        }

        @Override
        Map<String, Object> result(String host, String command) {
            return Sessions.result(host, command);
        }

        /** Reads may run again after a dropped link; open, send and close must not (twice is not once). */
        @Override
        boolean repeatable() {
            return false;
        }

        String line(Sessions.Status s) {
            return s.id() + "  " + s.describe() + "  " + (s.pty() ? "pty  " : "") + "started " + java.time.Instant.ofEpochSecond(s.startedEpoch())
                    + "  " + s.outputBytes() + " bytes  " + s.command();
        }
    }

    @Command(name = "open", description = "Start CMD (run by your login shell, as with ssh) in a new session and print its id. Its input comes only from send; its output (stdout and stderr merged) waits for read.")
    static final class Open extends Sub {
        @Option(names = "--pty", description = "Give it a terminal (120x40, TERM=dumb): for programs that insist on one. The terminal echoes what you send.")
        boolean pty;

        @Option(names = "--idle", paramLabel = "DUR", converter = Durations.class, defaultValue = "30m",
                description = "Close the session after DUR without a send (default 30m).")
        Duration idle;

        @Parameters(paramLabel = "CMD", arity = "1..*", description = "The program (words joined with spaces, as with ssh), e.g. sh -i, psql, python3 -i.")
        List<String> words = new ArrayList<>();

        @Mixin
        PolicyOptions policy;

        @Override
        PolicyAction policyAction() {
            String command = String.join(" ", words);
            return PolicyAction.of(PolicyAction.Kind.SESSION_OPEN, List.of(command), false, command);
        }

        @Override
        PolicyOptions policyOptions() {
            return policy;
        }

        @Override
        int run(Sessions sessions, Map<String, Object> r) {
            if (idle.toMillis() < 1000) {
                throw VpsException.config("--idle " + Durations.format(idle) + " is shorter than a second", "give --idle 1s or more (default 30m)");
            }
            String id = Sessions.newId();
            Sessions.Status s;
            try {
                s = sessions.open(id, String.join(" ", words), pty, (idle.toMillis() + 999) / 1000);
            } catch (VpsException e) {
                if (e.kind != VpsException.Kind.NETWORK) {
                    throw e;
                }
                throw new VpsException(e.kind, e.getMessage() + "; session " + id + " may have been opened",
                        "check with: session list (close it with session close " + id + ")", false, e);
            }
            s.putInto(r);
            if (!parent.json) {
                parent.out.println(id);
            }
            return 0;
        }
    }

    @Command(name = "send", description = "Type TEXT into the session (\\n is Enter; also \\r \\t \\\\ and \\xHH, e.g. \\x03 for Ctrl-C with --pty), or with --send-env NAME the value of your local variable NAME and a newline, which then appears in no argv, log or JSON. A terminal (--pty) echoes what it is sent unless the program turned echo off, as password prompts do: --send-env is refused while it echoes.")
    static final class Send extends Sub {
        @Parameters(index = "0", paramLabel = "ID")
        String id;

        @Parameters(index = "1", arity = "0..1", paramLabel = "TEXT", description = "What to type; end it with \\n to press Enter.")
        String text;

        @Option(names = "--send-env", paramLabel = "NAME", description = "Send the value of the local variable NAME, then a newline (for a password prompt).")
        String sendEnv;

        @Mixin
        PolicyOptions policy;

        @Override
        PolicyAction policyAction() {
            String typed = text == null ? "" : text.replace("\\n", "\n");
            return PolicyAction.of(PolicyAction.Kind.SESSION_SEND, text == null ? List.of() : List.of(typed), false,
                    sendEnv != null ? "(the value of " + sendEnv + ")" : "session " + id + ": " + typed.strip());
        }

        @Override
        PolicyOptions policyOptions() {
            return policy;
        }

        @Override
        void audit(Audit audit, Map<String, Object> r) {
            audit.put("input", sendEnv != null ? "--send-env " + sendEnv : text);
            if (sendEnv != null) {
                audit.secret(Environment.get(sendEnv));
            }
        }

        @Override
        int run(Sessions sessions, Map<String, Object> r) {
            Sessions.checkId(id);
            byte[] bytes = Sessions.input(text, sendEnv);
            sessions.send(id, bytes, sendEnv != null);
            r.put("session", id);
            r.put("sent", bytes.length);
            return 0;
        }
    }

    @Command(name = "read", description = "Print the session's output from byte --from, and where to go on (next) on stderr. --wait-for waits until the output since --from matches REGEX (at most --max).")
    static final class Read extends Sub {
        @Parameters(paramLabel = "ID")
        String id;

        @Option(names = "--from", paramLabel = "OFFSET", description = "Start at this byte (the 'next' of the previous read; default 0).")
        long from;

        @Option(names = "--wait-for", paramLabel = "REGEX", description = "Wait until the output since --from matches REGEX (Java regex; MULTILINE: ^ and $ match at lines).")
        String waitFor;

        @Option(names = "--max", paramLabel = "DUR", converter = Durations.class, defaultValue = "10s",
                description = "With --wait-for: wait at most DUR (default 10s, at most 50s), then exit 124.")
        Duration max;

        @Option(names = "--max-bytes", paramLabel = "SIZE", converter = ByteSizes.class, defaultValue = "1m",
                description = "Return at most SIZE bytes (default and most: 1m); next says where to go on.")
        long maxBytes;

        @Override
        boolean repeatable() {
            return true;
        }

        @Override
        String[] whenInterrupted() {
            return waitFor == null ? null : new String[] {"session " + id + " goes on running on the server",
                    "read it again with: session read " + id + " --from " + from + " (session close " + id + " ends it)"};
        }

        @Override
        int run(Sessions sessions, Map<String, Object> r) {
            Sessions.Reading reading = sessions.read(id, from, waitFor, max, maxBytes);
            reading.putInto(r);
            if (!parent.json) {
                parent.out.write(reading.output(), 0, reading.output().length);
                parent.out.flush();
                if (reading.skipped() > 0) {
                    parent.err.println("skipped " + reading.skipped() + " bytes: a session keeps only its last 8 MiB of output");
                }
                parent.err.println("next: --from " + reading.next() + " (" + reading.status()
                        + (reading.exitCode() == null ? "" : ", exit " + reading.exitCode()) + (reading.more() ? "; more output waits" : "") + ")");
            }
            VpsException missed = reading.missed(waitFor, max);
            if (missed == null) {
                return 0;
            }
            r.put("error", Json.error(missed));
            return Cli.fail(missed, parent.err);
        }
    }

    @Command(name = "list", description = "List the sessions on the server: id, status (running, exited, closed, lost), output size, command.")
    static final class ListSessions extends Sub {
        @Override
        boolean repeatable() {
            return true;
        }

        @Override
        int run(Sessions sessions, Map<String, Object> r) {
            List<Sessions.Status> all = sessions.list();
            r.remove("status");
            r.remove("exitCode");
            r.put("sessions", all.stream().map(Sessions.Status::toJson).toList());
            if (!parent.json) {
                all.forEach(s -> parent.out.println(line(s)));
            }
            return 0;
        }
    }

    @Command(name = "close", description = "Stop the session's program (every process of it) and remove its folder and output.")
    static final class Close extends Sub {
        @Parameters(paramLabel = "ID")
        String id;

        @Override
        int run(Sessions sessions, Map<String, Object> r) {
            Sessions.Status s = sessions.close(Sessions.checkId(id));
            s.putInto(r);
            if (!parent.json) {
                parent.out.println(line(s));
            }
            return 0;
        }
    }
}
