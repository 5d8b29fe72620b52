import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What an Ansible inventory says, whichever format it came in: groups (with their hosts, children
 * and vars) and hosts (with their own vars), both in the order the file first names them. The INI
 * and YAML readers fill it; {@link #finish} then does what Ansible's reconcile_inventory does
 * (every top-level group is a child of `all`; `ungrouped` holds the hosts in no other group).
 */
final class InventoryModel {
    /** A variable as written: VALUE is null when it is not a scalar (a list or a map). */
    record Setting(String value, int line) {}

    static final class Group {
        final String name;
        final Set<String> hosts = new LinkedHashSet<>();
        final List<Group> children = new ArrayList<>();
        final List<Group> parents = new ArrayList<>();
        final Map<String, Setting> vars = new LinkedHashMap<>();

        Group(String name) {
            this.name = name;
        }
    }

    /** The names Ansible still accepts for the variables the toolkit reads, each to its current name. */
    private static final Map<String, String> OLD_NAMES = Map.of("ansible_ssh_host", "ansible_host",
            "ansible_ssh_port", "ansible_port", "ansible_ssh_user", "ansible_user",
            "ansible_private_key_file", "ansible_ssh_private_key_file");

    private final String file;
    private final Map<String, Group> groups = new LinkedHashMap<>();
    private final Map<String, Map<String, Setting>> hostVars = new LinkedHashMap<>();

    InventoryModel(String file) {
        this.file = file;
        group("all");
        group("ungrouped");
    }

    String file() {
        return file;
    }

    /** The CONFIG error for something wrong at LINE of the file. */
    VpsException error(int line, String what, String hint) {
        return VpsException.config(file + ":" + line + ": " + what, hint);
    }

    Group group(String name) {
        return groups.computeIfAbsent(name, Group::new);
    }

    boolean hasGroup(String name) {
        return groups.containsKey(name);
    }

    /** Adds HOST to GROUP with VARS (a later definition of the same variable wins, as in Ansible). */
    void addHost(String group, String host, Map<String, Setting> vars) {
        Map<String, Setting> own = hostVars.computeIfAbsent(host, h -> new LinkedHashMap<>());
        vars.forEach((key, setting) -> own.put(canonical(key), setting));
        group(group).hosts.add(host);
    }

    void setGroupVar(String group, String key, Setting setting) {
        group(group).vars.put(canonical(key), setting);
    }

    /** Makes CHILD a child of PARENT; a CONFIG error at LINE when that closes a cycle. */
    void addChild(String parent, String child, int line) {
        if (child.equals("all")) {
            throw error(line, "the group all is the parent of every group; it cannot be a child of " + parent, null);
        }
        Group p = group(parent);
        Group c = group(child);
        List<String> back = path(c, p, new HashSet<>());
        if (back != null) {
            throw error(line, "groups form a cycle: " + parent + " -> " + String.join(" -> ", back),
                    "a group cannot be its own child or descendant; remove one of these children entries");
        }
        if (!p.children.contains(c)) {
            p.children.add(c);
            c.parents.add(p);
        }
    }

    /** The group names from FROM down to TO through children, or null when TO is not FROM or below it. */
    private static List<String> path(Group from, Group to, Set<Group> visited) {
        if (from == to) {
            return new ArrayList<>(List.of(from.name));
        }
        if (!visited.add(from)) {
            return null;
        }
        for (Group child : from.children) {
            List<String> rest = path(child, to, visited);
            if (rest != null) {
                rest.add(0, from.name);
                return rest;
            }
        }
        return null;
    }

    /** Ansible's reconcile_inventory: top-level groups under `all`, `ungrouped` = hosts in no other group. */
    void finish() {
        Group all = group("all");
        for (Group g : groups.values()) {
            if (g != all && g.parents.isEmpty()) {
                addChild("all", g.name, 0);
            }
        }
        Group ungrouped = group("ungrouped");
        for (String host : hostVars.keySet()) {
            boolean inOther = groups.values().stream()
                    .anyMatch(g -> g != all && g != ungrouped && g.hosts.contains(host));
            if (inOther) {
                ungrouped.hosts.remove(host);
            } else {
                ungrouped.hosts.add(host);
            }
        }
    }

    /** Every host, in the order the file first names them. */
    List<String> hosts() {
        return List.copyOf(hostVars.keySet());
    }

    boolean hasHost(String name) {
        return hostVars.containsKey(name);
    }

    /** Every group, `all` and `ungrouped` first, then in the order the file first names them. */
    List<Group> groups() {
        return List.copyOf(groups.values());
    }

    /** The hosts of GROUP and of its descendants, level by level, as Ansible's Group.get_hosts. */
    static List<String> hostsOf(Group group) {
        Set<String> hosts = new LinkedHashSet<>();
        Set<Group> seen = new LinkedHashSet<>();
        Deque<Group> queue = new ArrayDeque<>(List.of(group));
        while (!queue.isEmpty()) {
            Group g = queue.removeFirst();
            if (seen.add(g)) {
                hosts.addAll(g.hosts);
                queue.addAll(g.children);
            }
        }
        return List.copyOf(hosts);
    }

    /**
     * HOST's settings with Ansible's precedence: the vars of every group it is in (directly or
     * through children), shallow groups first (`all`, then its children, then theirs), groups of one
     * depth by ansible_group_priority then name, each overriding the ones before; then the host's own.
     */
    Map<String, Setting> settingsOf(String host) {
        Set<Group> memberOf = new LinkedHashSet<>();
        for (Group g : groups.values()) {
            if (g.hosts.contains(host)) {
                addWithAncestors(g, memberOf);
            }
        }
        addWithAncestors(group("all"), memberOf);
        Map<Group, Integer> depth = new LinkedHashMap<>();
        memberOf.forEach(g -> depth(g, depth));
        List<Group> ordered = new ArrayList<>(memberOf);
        ordered.sort(Comparator.comparingInt((Group g) -> depth.get(g)).thenComparingInt(InventoryModel::priority)
                .thenComparing(g -> g.name));
        Map<String, Setting> settings = new LinkedHashMap<>();
        ordered.forEach(g -> settings.putAll(g.vars));
        settings.putAll(hostVars.getOrDefault(host, Map.of()));
        return settings;
    }

    /** The names of every group HOST is in, directly or through children (`all` included), in the file's order. */
    List<String> groupsOf(String host) {
        Set<Group> memberOf = new LinkedHashSet<>();
        for (Group g : groups.values()) {
            if (g.hosts.contains(host)) {
                addWithAncestors(g, memberOf);
            }
        }
        addWithAncestors(group("all"), memberOf);
        return groups.values().stream().filter(memberOf::contains).map(g -> g.name).toList();
    }

    private static void addWithAncestors(Group g, Set<Group> into) {
        if (into.add(g)) {
            g.parents.forEach(p -> addWithAncestors(p, into));
        }
    }

    /** The length of the longest path from `all` down to G (Ansible's Group.depth). */
    private static int depth(Group g, Map<Group, Integer> known) {
        Integer d = known.get(g);
        if (d == null) {
            d = g.parents.stream().mapToInt(p -> depth(p, known) + 1).max().orElse(0);
            known.put(g, d);
        }
        return d;
    }

    private static int priority(Group g) {
        Setting p = g.vars.get("ansible_group_priority");
        try {
            return p == null || p.value() == null ? 1 : Integer.parseInt(p.value().trim());
        } catch (NumberFormatException e) {
            return 1;
        }
    }

    private static String canonical(String key) {
        return OLD_NAMES.getOrDefault(key, key);
    }
}
