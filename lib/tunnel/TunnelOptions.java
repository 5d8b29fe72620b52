import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** The forwards of a tunnel, written as ssh's -L, -R and -D (repeatable), and how far its local ports reach. */
final class TunnelOptions {
    @Option(names = "-L", paramLabel = "[BIND:]PORT:HOST:HOSTPORT", description = {
            "Local forward: connections to BIND:PORT here (BIND default 127.0.0.1, PORT 0: any free one) reach HOST:HOSTPORT as the server"
                    + " sees it (127.0.0.1 is the server itself); or -L [BIND:]PORT:/remote/unix.sock for a unix socket on the server."})
    List<String> local = new ArrayList<>();

    @Option(names = "-R", paramLabel = "[BIND:]PORT:HOST:HOSTPORT", description = "Remote forward: connections to the server's BIND:PORT (default its loopback) reach HOST:HOSTPORT as this machine sees it.")
    List<String> remote = new ArrayList<>();

    @Option(names = "-D", paramLabel = "[BIND:]PORT", description = "A SOCKS5 proxy here (no auth; CONNECT) whose connections leave from the server; names resolve there (curl --socks5-hostname).")
    List<String> socks = new ArrayList<>();

    @Option(names = "--bind-any", description = "Allow a bind address other than loopback (e.g. 0.0.0.0): the port is then reachable from other machines.")
    boolean bindAny;

    @Option(names = "--idle", paramLabel = "DUR|never",
            description = {"End the tunnel after DUR with no client connection open (a connection held open keeps it); never: only tunnel stop",
                    "ends it. Default: VPS_PERSIST, else 10m: a tunnel left behind ends like the engine does."})
    String idle;

    /** The engine's idle end when VPS_PERSIST does not say otherwise (bin/vps and TargetOptions use the same). */
    static final Duration DEFAULT_IDLE = Duration.ofMinutes(10);

    /** How long the tunnel may go without a client connection; null: never. --idle, else VPS_PERSIST, else 10 minutes. */
    Duration idleLimit() {
        String text = idle != null ? idle : Environment.get("VPS_PERSIST");
        if (text == null || text.isBlank()) {
            return DEFAULT_IDLE;
        }
        if (text.equals("never")) {
            return null;
        }
        Duration d = Durations.parse(text);
        if (d.toMillis() < 1000) {
            throw VpsException.config("--idle " + text + " is shorter than a second", "give --idle 1s or more, or never");
        }
        return d;
    }

    /** The --idle that makes a tunnel's own process keep the limit resolved here (its environment may differ from the call's). */
    List<String> idleArgs() {
        Duration d = idleLimit();
        return List.of("--idle", d == null ? "never" : Durations.format(d));
    }

    /** The forwards, checked; a bind other than loopback needs --bind-any, and then a warning line on ERR says so. */
    List<TunnelSpec> specs(PrintStream err) {
        List<TunnelSpec> all = new ArrayList<>();
        local.forEach(s -> all.add(TunnelSpec.parse(TunnelSpec.Kind.L, s)));
        remote.forEach(s -> all.add(TunnelSpec.parse(TunnelSpec.Kind.R, s)));
        socks.forEach(s -> all.add(TunnelSpec.parse(TunnelSpec.Kind.D, s)));
        if (all.isEmpty()) {
            throw VpsException.config("no forward given", "give at least one -L [BIND:]PORT:HOST:HOSTPORT, -R [BIND:]PORT:HOST:HOSTPORT or -D [BIND:]PORT");
        }
        idleLimit();   // a bad --idle fails before anything starts
        for (TunnelSpec s : all) {
            if (s.kind() != TunnelSpec.Kind.R && !s.loopbackBind() || s.kind() == TunnelSpec.Kind.R && !loopbackName(s.bind())) {
                if (!bindAny) {
                    throw VpsException.config(s.kind().option + " binds " + s.bind() + ", which other machines can reach",
                            "bind to 127.0.0.1 (the default) or [::1]; if others must reach it, add --bind-any");
                }
                err.println("warning: " + s.kind().option + " " + s.listens(s.port()) + " is reachable from other machines (--bind-any)");
            }
        }
        return all;
    }

    /** For -R the name is the server's: only its loopback names count as loopback. */
    private static boolean loopbackName(String bind) {
        return List.of("127.0.0.1", "localhost", "::1").contains(bind);
    }
}
