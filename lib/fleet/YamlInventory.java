import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.nodes.Tag;

/**
 * Reads Ansible's YAML inventory (plugins/inventory/yaml.py) into an {@link InventoryModel}:
 * top-level groups (usually just `all`), each a mapping of `hosts`, `children` and `vars`, nested
 * to any depth; a group named in several places is one group. The document is composed into
 * snakeyaml-engine nodes rather than plain objects because nodes keep their line: where Ansible
 * warns and skips, we stop with FILE:LINE.
 */
final class YamlInventory {
    private static final String TAGS = "hosts, children and vars";
    private final InventoryModel model;

    private YamlInventory(InventoryModel model) {
        this.model = model;
    }

    static void read(String text, InventoryModel model) {
        Node root = YamlDocument.compose(text, model.file(), (line, what) -> model.error(line, what, null));
        new YamlInventory(model).document(root);
    }

    private void document(Node root) {
        if (root == null || isNull(root)) {
            throw model.error(1, "the inventory is empty", "start it with all: and its hosts: or children:");
        }
        Map<String, NodeTuple> groups = entries(root, "the inventory");
        if (groups.containsKey("plugin")) {
            throw model.error(line(groups.get("plugin").getKeyNode()), "dynamic inventory plugins (plugin:) are not supported",
                    "list the hosts in a static inventory, e.g. the output of ansible-inventory -i SOURCE --list --yaml");
        }
        groups.forEach((name, entry) -> group(name, entry, null));
    }

    private void group(String name, NodeTuple entry, String parent) {
        model.group(name);
        if (parent != null) {
            model.addChild(parent, name, line(entry.getKeyNode()));
        }
        if (isNull(entry.getValueNode())) {
            return;
        }
        for (Map.Entry<String, NodeTuple> e : entries(entry, "group " + name).entrySet()) {
            NodeTuple section = e.getValue();
            switch (e.getKey()) {
                case "hosts" -> names(section, "hosts of group " + name).forEach((host, vars) -> host(name, host, vars));
                case "children" -> names(section, "children of group " + name).forEach((child, c) -> group(child, c, name));
                case "vars" -> vars(section, "vars of group " + name).forEach((k, v) -> model.setGroupVar(name, k, v));
                default -> throw model.error(line(section.getKeyNode()), "unknown key '" + e.getKey() + "' in group " + name,
                        "a group holds only " + TAGS + " (a group inside a group goes under children:)");
            }
        }
    }

    private void host(String group, String entry, NodeTuple tuple) {
        Map<String, InventoryModel.Setting> vars = isNull(tuple.getValueNode()) ? Map.of() : vars(tuple, "the variables of host " + entry);
        HostAddress.Parsed address = HostAddress.parse(entry, true);
        String name = address == null ? entry : address.host();
        if (address != null && address.port() != null) {
            vars = new LinkedHashMap<>(vars);
            vars.putIfAbsent("ansible_port", new InventoryModel.Setting(address.port().toString(), line(tuple.getKeyNode())));
        }
        try {
            for (String host : HostAddress.expand(name)) {
                model.addHost(group, host, vars);
            }
        } catch (IllegalArgumentException e) {
            throw model.error(line(tuple.getKeyNode()), e.getMessage(), "ranges are [01:10], [a:f] or [1:10:2]");
        }
    }

    /** A `hosts:` or `children:` section: a mapping of names, or one name (as Ansible takes it); null is none. */
    private Map<String, NodeTuple> names(NodeTuple section, String what) {
        Node value = section.getValueNode();
        if (isNull(value)) {
            return Map.of();
        }
        if (value instanceof ScalarNode s) {
            return Map.of(s.getValue(), new NodeTuple(s, new ScalarNode(Tag.NULL, "", s.getScalarStyle())));
        }
        return entries(section, what);
    }

    /** A mapping of variables: a scalar keeps its text, a list or map is kept as a setting without a value. */
    private Map<String, InventoryModel.Setting> vars(NodeTuple section, String what) {
        if (isNull(section.getValueNode())) {
            return Map.of();
        }
        Map<String, InventoryModel.Setting> vars = new LinkedHashMap<>();
        entries(section, what).forEach((key, tuple) -> {
            Node value = tuple.getValueNode();
            refuseCustomTags(value, Collections.newSetFromMap(new IdentityHashMap<>()));
            String text = value instanceof ScalarNode s && !isNull(s) ? s.getValue() : null;
            vars.put(key, new InventoryModel.Setting(text, line(value)));
        });
        return vars;
    }

    /** The entries of the mapping SECTION's value, by key; anything else there is a CONFIG error at SECTION's key. */
    private Map<String, NodeTuple> entries(NodeTuple section, String what) {
        return entries(section.getValueNode(), line(section.getKeyNode()), what);
    }

    private Map<String, NodeTuple> entries(Node node, String what) {
        return entries(node, line(node), what);
    }

    private Map<String, NodeTuple> entries(Node node, int line, String what) {
        refuseCustomTag(node);
        if (!(node instanceof MappingNode mapping)) {
            String found = node instanceof SequenceNode ? "a list" : "a single value";
            throw model.error(line, what + " must be a mapping (name: value), not " + found,
                    "hosts and children are written `name:` on lines of their own; vars `key: value`");
        }
        Map<String, NodeTuple> entries = new LinkedHashMap<>();
        Set<String> seen = new HashSet<>();
        for (NodeTuple tuple : mapping.getValue()) {
            Node key = tuple.getKeyNode();
            refuseCustomTag(key);
            if (!(key instanceof ScalarNode k) || isNull(key)) {
                throw model.error(line(key), "a key in " + what + " is not a name", null);
            }
            if (!seen.add(k.getValue())) {
                throw model.error(line(key), "duplicate key '" + k.getValue() + "' in " + what, "a key may appear once in a mapping");
            }
            entries.put(k.getValue(), tuple);
        }
        return entries;
    }

    /** `!vault` and other local tags mean a value we cannot read: a CONFIG error rather than a wrong value. */
    private void refuseCustomTag(Node node) {
        if (!node.getTag().getValue().startsWith(Tag.PREFIX)) {
            throw model.error(line(node), "the YAML tag " + node.getTag().getValue() + " is not supported",
                    "vault-encrypted or custom-tagged values cannot be read by the toolkit; remove them from the inventory it reads");
        }
    }

    private void refuseCustomTags(Node node, Set<Node> seen) {
        if (!seen.add(node)) {
            return;
        }
        refuseCustomTag(node);
        if (node instanceof SequenceNode s) {
            s.getValue().forEach(n -> refuseCustomTags(n, seen));
        } else if (node instanceof MappingNode m) {
            m.getValue().forEach(t -> {
                refuseCustomTags(t.getKeyNode(), seen);
                refuseCustomTags(t.getValueNode(), seen);
            });
        }
    }

    private static boolean isNull(Node node) {
        return node.getTag().equals(Tag.NULL);
    }

    private static int line(Node node) {
        return node.getStartMark().map(m -> m.getLine() + 1).orElse(0);
    }
}
