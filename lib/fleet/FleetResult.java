import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a fleet run came to: every host's result in the set's order, the distinct outputs with the
 * hosts that produced them, the summary, and the exit status (README's table):
 * 0 every host ok; 255 some host could not be reached, verified or logged in to; else 1 when some
 * host's command failed.
 */
final class FleetResult {
    static final int EXIT_FAILED = 1;
    static final int EXIT_UNREACHABLE = 255;
    /** The summary line names at most this many hosts of each outcome. */
    static final int NAMES_SHOWN = 10;

    private final List<HostResult> hosts;

    FleetResult(List<HostResult> hosts) {
        this.hosts = List.copyOf(hosts);
    }

    List<HostResult> hosts() {
        return hosts;
    }

    /** One distinct (stdout, stderr, exit code) and the hosts that produced it, in first-seen order. */
    record Group(List<String> hosts, int exitCode, String stdout, String stderr) {}

    /** The hosts that ran (skipped ones have no output), grouped by identical (stdout, stderr, exit code). */
    List<Group> groups() {
        Map<List<Object>, List<String>> byOutput = new LinkedHashMap<>();
        for (HostResult r : hosts) {
            if (r.outcome() != HostResult.Outcome.SKIPPED) {
                byOutput.computeIfAbsent(List.of(r.stdout(), r.stderr(), r.exitCode()), k -> new ArrayList<>()).add(r.host().name());
            }
        }
        List<Group> groups = new ArrayList<>();
        byOutput.forEach((key, names) -> groups.add(new Group(List.copyOf(names), (Integer) key.get(2), (String) key.get(0), (String) key.get(1))));
        return groups;
    }

    int count(HostResult.Outcome outcome) {
        return (int) hosts.stream().filter(r -> r.outcome() == outcome).count();
    }

    List<String> names(HostResult.Outcome outcome) {
        return hosts.stream().filter(r -> r.outcome() == outcome).map(r -> r.host().name()).toList();
    }

    int exitCode() {
        if (count(HostResult.Outcome.UNREACHABLE) > 0) {
            return EXIT_UNREACHABLE;
        }
        return count(HostResult.Outcome.FAILED) > 0 ? EXIT_FAILED : 0;
    }

    Map<String, Object> summary() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("ok", count(HostResult.Outcome.OK));
        s.put("failed", count(HostResult.Outcome.FAILED));
        s.put("unreachable", count(HostResult.Outcome.UNREACHABLE));
        s.put("skipped", count(HostResult.Outcome.SKIPPED));
        return s;
    }

    /** {"hosts": {NAME: envelope}, "groups": [{"hosts", "exitCode", "stdout", "stderr"}], "summary": {...}}. */
    Map<String, Object> toJson() {
        Map<String, Object> byName = new LinkedHashMap<>();
        hosts.forEach(r -> byName.put(r.host().name(), r.envelope()));
        List<Map<String, Object>> groups = new ArrayList<>();
        for (Group g : groups()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("hosts", g.hosts());
            m.put("exitCode", g.exitCode());
            m.put("stdout", g.stdout());
            m.put("stderr", g.stderr());
            groups.add(m);
        }
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("hosts", byName);
        json.put("groups", groups);
        json.put("summary", summary());
        return json;
    }

    /** `fleet: 18 ok, 1 failed (web2), 1 unreachable (db1), 0 skipped`. */
    String summaryLine() {
        return "fleet: " + count(HostResult.Outcome.OK) + " ok, " + part(HostResult.Outcome.FAILED, "failed") + ", "
                + part(HostResult.Outcome.UNREACHABLE, "unreachable") + ", " + part(HostResult.Outcome.SKIPPED, "skipped");
    }

    private String part(HostResult.Outcome outcome, String word) {
        List<String> names = names(outcome);
        if (names.isEmpty()) {
            return "0 " + word;
        }
        String shown = String.join(", ", names.subList(0, Math.min(NAMES_SHOWN, names.size())));
        String more = names.size() > NAMES_SHOWN ? ", +" + (names.size() - NAMES_SHOWN) + " more" : "";
        return names.size() + " " + word + " (" + shown + more + ")";
    }

    /** --group: each distinct output once, under a header naming its hosts and exit code (clush -b, dshbak -c). */
    void printGroups(PrintStream out) {
        for (Group g : groups()) {
            String header = String.join(",", g.hosts()) + " (exit " + g.exitCode() + ")";
            String rule = "-".repeat(Math.min(72, Math.max(15, header.length())));
            out.println(rule);
            out.println(header);
            out.println(rule);
            printBlock(out, g.stdout());
            printBlock(out, g.stderr());
        }
        out.flush();
    }

    private static void printBlock(PrintStream out, String text) {
        if (!text.isEmpty()) {
            out.print(text.endsWith("\n") ? text : text + "\n");
        }
    }
}
