import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * The process a detached tunnel runs in (see {@link Tunnels}): `java TunnelDaemon ID` reads the start
 * call's arguments from tunnels/ID/request.json, keeps the {@link Tunnel} up and writes its state to
 * tunnels/ID/state.json every second and on every change, until `tunnel stop` (SIGTERM), a failure
 * that will not heal, or --idle without client connections.
 */
@Command(name = "tunnel-daemon")
final class TunnelDaemon implements Callable<Integer> {
    @Mixin
    TargetOptions target;

    @Mixin
    TunnelOptions forwards;

    private final String id;
    private final Path dir;
    private final String processStart = ProcessHandle.current().info().startInstant().map(Object::toString).orElse(null);
    private volatile Tunnel tunnel;
    private volatile String ended;
    /** How long without a client connection ends it (null: never): the --idle its start resolved. */
    private volatile java.time.Duration idle;
    private volatile Target resolved;
    private final Object activity = new Object();
    private boolean active;

    TunnelDaemon(String id) {
        this.id = id;
        this.dir = Tunnels.folder(id);
    }

    public static void main(String[] args) throws IOException {
        TunnelDaemon daemon = new TunnelDaemon(args[0]);
        @SuppressWarnings("unchecked")
        List<String> request = (List<String>) Json.read(Files.readString(daemon.dir.resolve("request.json")), Map.class).get("args");
        CommandLine cl = new CommandLine(daemon);
        cl.setUnmatchedArgumentsAllowed(true);   // the start call's own words (start, --json, --yes)
        System.exit(cl.execute(request.toArray(String[]::new)));
    }

    @Override
    public Integer call() {
        try {
            List<TunnelSpec> specs = forwards.specs(System.err);
            idle = forwards.idleLimit();
            Target t = target.resolve(System.err);
            resolved = t;
            tunnel = new Tunnel(t, specs, new Tunnel.Watcher() {
                @Override
                public void changed(Tunnel tunnel) {
                    write();
                }

                @Override
                public void activity(Tunnel tunnel) {
                    wake();
                }
            });
            tunnel.start();
            Runtime.getRuntime().addShutdownHook(new Thread(this::stopped, "vps-tunnel-stop"));
        } catch (VpsException e) {
            writeFailure(e);
            System.err.println(e.describe());
            return e.exitCode();
        }
        System.err.println(Instant.now() + " tunnel " + id + " up: " + String.join(", ", describe()));
        while (tunnel.status() != Tunnel.Status.FAILED && tunnel.status() != Tunnel.Status.STOPPED) {
            if (idle != null && tunnel.quiet().compareTo(idle) > 0) {
                ended = "no client connection for " + Durations.human(idle) + " (--idle)";
                tunnel.close();
                break;
            }
            write();
            try {
                awaitActivity();
            } catch (InterruptedException e) {
                break;
            }
        }
        write();
        VpsException error = tunnel.error();
        auditEnd(error);
        if (error != null) {
            System.err.println(Instant.now() + " tunnel " + id + " failed: " + error.describe());
            return error.exitCode();
        }
        return 0;
    }

    /** Until a client connection ended (its counters are shown at once) or a second passed; at most 50 writes a second. */
    private void awaitActivity() throws InterruptedException {
        Thread.sleep(20);
        synchronized (activity) {
            if (!active) {
                activity.wait(1000);
            }
            active = false;
        }
    }

    private void wake() {
        synchronized (activity) {
            active = true;
            activity.notifyAll();
        }
    }

    private List<String> describe() {
        List<String> all = new ArrayList<>();
        for (Map<String, Object> f : tunnel.forwards()) {
            all.add(String.valueOf(f.get("describe")));
        }
        return all;
    }

    /** A tunnel that ends by itself (its idle end, a failure that will not heal) says so in the audit log; tunnel stop writes its own line. */
    private void auditEnd(VpsException error) {
        String why = ended;
        if ("tunnel stop".equals(why) || error == null && why == null) {
            return;
        }
        Map<String, Object> s = tunnel.snapshot();
        Audit.start("tunnel_end").target(resolved).put("id", id).put("hostKey", s.get("hostKey")).put("forwards", describe())
                .put("reason", error != null ? error.describe() : why).write(error != null ? "failed" : "ended", null, Tunnels.bytesMoved(s), System.err);
    }

    private void stopped() {
        Tunnel t = tunnel;
        if (t != null && t.status() != Tunnel.Status.FAILED && t.status() != Tunnel.Status.STOPPED) {
            ended = "tunnel stop";
            t.close();
            write();
        }
    }

    private synchronized void write() {
        Tunnel t = tunnel;
        if (t == null) {
            return;
        }
        Map<String, Object> state = header();
        state.putAll(t.snapshot());
        state.put("idleLimitSeconds", idle == null ? null : idle.toSeconds());
        state.put("ended", ended);
        save(state);
    }

    private synchronized void writeFailure(VpsException e) {
        Map<String, Object> state = header();
        state.put("status", "failed");
        state.put("since", Instant.now().toString());
        state.put("error", Json.error(e));
        save(state);
    }

    private Map<String, Object> header() {
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("pid", ProcessHandle.current().pid());
        state.put("processStart", processStart);
        return state;
    }

    private void save(Map<String, Object> state) {
        try {
            LocalFolders.writePrivate(dir.resolve("state.json"), Json.write(state));
        } catch (IOException e) {
            System.err.println("cannot write " + dir.resolve("state.json") + ": " + e.getMessage());
        }
    }
}
