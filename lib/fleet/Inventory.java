import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * An Ansible inventory file, INI or YAML, read for the hosts it names and how to reach them.
 * A host's settings come from Ansible's variables, host vars over group vars, a child group's over
 * its parent's (see {@link InventoryModel#settingsOf}): ansible_host, ansible_port, ansible_user
 * and ansible_ssh_private_key_file (also ansible_ssh_host, ansible_ssh_port, ansible_ssh_user and
 * ansible_private_key_file). A key file's leading ~ is the home folder, and a relative key file
 * path is taken from the inventory file's folder (not the working folder), so the inventory means
 * the same wherever it is used from. Other variables are ignored, except ansible_connection: a
 * connection other than ssh (local, docker, winrm...) is a CONFIG error when such a host is
 * selected, since the toolkit only speaks SSH. Anything in the file the toolkit does not read
 * (dynamic inventory plugins, vault tags, unknown sections or keys) is a CONFIG error naming
 * FILE:LINE, never skipped. JSON inventories (ansible-inventory --list) are not read.
 */
final class Inventory {
    private static final Pattern YAML_START = Pattern.compile("---.*|%YAML.*|[^\\s\\[#;:][^\\s:]*:(\\s.*)?");
    private static final List<String> SSH_CONNECTIONS = List.of("ssh", "smart", "paramiko", "paramiko_ssh");

    private final Path file;
    private final Path folder;
    private final InventoryModel model;

    private Inventory(Path file, Path folder, InventoryModel model) {
        this.file = file;
        this.folder = folder;
        this.model = model;
    }

    /** Reads FILE (relative: from the caller's working folder); a CONFIG error names FILE:LINE for anything unsupported. */
    static Inventory load(Path file) {
        Path path = Environment.resolve(file).toAbsolutePath();
        String text = read(file, path);
        InventoryModel model = new InventoryModel(file.toString());
        switch (format(file, text)) {
            case "yaml" -> YamlInventory.read(text, model);
            case "ini" -> IniInventory.read(text, model);
            default -> throw VpsException.config(file + ": JSON inventories (ansible-inventory --list) are not supported",
                    "write it as YAML: ansible-inventory -i SOURCE --list --yaml, or use an INI or YAML inventory");
        }
        model.finish();
        return new Inventory(file, path.getParent(), model);
    }

    Path file() {
        return file;
    }

    /** The hosts PATTERN (Ansible's pattern language, see {@link HostPattern}) selects, in inventory order. */
    List<FleetHost> select(String pattern) {
        return HostPattern.select(model, pattern).stream().map(this::fleetHost).toList();
    }

    /** The inventory host named NAME exactly, with its settings. */
    Optional<FleetHost> host(String name) {
        return model.hasHost(name) ? Optional.of(fleetHost(name)) : Optional.empty();
    }

    /** NAME and every group the host NAME is in, directly or through children, `all` included; none when it is not listed. */
    List<String> namesOf(String name) {
        if (!model.hasHost(name)) {
            return List.of();
        }
        List<String> names = new java.util.ArrayList<>(List.of(name));
        names.addAll(model.groupsOf(name));
        return names;
    }

    private static String read(Path file, Path path) {
        try {
            byte[] bytes = Files.readAllBytes(path);
            String text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
            return text.startsWith("\uFEFF") ? text.substring(1) : text;   // a byte order mark, as some editors on Windows write
        } catch (CharacterCodingException e) {
            throw VpsException.config("the inventory " + file + " is not UTF-8 text", null);
        } catch (IOException e) {
            throw VpsException.config("cannot read the inventory " + file + ": " + VpsException.reason(e),
                    "give --inventory an Ansible inventory file (INI or YAML), or set VPS_INVENTORY");
        }
    }

    /**
     * "yaml", "ini" or "json": by extension as Ansible's plugins (.yml/.yaml, .json), else by the first
     * line that is not blank or a comment: `{` is JSON, `---`, `%YAML` or `key:` is YAML, anything else
     * (a [section] or a host line) INI.
     */
    static String format(Path file, String text) {
        String name = file.getFileName() == null ? "" : file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".yml") || name.endsWith(".yaml")) {
            return "yaml";
        }
        if (name.endsWith(".json")) {
            return "json";
        }
        String first = text.lines().map(String::strip)
                .filter(l -> !l.isEmpty() && !l.startsWith("#") && !l.startsWith(";")).findFirst().orElse("");
        if (first.startsWith("{")) {
            return "json";
        }
        return YAML_START.matcher(first).matches() ? "yaml" : "ini";
    }

    private FleetHost fleetHost(String name) {
        Map<String, InventoryModel.Setting> settings = model.settingsOf(name);
        checkConnection(name, settings.get("ansible_connection"));
        String host = text(settings, "ansible_host");
        String user = text(settings, "ansible_user");
        String key = text(settings, "ansible_ssh_private_key_file");
        return new FleetHost(name, host, port(settings.get("ansible_port")), user, key == null ? null : keyPath(key));
    }

    private void checkConnection(String host, InventoryModel.Setting connection) {
        String value = connection == null ? null : checked("ansible_connection", connection);
        if (value != null && !SSH_CONNECTIONS.contains(value.strip().replaceFirst("^ansible\\.builtin\\.", ""))) {
            throw model.error(connection.line(), "host " + host + " has ansible_connection=" + value + ", and the toolkit only speaks SSH",
                    "leave the host out of the pattern (e.g. all:!" + host + ") or set ansible_connection=ssh");
        }
    }

    private Integer port(InventoryModel.Setting port) {
        String value = port == null ? null : checked("ansible_port", port);
        if (value == null) {
            return null;
        }
        try {
            int number = Integer.parseInt(value.strip());
            if (number >= 1 && number <= 65535) {
                return number;
            }
        } catch (NumberFormatException e) {
            // a CONFIG error below
        }
        throw model.error(port.line(), "ansible_port is '" + value + "', not a port number (1-65535)", null);
    }

    private String text(Map<String, InventoryModel.Setting> settings, String key) {
        InventoryModel.Setting s = settings.get(key);
        return s == null ? null : checked(key, s);
    }

    /** A setting the toolkit uses must be plain text: a list, a map or a Jinja template is a CONFIG error at its line. */
    private String checked(String key, InventoryModel.Setting s) {
        if (s.value() == null) {
            throw model.error(s.line(), key + " must be a single value, not a list or a mapping", null);
        }
        if (s.value().contains("{{") || s.value().contains("{%")) {
            throw model.error(s.line(), key + " is a Jinja template, which the toolkit does not evaluate", "write the value itself");
        }
        return s.value().isEmpty() ? null : s.value();
    }

    private Path keyPath(String key) {
        if (key.equals("~")) {
            return LocalFolders.home();
        }
        if (key.startsWith("~/")) {
            return LocalFolders.home().resolve(key.substring(2));
        }
        return folder.resolve(key);
    }
}
