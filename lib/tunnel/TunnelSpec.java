import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One forward of a tunnel, as ssh writes it: -L [BIND:]PORT:HOST:HOSTPORT (or -L [BIND:]PORT:/remote/unix.sock),
 * -R [BIND:]PORT:HOST:HOSTPORT, -D [BIND:]PORT. An IPv6 address is written in brackets ([::1]:8080:...).
 * A local bind defaults to 127.0.0.1; port 0 (-L, -D) takes any free port, which the tunnel's status shows.
 */
record TunnelSpec(Kind kind, String bind, int port, String host, int hostPort, String socketPath) {
    enum Kind {
        L("-L", "local forward"), R("-R", "remote forward"), D("-D", "SOCKS5 proxy");

        final String option;
        final String label;

        Kind(String option, String label) {
            this.option = option;
            this.label = label;
        }
    }

    static final String LOOPBACK = "127.0.0.1";

    static TunnelSpec parse(Kind kind, String text) {
        List<String> parts = split(kind, text);
        return switch (kind) {
            case D -> socks(text, parts);
            case L, R -> forward(kind, text, parts);
        };
    }

    private static TunnelSpec socks(String text, List<String> parts) {
        if (parts.size() > 2) {
            throw bad(Kind.D, text, "too many parts");
        }
        String bind = parts.size() == 2 ? parts.get(0) : LOOPBACK;
        return new TunnelSpec(Kind.D, bindOrDefault(bind), port(Kind.D, text, parts.get(parts.size() - 1), true), null, 0, null);
    }

    private static TunnelSpec forward(Kind kind, String text, List<String> parts) {
        String last = parts.get(parts.size() - 1);
        if (last.startsWith("/")) {   // PORT:/path or BIND:PORT:/path: a unix socket on the server
            if (kind == Kind.R) {
                throw bad(kind, text, "a remote forward to a unix socket is not supported");
            }
            if (parts.size() > 3) {
                throw bad(kind, text, "too many parts");
            }
            String bind = parts.size() == 3 ? parts.get(0) : LOOPBACK;
            return new TunnelSpec(kind, bindOrDefault(bind), port(kind, text, parts.get(parts.size() - 2), true), null, 0, last);
        }
        if (parts.size() != 3 && parts.size() != 4) {
            throw bad(kind, text, "expected " + (kind == Kind.L ? "[BIND:]PORT:HOST:HOSTPORT or [BIND:]PORT:/remote/unix.sock" : "[BIND:]PORT:HOST:HOSTPORT"));
        }
        int from = parts.size() - 3;
        String bind = parts.size() == 4 ? parts.get(0) : LOOPBACK;
        String host = parts.get(from + 1);
        if (host.isEmpty()) {
            throw bad(kind, text, "the host is empty");
        }
        return new TunnelSpec(kind, bindOrDefault(bind), port(kind, text, parts.get(from), kind == Kind.L),
                host, port(kind, text, parts.get(from + 2), false), null);
    }

    /** Splits on ':' outside brackets; a bracketed part ([::1]) loses its brackets. */
    private static List<String> split(Kind kind, String text) {
        List<String> parts = new ArrayList<>();
        StringBuilder part = new StringBuilder();
        boolean bracket = false;
        for (char c : text.toCharArray()) {
            if (c == '[' && part.isEmpty() && !bracket) {
                bracket = true;
            } else if (c == ']' && bracket) {
                bracket = false;
            } else if (c == ':' && !bracket) {
                parts.add(part.toString());
                part.setLength(0);
            } else {
                part.append(c);
            }
        }
        if (bracket) {
            throw bad(kind, text, "a '[' without its ']'");
        }
        parts.add(part.toString());
        return parts;
    }

    private static String bindOrDefault(String bind) {
        return bind.isEmpty() || bind.equals("*") ? "0.0.0.0" : bind;
    }

    private static int port(Kind kind, String text, String port, boolean zeroMeansAny) {
        try {
            int p = Integer.parseInt(port);
            if (p >= (zeroMeansAny ? 0 : 1) && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException notANumber) {
            // reported below
        }
        throw bad(kind, text, "'" + port + "' is not a port (1-65535" + (zeroMeansAny ? ", or 0 for any free one" : "") + ")");
    }

    private static VpsException bad(Kind kind, String text, String why) {
        return VpsException.config("bad " + kind.option + " " + text + ": " + why,
                "write " + kind.option + " " + switch (kind) {
                    case L -> "[BIND:]PORT:HOST:HOSTPORT (e.g. -L 5432:127.0.0.1:5432) or -L PORT:/remote/unix.sock (e.g. -L 2375:/var/run/docker.sock)";
                    case R -> "[BIND:]PORT:HOST:HOSTPORT (e.g. -R 8080:127.0.0.1:3000)";
                    case D -> "[BIND:]PORT (e.g. -D 1080)";
                } + "; an IPv6 address goes in brackets: [::1]:8080:...");
    }

    /** Whether the bind address reaches only this machine (127.0.0.1, ::1, localhost); else --bind-any is needed. */
    boolean loopbackBind() {
        try {
            return InetAddress.getByName(bind).isLoopbackAddress();
        } catch (UnknownHostException e) {
            throw VpsException.config("bad " + kind.option + " bind address " + bind + ": it does not resolve", "use 127.0.0.1, [::1] or an address of this machine");
        }
    }

    /** Where clients connect (this machine for -L/-D, the server for -R). */
    String listens(int actualPort) {
        String b = bind.contains(":") ? "[" + bind + "]" : bind;
        return b + ":" + actualPort;
    }

    /** What a connection reaches: HOST:PORT, the unix socket, or "SOCKS5". */
    String reaches() {
        if (kind == Kind.D) {
            return "SOCKS5 (targets resolved on the server)";
        }
        if (socketPath != null) {
            return "unix:" + socketPath;
        }
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + hostPort;
    }

    String describe(int actualPort) {
        return kind.option + " " + listens(actualPort) + " -> " + reaches() + (kind == Kind.R ? " (here)" : kind == Kind.D ? "" : " (on the server)");
    }

    Map<String, Object> toJson(int actualPort) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kind", kind.name());
        m.put("bind", bind);
        m.put("port", actualPort);
        m.put("host", host);
        m.put("hostPort", socketPath != null || kind == Kind.D ? null : hostPort);
        m.put("socket", socketPath);
        m.put("describe", describe(actualPort));
        return m;
    }
}
