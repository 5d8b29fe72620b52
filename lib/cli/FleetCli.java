import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;

/**
 * Fleet mode for every front door (issue 19): when the parsed command's {@link FleetOptions} name a
 * host set, the call fans out. Each host gets a fresh command from the script's factory, parses the
 * same argv, has its target pinned to the host (fleet options off) and runs the script's normal
 * single-host code with its own streams: lines prefixed with the host's name, or captured for
 * --group and --json. Then one result: the groups, the JSON object, the summary line, the exit status.
 */
final class FleetCli {
    /** What --stdin (or --script -) may read once to give every host a copy. */
    static final int MAX_STDIN = 16 << 20;
    /** How long an interrupt's report waits for the stopped hosts to finish their own runs. */
    private static final long REPORT_WAIT_SECONDS = 10;

    private final CommandLine.ParseResult parsed;
    private final Cli.Made made;
    private final PrintStream out;
    private final PrintStream err;
    private final boolean json;
    private final boolean group;
    private final List<String> argv;
    /** The inventory the hosts came from (their groups are what a policy's `match` also sees), or null. */
    private Inventory inventory;
    private byte[] stdin = new byte[0];
    private int captureLimit = HostOutput.MAX_CAPTURE;

    private FleetCli(CommandLine.ParseResult parsed, Cli.Made made, PrintStream out, PrintStream err, boolean group) {
        this.parsed = parsed;
        this.made = made;
        this.out = out;
        this.err = err;
        this.json = jsonWanted(parsed);
        this.group = group;
        this.argv = parsed.originalArgs();
    }

    /**
     * Runs the call on its host set and returns the exit status, or null when it is a single-host
     * call (then the target is pinned to the inventory's host when -H names one).
     */
    static Integer runIfFleet(CommandLine.ParseResult parsed, Cli.Made made, PrintStream out, PrintStream err) {
        TargetOptions target = find(parsed, TargetOptions.class);
        if (target == null) {
            return null;
        }
        FleetOptions fleet = find(parsed, FleetOptions.class);
        try {
            if (fleet == null && HostSet.isList(target.host)) {
                throw VpsException.config(parsed.commandSpec().qualifiedName() + " works on one host at a time: -H " + target.host,
                        "give -H one host; exec-command, sftp-put, sftp-get, job and diagnose-auth take several");
            }
            if (fleet == null || !HostSet.fleetMode(target, fleet)) {
                if (target.host != null) {   // read once, for the host and its names
                    Inventory inventory = HostSet.inventory(target, fleet, err);
                    HostSet.single(target, inventory).ifPresent(h -> pin(target, h, inventory));
                }
                return null;
            }
            FleetCli fan = new FleetCli(parsed, made, out, err, fleet.group);
            fan.inventory = HostSet.inventory(target, fleet, err);
            return fan.run(HostSet.resolve(target, fleet, fan.inventory), fleet);
        } catch (VpsException e) {
            if (jsonWanted(parsed)) {
                out.println(Json.write(Json.failure(null, null, e, 0)));
            }
            return Cli.fail(e, err);
        }
    }

    private int run(List<FleetHost> hosts, FleetOptions fleet) {
        if (fleet.listHosts) {
            return listHosts(hosts);
        }
        FleetPlan plan = fleet.plan();
        captureLimit = HostOutput.captureLimit(hosts.size());
        if (made == null || made.factory() == null) {
            throw VpsException.config(parsed.commandSpec().qualifiedName() + " cannot run on several hosts from here", "run it through its script or vps");
        }
        FleetAware aware = find(parsed, FleetAware.class);
        if (aware != null) {
            aware.beforeFleet(hosts);
            if (aware.readsStdin()) {
                stdin = readStdin(made.in());
            }
        }
        CompletableFuture<FleetResult> done = new CompletableFuture<>();
        try (Interrupts.Registration onInterrupt = Interrupts.reporting(() -> reportInterrupted(done))) {
            FleetResult result = FleetRun.run(hosts, plan, host -> runHost(host, aware));
            done.complete(result);
            if (Interrupts.happened()) {
                return Interrupts.EXIT;   // the report is the interrupt's
            }
            print(result);
            return result.exitCode();
        }
    }

    private int listHosts(List<FleetHost> hosts) {
        if (json) {
            List<Map<String, Object>> list = new ArrayList<>();
            for (FleetHost h : hosts) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("name", h.name());
                m.put("host", h.host());
                m.put("port", h.port());
                m.put("user", h.user());
                list.add(m);
            }
            out.println(Json.write(list));
        } else {
            hosts.forEach(h -> out.println(h.name()));
        }
        out.flush();
        return 0;
    }

    /** One host's run: a fresh command, the same argv, the host pinned, its own streams. */
    private HostResult runHost(FleetHost host, FleetAware first) {
        long start = System.nanoTime();
        // A host's --json object is bounded by its own --max-output (and must stay whole); text for --group by the fleet's share.
        HostOutput.Capture capturedOut = json ? HostOutput.captured(Integer.MAX_VALUE - 8) : group ? HostOutput.captured(captureLimit) : null;
        HostOutput.Capture capturedErr = group ? HostOutput.captured(captureLimit) : null;
        OutputStream hostOut = capturedOut != null ? capturedOut : HostOutput.prefixed(host.name(), out);
        OutputStream hostErr = capturedErr != null ? capturedErr : HostOutput.prefixed(host.name(), err);
        HostErr errStream = new HostErr(hostErr, capturedErr != null ? HostOutput.prefixed(host.name(), err) : null);
        PrintStream outStream = new PrintStream(hostOut, true, StandardCharsets.UTF_8);
        Object command = made.factory().make(outStream, errStream, new ByteArrayInputStream(stdin));
        int code = Cli.commandLine(command, outStream, errStream, p -> {
            TargetOptions target = find(p, TargetOptions.class);
            pin(target, host, inventory);
            FleetAware aware = find(p, FleetAware.class);
            if (aware != null) {
                aware.forHost(host, first);
            }
        }).execute(argv.toArray(String[]::new));
        if (code == ColdRun.EXIT) {   // a host needs a person's yes, which the engine cannot ask for a host set
            code = Cli.fail(VpsException.policy("the owner's policy asks a person to confirm this on " + host.name()
                            + ", and the warm engine cannot ask at your terminal for a host set",
                    "answer it with --yes at your terminal, or run it without the engine (VPS_ENGINE=0 or --no-reuse): you are asked there"), errStream);
        }
        outStream.close();
        errStream.close();
        long ms = (System.nanoTime() - start) / 1_000_000;
        if (json) {
            Map<String, Object> envelope = envelope(host, capturedOut.text(), code, ms, errStream.failure);
            String kind = envelope.get("error") instanceof Map<?, ?> e && e.get("kind") instanceof String k ? k : null;
            return HostResult.of(host, code, kind, envelope, text(envelope.get("stdout")), text(envelope.get("stderr")));
        }
        VpsException failure = errStream.failure;
        Map<String, Object> envelope = Json.envelope(host.name(), null, code == 0 ? "ok" : "failed", failure == null ? code : null, ms, failure);
        return HostResult.of(host, code, failure == null ? null : failure.kind.name(), envelope,
                capturedOut == null ? "" : capturedOut.text(), capturedErr == null ? "" : capturedErr.text());
    }

    /** The host's own --json object, or (when its output was no JSON object) a failure that says so. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> envelope(FleetHost host, String stdout, int code, long ms, VpsException failure) {
        try {
            Object value = Json.read(stdout.strip(), Object.class);
            if (value instanceof Map<?, ?> m) {
                return (Map<String, Object>) m;
            }
        } catch (RuntimeException notJson) {
            // said below
        }
        VpsException e = failure != null ? failure : new VpsException(VpsException.Kind.CONFIG,
                "the run on " + host.name() + " (exit " + code + ") printed no JSON object", "run it on that host alone to see why");
        return Json.failure(host.name(), null, e, ms);
    }

    private static String text(Object value) {
        return value instanceof String s ? s : "";
    }

    private void print(FleetResult result) {
        if (json) {
            out.println(Json.write(result.toJson()));
            out.flush();
            return;
        }
        if (group) {
            result.printGroups(out);
        }
        out.flush();
        err.println(result.summaryLine());
        err.flush();
    }

    /** Ctrl-C: every running host was stopped (FleetRun's stop); one report for the fleet, once they are done. */
    private void reportInterrupted(CompletableFuture<FleetResult> done) {
        FleetResult result;
        try {
            result = done.get(REPORT_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (Exception notDone) {
            result = null;
        }
        String what = "the remote command was stopped on every host that ran it";
        String hint = "run it again (hosts whose command had finished are in the summary); long work survives the client as a job (job start -H ...)";
        if (json) {
            Map<String, Object> object = result != null ? result.toJson() : new LinkedHashMap<>();
            object.put("error", Interrupts.error(what, hint));
            out.println(Json.write(object));
            out.flush();
        } else if (result != null) {
            if (group) {
                result.printGroups(out);
            }
            out.flush();
            err.println(result.summaryLine());
        }
        err.println(Interrupts.line(what, hint));
        err.flush();
    }

    private static byte[] readStdin(InputStream in) {
        try {
            byte[] bytes = in.readNBytes(MAX_STDIN + 1);
            if (bytes.length > MAX_STDIN) {
                throw VpsException.config("stdin is larger than " + (MAX_STDIN >> 20) + " MiB, which every host would get a copy of",
                        "upload the input first (sftp-put -H ...) and read it from the file on each host");
            }
            return bytes;
        } catch (IOException e) {
            throw VpsException.config("cannot read stdin: " + VpsException.reason(e), "pipe the input in, or leave --stdin out");
        }
    }

    /**
     * The host's address, port, user and key on the target options (what the host leaves unset keeps
     * the options' value), and its name and groups when INVENTORY lists it.
     */
    private static void pin(TargetOptions target, FleetHost host, Inventory inventory) {
        List<String> names = inventory == null ? List.of() : inventory.namesOf(host.name());
        target.pin(host.host() != null ? host.host() : host.name(), host.port(), host.user(), host.identity(), names);
    }

    /** The first object of type T among the parsed commands (deepest first) and their mixins. */
    static <T> T find(CommandLine.ParseResult parsed, Class<T> type) {
        List<CommandLine.ParseResult> chain = new ArrayList<>();
        for (CommandLine.ParseResult p = parsed; p != null; p = p.hasSubcommand() ? p.subcommand() : null) {
            chain.add(0, p);
        }
        for (CommandLine.ParseResult p : chain) {
            if (type.isInstance(p.commandSpec().userObject())) {
                return type.cast(p.commandSpec().userObject());
            }
            for (CommandLine.Model.CommandSpec mixin : p.commandSpec().mixins().values()) {
                if (type.isInstance(mixin.userObject())) {
                    return type.cast(mixin.userObject());
                }
            }
        }
        return null;
    }

    /** True when the parsed call asks for --json (the inner runs are --json then, and their objects become one). */
    static boolean jsonWanted(CommandLine.ParseResult parsed) {
        for (CommandLine.ParseResult p = parsed; p != null; p = p.hasSubcommand() ? p.subcommand() : null) {
            CommandLine.Model.OptionSpec option = p.commandSpec().findOption("--json");
            if (option != null && Boolean.TRUE.equals(option.getValue())) {
                return true;
            }
        }
        return false;
    }

    /**
     * A host's stderr that also records the failure {@link Cli#fail} printed: the host's classification
     * comes from it. While stderr is captured (--group), the command's heartbeats still go out live,
     * prefixed: they keep a caller's inactivity timer from firing, and kept in the capture they would
     * split identical outputs by how long each host was silent.
     */
    static final class HostErr extends PrintStream {
        volatile VpsException failure;
        private final PrintStream liveProgress;

        HostErr(OutputStream target, OutputStream liveProgress) {
            super(target, true, StandardCharsets.UTF_8);
            this.liveProgress = liveProgress == null ? null : new PrintStream(liveProgress, true, StandardCharsets.UTF_8);
        }

        @Override
        public void println(String line) {
            if (liveProgress != null && line != null && line.startsWith(Heartbeat.PREFIX)) {
                liveProgress.println(line);
            } else {
                super.println(line);
            }
        }

        @Override
        public void close() {
            super.close();
            if (liveProgress != null) {
                liveProgress.close();
            }
        }
    }
}
