import java.nio.file.Path;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The host-set options of the scripts that run on many hosts (issue 19). A comma in -H, --limit,
 * --inventory without -H, or --list-hosts turns fleet mode on (see {@link HostSet}); -H stays
 * TargetOptions' option. Inherited like TargetOptions, so a command with subcommands mixes them in once.
 */
final class FleetOptions {
    @Option(scope = ScopeType.INHERIT, names = "--inventory", paramLabel = "FILE",
            description = "Ansible inventory (INI or YAML) to pick hosts from (env VPS_INVENTORY). Alone, without -H: every host of it.")
    Path inventory;

    @Option(scope = ScopeType.INHERIT, names = "--limit", paramLabel = "PATTERN",
            description = "Hosts of the inventory, in Ansible's pattern language: names, globs, groups, a:b, a:&b, a:!b.")
    String limit;

    @Option(scope = ScopeType.INHERIT, names = "--list-hosts", description = "Print the hosts the options select (names; with --json their addresses) and run nothing.")
    boolean listHosts;

    @Option(scope = ScopeType.INHERIT, names = "--forks", paramLabel = "N", defaultValue = "" + FleetPlan.DEFAULT_FORKS,
            description = "With several hosts: at most N at once (default 10, 1..500).")
    int forks;

    @Option(scope = ScopeType.INHERIT, names = "--serial", paramLabel = "N|P%",
            description = "With several hosts: go in batches of N hosts (or P% of them); stop after a batch with a failure.")
    String serial;

    @Option(scope = ScopeType.INHERIT, names = "--max-fail", paramLabel = "P%", defaultValue = "0%",
            description = "With --serial: go on while a batch's failed and unreachable hosts are at most P% of it (default 0%).")
    String maxFail;

    @Option(scope = ScopeType.INHERIT, names = "--group",
            description = "With several hosts: print each distinct output once, under the hosts that produced it (like clush -b).")
    boolean group;

    FleetPlan plan() {
        return new FleetPlan(forks, serial, FleetPlan.percent("--max-fail", maxFail));
    }
}
