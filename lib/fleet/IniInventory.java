import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads Ansible's INI inventory into an {@link InventoryModel}, following ansible's
 * plugins/inventory/ini.py line by line. Hand-written because no Java library reads this dialect:
 * it is not INI (host lines are shell words, `[g:children]` and `[g:vars]` sections, ranges in
 * host names, values as Python literals), and a generic INI reader would drop or mangle those lines
 * where we must name the line that we cannot read.
 */
final class IniInventory {
    private static final Pattern SECTION = Pattern.compile("\\[([^:\\]\\s]+)(?::(\\w+))?\\]\\s*(?:#.*)?");
    private static final Pattern GROUP_NAME = Pattern.compile("([^:\\]\\s]+)\\s*(?:#.*)?");

    private record Pending(int line, String parent, String child) {}

    private final InventoryModel model;
    private final Set<String> declared = new HashSet<>(Set.of("all", "ungrouped"));
    private final List<Pending> children = new ArrayList<>();
    private final Map<String, Integer> varsSections = new LinkedHashMap<>();
    private int lineNo;

    private IniInventory(InventoryModel model) {
        this.model = model;
    }

    static void read(String text, InventoryModel model) {
        new IniInventory(model).readLines(text.split("\\R", -1));
    }

    private void readLines(String[] lines) {
        String group = "ungrouped";
        String state = "hosts";
        for (String raw : lines) {
            lineNo++;
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
                continue;
            }
            Matcher section = SECTION.matcher(line);
            if (section.matches()) {
                group = section.group(1);
                state = section.group(2) == null ? "hosts" : section.group(2);
                startSection(line, group, state);
            } else if (line.startsWith("[") && line.endsWith("]")) {
                throw model.error(lineNo, "not a section header: " + line, "write [group], [group:children] or [group:vars], without spaces");
            } else if (state.equals("hosts")) {
                hostLine(group, line);
            } else if (state.equals("vars")) {
                varLine(group, line);
            } else {
                childLine(group, line);
            }
        }
        finishSections();
    }

    private void startSection(String line, String group, String state) {
        if (!List.of("hosts", "children", "vars").contains(state)) {
            throw model.error(lineNo, "section " + line + " has the unknown type '" + state + "'",
                    "a section is [group], [group:children] or [group:vars]");
        }
        model.group(group);
        if (state.equals("vars")) {
            varsSections.putIfAbsent(group, lineNo);
        } else {
            declared.add(group);
        }
    }

    /** `NAME [key=value ...]`, NAME a host, an address or a range, with an optional :PORT. */
    private void hostLine(String group, String line) {
        List<String> words = words(line);
        if (words.isEmpty()) {
            return;
        }
        String entry = words.get(0);
        HostAddress.Parsed address = HostAddress.parse(entry, true);
        if (address == null) {
            throw model.error(lineNo, "not a host line: " + line,
                    "a host line is a host name or address (ranges like web[01:03] allowed), then key=value variables");
        }
        Map<String, InventoryModel.Setting> vars = new LinkedHashMap<>();
        if (address.port() != null) {
            vars.put("ansible_port", new InventoryModel.Setting(address.port().toString(), lineNo));
        }
        for (String word : words.subList(1, words.size())) {
            int eq = word.indexOf('=');
            if (eq <= 0) {
                throw model.error(lineNo, "expected key=value after the host name, got '" + word + "'",
                        "host variables are written key=value, quoted when the value has spaces: key=\"a b\"");
            }
            vars.put(word.substring(0, eq), new InventoryModel.Setting(literal(word.substring(eq + 1)), lineNo));
        }
        for (String host : expand(address.host())) {
            model.addHost(group, host, vars);
        }
    }

    private void varLine(String group, String line) {
        int eq = line.indexOf('=');
        if (eq <= 0 || line.substring(0, eq).isBlank()) {
            throw model.error(lineNo, "expected key=value in [" + group + ":vars], got: " + line, null);
        }
        model.setGroupVar(group, line.substring(0, eq).strip(),
                new InventoryModel.Setting(literal(line.substring(eq + 1).strip()), lineNo));
    }

    private void childLine(String group, String line) {
        Matcher m = GROUP_NAME.matcher(line);
        if (!m.matches()) {
            throw model.error(lineNo, "expected a group name in [" + group + ":children], got: " + line, null);
        }
        children.add(new Pending(lineNo, group, m.group(1)));
    }

    /** As Ansible: a child group and a [g:vars] group must be declared somewhere by [g] or [g:children]. */
    private void finishSections() {
        for (Pending p : children) {
            if (!declared.contains(p.child)) {
                throw model.error(p.line, "[" + p.parent + ":children] names the group " + p.child + ", which is never defined",
                        "add a [" + p.child + "] section (it may be empty)");
            }
            model.addChild(p.parent, p.child, p.line);
        }
        varsSections.forEach((group, line) -> {
            if (!declared.contains(group)) {
                throw model.error(line, "[" + group + ":vars] is for the group " + group + ", which is never defined",
                        "add a [" + group + "] section (it may be empty)");
            }
        });
    }

    private List<String> expand(String host) {
        try {
            return HostAddress.expand(host);
        } catch (IllegalArgumentException e) {
            throw model.error(lineNo, e.getMessage(), "ranges are [01:10], [a:f] or [1:10:2]");
        }
    }

    /**
     * The line split as Python's shlex.split(line, comments=True) does, which Ansible uses: words
     * apart at blanks, '…' literal, "…" with \" and \\, a backslash quoting the next character
     * outside quotes, and # starting a comment outside quotes.
     */
    private List<String> words(String line) {
        List<String> words = new ArrayList<>();
        StringBuilder word = null;
        char quote = 0;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quote == 0 && Character.isWhitespace(c)) {
                if (word != null) {
                    words.add(word.toString());
                    word = null;
                }
                continue;
            }
            if (quote == 0 && c == '#') {
                break;
            }
            word = word == null ? new StringBuilder() : word;
            if (quote == 0 && (c == '\'' || c == '"')) {
                quote = c;
            } else if (c == quote) {
                quote = 0;
            } else if (c == '\\' && quote != '\'' && i + 1 < line.length()
                    && (quote == 0 || line.charAt(i + 1) == '"' || line.charAt(i + 1) == '\\')) {
                word.append(line.charAt(++i));
            } else {
                word.append(c);
            }
        }
        if (quote != 0) {
            throw model.error(lineNo, "a quote (" + quote + ") is not closed", null);
        }
        if (word != null) {
            words.add(word.toString());
        }
        return words;
    }

    /** A value as Ansible's ast.literal_eval leaves it for us: a quoted Python string loses its quotes. */
    private static String literal(String value) {
        if (value.length() >= 2 && (value.startsWith("'") || value.startsWith("\"")) && value.endsWith(value.substring(0, 1))) {
            String inner = value.substring(1, value.length() - 1);
            return inner.replaceAll("\\\\(.)", "$1");
        }
        return value;
    }
}
