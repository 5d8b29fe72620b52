import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;

/**
 * The owner's policy file (YAML):
 * <pre>
 * default:                 # targets no entry matches (absent: mode full, no rules)
 *   mode: confirm
 * targets:                 # first match wins
 *   - match: "prod-*"      # glob (or a list) against the -H name / ssh alias, the host name, inventory groups
 *     mode: read-only      # full | confirm | read-only
 *     deny: ["rm *", "reboot*"]                # globs against every simple command
 *     allow: ["systemctl restart nginx"]       # these pass whatever the mode
 * </pre>
 * Every rule remembers FILE:LINE. A file that does not parse or has an unknown key is a CONFIG error
 * naming FILE:LINE (the call fails closed).
 */
final class Policy {
    enum Mode { FULL, CONFIRM, READ_ONLY }

    record Rule(String glob, Pattern pattern, String where) {
        boolean matches(String text) {
            return pattern.matcher(text).matches();
        }
    }

    /** One entry: its match globs, mode and rules; WHERE is the entry's FILE:LINE, MODE_WHERE its mode's. */
    record Entry(List<Rule> match, Mode mode, String modeWhere, List<Rule> deny, List<Rule> allow, String where) {}

    private static final Set<String> TOP_KEYS = Set.of("default", "targets");
    private static final Set<String> ENTRY_KEYS = Set.of("match", "mode", "deny", "allow");
    /** Assignments a read-only command may carry: they change no program's choice of what to run or write. */
    private static final Pattern SAFE_ASSIGNMENT = Pattern.compile("(LANG|LC_\\w+|TZ|COLUMNS|LINES|TERM|NO_COLOR)=.*", Pattern.DOTALL);

    final Path file;
    final List<Entry> entries;
    final Entry fallback;

    private Policy(Path file, List<Entry> entries, Entry fallback) {
        this.file = file;
        this.entries = entries;
        this.fallback = fallback;
    }

    static Policy read(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw VpsException.config("cannot read the policy file " + file + ": " + VpsException.reason(e),
                    "fix its permissions; nothing runs until it can be read");
        }
        return parse(text, file);
    }

    static Policy parse(String text, Path file) {
        Node root = YamlDocument.compose(text, file.toString(), (line, what) -> error(file, line, what));
        Reader r = new Reader(file);
        if (root == null) {
            return new Policy(file, List.of(), r.full(1));
        }
        Map<String, NodeTuple> top = r.mapping(root, TOP_KEYS, "the policy");
        Entry fallback = top.containsKey("default") ? r.entry(top.get("default").getValueNode(), false) : r.full(1);
        List<Entry> entries = new ArrayList<>();
        if (top.containsKey("targets")) {
            Node targets = top.get("targets").getValueNode();
            if (!(targets instanceof SequenceNode seq)) {
                throw error(file, line(targets), "targets: must be a list of entries (- match: ...)");
            }
            seq.getValue().forEach(n -> entries.add(r.entry(n, true)));
        }
        return new Policy(file, List.copyOf(entries), fallback);
    }

    /** The entry for a target known by NAMES (alias, host name, inventory groups): first match, else default. */
    Entry entryFor(List<String> names) {
        for (Entry e : entries) {
            for (Rule m : e.match()) {
                if (names.stream().filter(n -> n != null).anyMatch(m::matches)) {
                    return e;
                }
            }
        }
        return fallback;
    }

    /** What this policy says about ACTION on a target known by NAMES. */
    Decision decide(List<String> names, PolicyAction action) {
        Entry e = entryFor(names);
        if (action.kind() == PolicyAction.Kind.DOWNLOAD) {
            return Decision.ALLOW;   // a read in every mode
        }
        Decision d = Decision.ALLOW;
        if (action.changes()) {
            String what = action.privileged() ? action.kind().label() + " as another user (--sudo/--su)" : action.kind().label();
            d = d.and(byMode(e, false, what + " can change the server"));
        }
        for (String line : action.commands()) {
            d = d.and(commandLine(e, line));
            if (d.verdict() == Decision.Verdict.REFUSE) {
                return d;
            }
        }
        return d;
    }

    private Decision commandLine(Entry e, String line) {
        ShellCommands.Parsed parsed = ShellCommands.parse(line);
        for (ShellCommands.Simple c : parsed.commands()) {
            for (ShellCommands.Simple level = c; level != null; level = level.inner()) {
                for (Rule deny : e.deny()) {
                    if (deny.matches(level.text())) {
                        return Decision.refuse(deny.where(), "`" + level.text() + "` matches the deny rule `" + deny.glob() + "`");
                    }
                }
            }
        }
        if (!parsed.certain()) {
            String why = "cannot be checked with certainty: " + parsed.uncertain().get(0);
            if (e.mode() == Mode.FULL && !e.deny().isEmpty()) {
                return Decision.refuse(e.deny().get(0).where(), why + " (deny rules apply here)");
            }
            return byMode(e, true, why);
        }
        Decision d = Decision.ALLOW;
        for (ShellCommands.Simple c : parsed.commands()) {
            if (!allowedByRule(e, c) && !readOnly(c)) {
                d = d.and(byMode(e, false, "`" + c.text() + "`" + (c.words().isEmpty() ? " (a redirection)" : "") + " is not read-only"));
            }
        }
        return d;
    }

    /** A change under E's mode: allowed in full, a question in confirm, refused in read-only (and, when UNSURE, in full with rules). */
    private static Decision byMode(Entry e, boolean unsure, String why) {
        return switch (e.mode()) {
            case FULL -> Decision.ALLOW;
            case CONFIRM -> Decision.confirm(e.modeWhere(), why);
            case READ_ONLY -> Decision.refuse(e.modeWhere(), why + " (mode read-only)");
        };
    }

    private static boolean allowedByRule(Entry e, ShellCommands.Simple c) {
        for (ShellCommands.Simple level = c; level != null; level = level.inner()) {
            String text = level.text();
            if (!text.isEmpty() && e.allow().stream().anyMatch(a -> a.matches(text))) {
                return level.redirects().stream().noneMatch(ShellCommands.Redirect::writes) || level == c;
            }
        }
        return false;
    }

    /** Only documented read-only programs, no writing redirection, only harmless assignments, down the prefix chain. */
    static boolean readOnly(ShellCommands.Simple c) {
        if (c.redirects().stream().anyMatch(ShellCommands.Redirect::writes)) {
            return false;
        }
        if (!c.assignments().stream().allMatch(a -> SAFE_ASSIGNMENT.matcher(a).matches())) {
            return false;
        }
        if (c.words().isEmpty()) {
            return true;
        }
        String program = ShellCommands.programName(c.program());
        if (!ReadOnlyPrograms.allows(program, c.words().subList(1, c.words().size()))) {
            return false;
        }
        if (ShellCommands.PREFIXES.containsKey(program)) {
            return c.inner() == null || readOnly(c.inner());
        }
        return true;
    }

    static Pattern glob(String glob) {
        StringBuilder re = new StringBuilder();
        for (int k = 0; k < glob.length(); k++) {
            char ch = glob.charAt(k);
            switch (ch) {
                case '*' -> re.append(".*");
                case '?' -> re.append('.');
                case '\\' -> {
                    if (k + 1 < glob.length()) {
                        re.append(Pattern.quote(String.valueOf(glob.charAt(++k))));
                    }
                }
                case '[' -> {
                    int end = glob.indexOf(']', k + 2);
                    if (end < 0) {
                        re.append("\\[");
                    } else {
                        String set = glob.substring(k + 1, end).replace("\\", "\\\\");
                        re.append('[').append(set.startsWith("!") ? "^" + set.substring(1) : set).append(']');
                        k = end;
                    }
                }
                default -> re.append(Pattern.quote(String.valueOf(ch)));
            }
        }
        return Pattern.compile(re.toString(), Pattern.DOTALL);
    }

    static VpsException error(Path file, int line, String what) {
        return VpsException.config(file + ":" + line + ": " + what,
                "fix the policy file (its owner decides what may run); nothing runs until it parses");
    }

    private static int line(Node node) {
        return node.getStartMark().map(m -> m.getLine() + 1).orElse(1);
    }

    /** Reads the nodes of one file, every rule with its FILE:LINE. */
    private record Reader(Path file) {
        Entry full(int line) {
            return new Entry(List.of(), Mode.FULL, null, List.of(), List.of(), file + ":" + line);
        }

        Map<String, NodeTuple> mapping(Node node, Set<String> keys, String what) {
            if (!(node instanceof MappingNode m)) {
                throw error(file, line(node), what + " must be a mapping of " + String.join(", ", new java.util.TreeSet<>(keys)));
            }
            Map<String, NodeTuple> out = new LinkedHashMap<>();
            for (NodeTuple t : m.getValue()) {
                String key = scalar(t.getKeyNode(), "a key");
                if (!keys.contains(key)) {
                    throw error(file, line(t.getKeyNode()), "unknown key " + key + " in " + what + " (known: "
                            + String.join(", ", new java.util.TreeSet<>(keys)) + ")");
                }
                if (out.put(key, t) != null) {
                    throw error(file, line(t.getKeyNode()), key + " is given twice in " + what);
                }
            }
            return out;
        }

        Entry entry(Node node, boolean needsMatch) {
            String where = file + ":" + line(node);
            String what = needsMatch ? "a targets entry" : "default";
            Map<String, NodeTuple> m = mapping(node, needsMatch ? ENTRY_KEYS : Set.of("mode", "deny", "allow"), what);
            if (needsMatch && !m.containsKey("match")) {
                throw error(file, line(node), "a targets entry needs match: (a glob such as prod-*)");
            }
            List<Rule> match = m.containsKey("match") ? rules(m.get("match").getValueNode(), "match") : List.of();
            Mode mode = Mode.FULL;
            String modeWhere = where;
            if (m.containsKey("mode")) {
                Node v = m.get("mode").getValueNode();
                String word = scalar(v, "mode");
                modeWhere = file + ":" + line(m.get("mode").getKeyNode());
                mode = switch (word) {
                    case "full" -> Mode.FULL;
                    case "confirm" -> Mode.CONFIRM;
                    case "read-only" -> Mode.READ_ONLY;
                    default -> throw error(file, line(v), "mode must be full, confirm or read-only, not " + word);
                };
            }
            List<Rule> deny = m.containsKey("deny") ? rules(m.get("deny").getValueNode(), "deny") : List.of();
            List<Rule> allow = m.containsKey("allow") ? rules(m.get("allow").getValueNode(), "allow") : List.of();
            return new Entry(match, mode, modeWhere, deny, allow, where);
        }

        List<Rule> rules(Node node, String what) {
            List<Node> items = node instanceof SequenceNode s ? s.getValue() : List.of(node);
            List<Rule> out = new ArrayList<>();
            for (Node n : items) {
                String glob = scalar(n, what);
                if (glob.isBlank()) {
                    throw error(file, line(n), what + " has an empty pattern");
                }
                out.add(new Rule(glob, glob(glob), file + ":" + line(n)));
            }
            return List.copyOf(out);
        }

        String scalar(Node node, String what) {
            if (!(node instanceof ScalarNode s)) {
                throw error(file, line(node), what + " must be a single value (a string)");
            }
            return s.getValue();
        }
    }
}
