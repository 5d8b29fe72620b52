///usr/bin/env jbang "$0" "$@" ; exit $?
//MAIN ConnectionCommand
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto
//DESCRIPTION Connection holders kept by --reuse: status (which targets have a warm login) and stop.
//SOURCES ../lib/Deps.java ../lib/Cli.java ../lib/Environment.java ../lib/VpsException.java ../lib/Durations.java
//SOURCES ../lib/Json.java ../lib/Target.java ../lib/TargetOptions.java ../lib/TargetResolver.java ../lib/LocalFolders.java
//SOURCES ../lib/SshConfig.java ../lib/Identities.java ../lib/JumpProxy.java ../lib/Fingerprints.java
//SOURCES ../lib/HostKeyVerifier.java ../lib/VpsConnection.java ../lib/ServerProbe.java ../lib/Sandbox.java ../lib/SandboxServer.java

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "connection", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
        description = {"Shows and stops the connection holders that --reuse (or VPS_REUSE=1) starts: one background",
                "process per target that keeps the SSH login, so later calls skip the handshake. A holder exits",
                "by itself after --persist (default 10m) without clients. With target options, only that target's holder."},
        subcommands = {ConnectionCommand.Status.class, ConnectionCommand.Stop.class},
        footer = {"", "Examples:", "  connection status", "  connection stop -H vps", "  connection stop --all"})
class ConnectionCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Declared here, inherited by every subcommand: accepted before and after its name. */
    @Mixin
    TargetOptions target;

    @Option(names = "--json", scope = CommandLine.ScopeType.INHERIT, description = "Print one JSON object.")
    boolean json;

    final PrintStream out;
    final PrintStream err;

    ConnectionCommand() {
        this(System.out, System.err);
    }

    ConnectionCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String... args) {
        Cli.main(new ConnectionCommand(), args);
    }

    @Override
    public Integer call() {
        spec.commandLine().usage(out);
        return 2;
    }

    /** The holders a subcommand acts on: the target's one when target options are given, else all. */
    @Command(mixinStandardHelpOptions = true, versionProvider = Cli.Version.class)
    abstract static class Sub implements Callable<Integer> {
        @CommandLine.ParentCommand
        ConnectionCommand parent;

        boolean json() {
            return parent.json;
        }

        List<HolderFiles> selected(boolean all) {
            TargetOptions target = parent.target;
            boolean named = target.host != null || target.sandbox || Environment.get("VPS_HOST") != null;
            if (all || !named) {
                return Holders.all();
            }
            HolderFiles f = Holders.files(target.resolve(parent.err));
            return f.readState() == null ? List.of() : List.of(f);
        }

        Map<String, Object> describe(HolderFiles f) {
            HolderFiles.State s = f.readState();
            Map<String, Object> m = new LinkedHashMap<>(s == null ? Map.of("id", f.id()) : s.raw());
            m.put("running", Holders.alive(f));
            return m;
        }

        int report(String action, List<Map<String, Object>> holders, int exit) {
            if (json()) {
                Map<String, Object> r = Json.envelope(null, "connection " + action, "exited", exit, 0, null);
                r.put("holders", holders);
                parent.out.println(Json.write(r));
            }
            return exit;
        }
    }

    @Command(name = "status", description = "List the holders: target, pid, link state, clients, idle limit. Exit 0 when one runs, 1 when none.")
    static final class Status extends Sub {
        @Override
        public Integer call() {
            try {
                List<Map<String, Object>> holders = new ArrayList<>();
                for (HolderFiles f : selected(false)) {
                    Map<String, Object> m = describe(f);
                    holders.add(m);
                    if (!json()) {
                        parent.out.println(f.id() + "  " + m.get("target") + "  " + (Boolean.TRUE.equals(m.get("running")) ? "running" : "stale")
                                + "  pid " + num(m.get("pid")) + "  link " + m.get("upstream") + "  clients " + num(m.get("clients"))
                                + "  reconnects " + num(m.get("reconnects")) + "  idle limit " + num(m.get("persistSeconds")) + "s");
                    }
                }
                boolean any = holders.stream().anyMatch(m -> Boolean.TRUE.equals(m.get("running")));
                if (!json() && holders.isEmpty()) {
                    parent.out.println("no connection holders");
                }
                return report("status", holders, any ? 0 : 1);
            } catch (VpsException e) {
                if (json()) {
                    parent.out.println(Json.write(Json.failure(null, "connection status", e, 0)));
                }
                return Cli.fail(e, parent.err);
            }
        }

        private static String num(Object o) {
            return o instanceof Number n ? Long.toString(n.longValue()) : String.valueOf(o);
        }
    }

    @Command(name = "stop", description = "Stop the target's holder (or every holder with --all, or when no target is given).")
    static final class Stop extends Sub {
        @Option(names = "--all", description = "Stop every holder.")
        boolean all;

        @Override
        public Integer call() {
            try {
                List<Map<String, Object>> holders = new ArrayList<>();
                for (HolderFiles f : selected(all)) {
                    Map<String, Object> m = describe(f);
                    boolean was = Holders.stop(f);
                    m.put("running", false);
                    m.put("stopped", was);
                    holders.add(m);
                    if (!json()) {
                        parent.out.println(f.id() + "  " + m.get("target") + "  " + (was ? "stopped" : "was not running (files removed)"));
                    }
                }
                if (!json() && holders.isEmpty()) {
                    parent.out.println("no connection holders");
                }
                return report("stop", holders, 0);
            } catch (VpsException e) {
                if (json()) {
                    parent.out.println(Json.write(Json.failure(null, "connection stop", e, 0)));
                }
                return Cli.fail(e, parent.err);
            }
        }
    }
}
