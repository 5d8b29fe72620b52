import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * exec-command --dry-run: the exact requests a call would send (the fixed exec line and what goes
 * on the channel's stdin), and the target they would go to. Nothing connects. Secrets are masked:
 * the sudo or su password line and every --env value show as ***, --send-env answers by name only;
 * the length lines of the stdin frames are those of the masked text.
 */
final class DryRun {
    static final String MASK = "***";

    private DryRun() {}

    /** One exec request: the channel's command line and its stdin header. */
    record Request(String exec, String stdin) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("exec", exec);
            m.put("stdin", stdin);
            return m;
        }
    }

    /** The request CMD makes, with the sudo/su password and every --env value masked. */
    static Request request(RemoteCommand cmd) {
        return new Request(RemoteCommand.EXEC_REQUEST, new String(masked(cmd).stdinHeader(true), StandardCharsets.UTF_8));
    }

    /** The request that starts CMD as job ID and follows it (--detach-after; mcp-server's exec), masked the same way. */
    static Request jobRequest(RemoteCommand cmd, String id) {
        return request(RemoteCommand.of(DetachedExec.script(id, masked(cmd))));
    }

    /** CMD with *** for every --env value and for the sudo or su password: what the plan shows is built as the real request is. */
    private static RemoteCommand masked(RemoteCommand cmd) {
        Map<String, String> env = new LinkedHashMap<>();
        cmd.env().keySet().forEach(name -> env.put(name, MASK));
        Privilege p = cmd.privilege();
        return cmd.withEnv(env).withPrivilege(p.password() == null ? p : new Privilege(p.way(), p.user(), MASK));
    }

    /** Where the requests would go: name, host, port, user, the key files offered, whether the agent is asked. */
    static Map<String, Object> target(Target t) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", t.alias());
        m.put("host", t.host());
        m.put("port", t.port());
        m.put("user", t.user());
        m.put("keys", t.identities().stream().map(String::valueOf).toList());
        m.put("agent", t.useAgent());
        return m;
    }

    /** The whole plan as one JSON object: {"dryRun": true, "target", "requests", "notes", "policy"}. */
    static Map<String, Object> toJson(Target t, List<Request> requests, List<String> notes, String policy) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("dryRun", true);
        m.put("host", t.host());
        m.put("target", target(t));
        m.put("requests", requests.stream().map(Request::toJson).toList());
        m.put("notes", notes);
        m.put("policy", policy);
        return m;
    }

    /** The plan as text for a person: the target, the policy line, then each request's exec line and stdin. */
    static String toText(Target t, List<Request> requests, List<String> notes, String policy) {
        StringBuilder s = new StringBuilder("dry run: nothing was sent; " + requests.size() + " request(s) would go to ")
                .append(t.user()).append('@').append(t.host()).append(':').append(t.port())
                .append(t.alias() == null || t.alias().equals(t.host()) ? "" : " (" + t.alias() + ")").append('\n');
        List<String> keys = t.identities().stream().map(String::valueOf).toList();
        s.append("keys: ").append(keys.isEmpty() ? "none" : String.join(", ", keys)).append(t.useAgent() ? " (and the ssh agent)" : "").append('\n');
        s.append("policy: ").append(policy).append('\n');
        notes.forEach(n -> s.append("note: ").append(n).append('\n'));
        for (int i = 0; i < requests.size(); i++) {
            Request r = requests.get(i);
            s.append("request ").append(i + 1).append(" exec: ").append(r.exec()).append('\n');
            s.append("request ").append(i + 1).append(" stdin (secrets shown as ").append(MASK).append("):\n");
            for (String line : r.stdin().split("\n", -1)) {
                s.append("  | ").append(line).append('\n');
            }
        }
        return s.toString();
    }

    /** What the requests do not show: answers typed later (--expect), forwarded stdin, a terminal. */
    static List<String> notes(RemoteCommand cmd, List<PromptRules.Given> answers) {
        List<String> notes = new ArrayList<>();
        if (cmd.privilege().escalates()) {
            notes.add("runs as " + cmd.privilege() + "; " + (cmd.privilege().password() == null ? "sudo -n is checked first (one more request)"
                    : "the password line is shown as " + MASK));
        }
        if (cmd.forwardStdin() && answers.isEmpty()) {
            notes.add("your stdin follows each request's stdin (--stdin)");
        }
        if (cmd.pty()) {
            notes.add("a terminal (pty) is requested before the exec request");
        }
        for (PromptRules.Given g : answers) {
            notes.add(g.option() + " " + (g.option().equals("--send-env") ? g.value() + " (its value: " + MASK + ")" : g.value()));
        }
        return notes;
    }
}
