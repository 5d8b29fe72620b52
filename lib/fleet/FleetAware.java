import java.util.List;

/**
 * What a script implements to adjust itself in fleet mode; every method has a default that does
 * nothing. The command object picocli ran (a subcommand, e.g. job start) or one of its parents is
 * asked. sftp-get puts each host's files under DEST/NAME; job start settles one id for every host.
 */
interface FleetAware {
    /**
     * Once, on the command parsed from the caller's argv, before any host runs: refuse what cannot
     * fan out (throw VpsException.config), or settle what every host shares (one job id).
     */
    default void beforeFleet(List<FleetHost> hosts) {}

    /** True when this run reads local stdin: the fleet reads it once (at most 16 MiB) and gives each host a copy. */
    default boolean readsStdin() {
        return false;
    }

    /** On HOST's own fresh command (its target already pinned), before it runs; FIRST is the command beforeFleet ran on. */
    default void forHost(FleetHost host, Object first) {}
}
