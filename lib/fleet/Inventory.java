import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Placeholder (replaced by fleet-inventory at merge): an Ansible INI inventory with groups,
 * [group:children] and host vars ansible_host/_port/_user/_ssh_private_key_file; patterns are
 * names, groups, `all` and `a:b` unions. Anything else is CONFIG naming file and line.
 */
final class Inventory {
    private final Path file;
    private final Map<String, FleetHost> hosts = new LinkedHashMap<>();
    private final Map<String, Set<String>> groups = new LinkedHashMap<>();
    private final Map<String, Set<String>> children = new LinkedHashMap<>();

    private Inventory(Path file) {
        this.file = file;
    }

    static Inventory load(Path file) {
        Inventory inventory = new Inventory(file);
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw VpsException.config("cannot read inventory " + file + ": " + VpsException.reason(e), "check the path given with --inventory or VPS_INVENTORY");
        }
        String group = "ungrouped";
        boolean childSection = false;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
                continue;
            }
            if (line.matches("\\[[A-Za-z0-9_.-]+(:children)?\\]")) {
                String name = line.substring(1, line.length() - 1);
                childSection = name.endsWith(":children");
                group = childSection ? name.substring(0, name.length() - ":children".length()) : name;
                inventory.groups.computeIfAbsent(group, g -> new LinkedHashSet<>());
                continue;
            }
            if (line.startsWith("[")) {
                throw inventory.unsupported(i, "section " + line + " is not supported here");
            }
            String[] words = line.split("\\s+");
            if (childSection) {
                inventory.children.computeIfAbsent(group, g -> new LinkedHashSet<>()).add(words[0]);
                continue;
            }
            inventory.hosts.putIfAbsent(words[0], inventory.host(i, words));
            inventory.groups.computeIfAbsent(group, g -> new LinkedHashSet<>()).add(words[0]);
        }
        return inventory;
    }

    private FleetHost host(int index, String[] words) {
        Map<String, String> vars = new LinkedHashMap<>();
        for (int w = 1; w < words.length; w++) {
            int eq = words[w].indexOf('=');
            if (eq <= 0) {
                throw unsupported(index, "'" + words[w] + "' is not a host variable (NAME=VALUE)");
            }
            vars.put(words[w].substring(0, eq), words[w].substring(eq + 1));
        }
        String port = vars.get("ansible_port");
        String key = vars.get("ansible_ssh_private_key_file");
        return new FleetHost(words[0], vars.getOrDefault("ansible_host", words[0]), port == null ? null : Integer.valueOf(port),
                vars.get("ansible_user"), key == null ? null : Path.of(key));
    }

    private VpsException unsupported(int index, String what) {
        return VpsException.config(file + ":" + (index + 1) + ": " + what, "write the inventory in Ansible's INI form");
    }

    /** The hosts PATTERN names (names, groups, `all`, `a:b`), in inventory order; CONFIG when none. */
    List<FleetHost> select(String pattern) {
        Set<String> names = new LinkedHashSet<>();
        for (String part : pattern.split("[:,]")) {
            names.addAll(namesOf(part.strip(), new LinkedHashSet<>()));
        }
        List<FleetHost> selected = new ArrayList<>();
        hosts.forEach((name, h) -> {
            if (names.contains(name)) {
                selected.add(h);
            }
        });
        if (selected.isEmpty()) {
            throw VpsException.config("no host of " + file + " matches " + pattern, "see the names with --list-hosts");
        }
        return selected;
    }

    private Set<String> namesOf(String part, Set<String> seen) {
        if (part.equals("all") || part.equals("*")) {
            return hosts.keySet();
        }
        Set<String> names = new LinkedHashSet<>();
        if (hosts.containsKey(part)) {
            names.add(part);
        }
        if (seen.add(part)) {
            names.addAll(groups.getOrDefault(part, Set.of()));
            for (String child : children.getOrDefault(part, Set.of())) {
                names.addAll(namesOf(child, seen));
            }
        }
        return names;
    }

    Optional<FleetHost> host(String name) {
        return Optional.ofNullable(hosts.get(name));
    }

    Path file() {
        return file;
    }
}
