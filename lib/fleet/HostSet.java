import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Which hosts a call names (SPEC19): a comma in -H makes a list (an entry that is a host of the
 * inventory takes its variables); --limit PATTERN selects from the inventory; --inventory given
 * without -H means all of it. A single -H NAME stays the single-host path, with NAME looked up in
 * the inventory first when one is configured.
 */
final class HostSet {
    private HostSet() {}

    /** True when the call runs on a host set rather than the one host of today's path. */
    static boolean fleetMode(TargetOptions target, FleetOptions fleet) {
        return isList(target.host) || fleet.limit != null || (fleet.inventory != null && target.host == null) || fleet.listHosts;
    }

    static boolean isList(String hostOption) {
        return hostOption != null && hostOption.contains(",");
    }

    /**
     * The hosts, in the order given (-H) or the inventory's (--limit, all), INVENTORY being the call's
     * ({@link #inventory}, or null); CONFIG for a bad combination or an empty set.
     */
    static List<FleetHost> resolve(TargetOptions target, FleetOptions fleet, Inventory inventory) {
        if (target.host != null) {
            if (fleet.limit != null) {
                throw VpsException.config("-H " + target.host + " and --limit " + fleet.limit + " both name hosts",
                        "give either -H with the hosts, or --inventory FILE (or VPS_INVENTORY) with --limit PATTERN");
            }
            return fromList(target.host, inventory);
        }
        if (inventory == null) {
            throw VpsException.config(fleet.limit != null ? "--limit needs an inventory" : "no hosts given",
                    "give --inventory FILE (or set VPS_INVENTORY), or name the hosts with -H web1,web2");
        }
        return inventory.select(fleet.limit != null ? fleet.limit : "all");
    }

    /** The inventory host a single -H NAME names, when INVENTORY (the call's, or null) holds it. */
    static Optional<FleetHost> single(TargetOptions target, Inventory inventory) {
        return target.host == null || inventory == null ? Optional.empty() : inventory.host(target.host);
    }

    private static List<FleetHost> fromList(String list, Inventory inventory) {
        List<FleetHost> hosts = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (String entry : list.split(",", -1)) {
            String name = entry.strip();
            FleetHost host = inventory != null && !name.isEmpty() ? inventory.host(name).orElseGet(() -> FleetHost.of(name)) : FleetHost.of(name);
            if (!names.add(host.name())) {
                throw VpsException.config("host " + host.name() + " is named twice in -H", "name each host once");
            }
            hosts.add(host);
        }
        return hosts;
    }

    /**
     * The call's inventory: FLEET's --inventory (FLEET is null for a script without fleet options), else
     * VPS_INVENTORY (the environment, --env-file or ./.env, as VPS_HOST is read), else null.
     */
    static Inventory inventory(TargetOptions target, FleetOptions fleet, PrintStream warnings) {
        Path file = fleet == null ? null : fleet.inventory;
        if (file == null) {
            String setting = new TargetResolver(target, warnings).setting("VPS_INVENTORY");
            file = setting == null || setting.isBlank() ? null : Path.of(setting);
        }
        return file == null ? null : Inventory.load(Environment.resolve(file));
    }
}
