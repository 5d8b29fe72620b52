import java.io.InputStream;
import java.io.PrintStream;
import java.util.List;
import picocli.CommandLine.Option;

/** --yes: answers the owner's confirm rule for the person at this terminal (it counts only when stdin is one). */
final class PolicyOptions {
    @Option(names = "--yes", description = "Where the owner's policy asks to confirm a change: yes. Counts only when stdin is a terminal"
            + " (a person is there); without one the call is refused.")
    boolean yes;

    /**
     * The one check of a call, after the target is resolved and before connecting: ACTION on T;
     * INVENTORY_NAMES are the host's inventory name and groups (TargetOptions.inventoryNames), which a rule's `match` also sees.
     */
    Decision check(Target t, List<String> inventoryNames, PolicyAction action, InputStream in, PrintStream err) {
        return Guard.check(t, inventoryNames, action, Guard.terminal(in, err, yes));
    }
}
