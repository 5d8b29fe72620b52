import java.util.ArrayList;
import java.util.List;

/**
 * How a fleet run goes: at most FORKS hosts at once; with SERIAL ("N" or "P%" of the set, at least
 * one) the hosts go in batches, and after a batch whose failed and unreachable share exceeds
 * MAX_FAIL_PERCENT every later host is skipped (Ansible's serial and max_fail_percentage).
 */
record FleetPlan(int forks, String serial, int maxFailPercent) {
    static final int DEFAULT_FORKS = 10;
    static final int MAX_FORKS = 500;

    FleetPlan {
        if (forks < 1 || forks > MAX_FORKS) {
            throw VpsException.config("--forks " + forks + " is out of range", "give --forks from 1 to " + MAX_FORKS + " (default " + DEFAULT_FORKS + ")");
        }
        if (serial != null) {
            batchSize(serial, 1);   // checks the syntax
        }
        if (maxFailPercent < 0 || maxFailPercent > 100) {
            throw VpsException.config("--max-fail " + maxFailPercent + "% is out of range", "give --max-fail from 0% to 100%");
        }
    }

    static FleetPlan defaults() {
        return new FleetPlan(DEFAULT_FORKS, null, 0);
    }

    /** The hosts in the batches they run in: one batch without --serial. */
    List<List<FleetHost>> batches(List<FleetHost> hosts) {
        if (serial == null || hosts.isEmpty()) {
            return List.of(hosts);
        }
        int size = batchSize(serial, hosts.size());
        List<List<FleetHost>> batches = new ArrayList<>();
        for (int from = 0; from < hosts.size(); from += size) {
            batches.add(hosts.subList(from, Math.min(hosts.size(), from + size)));
        }
        return batches;
    }

    /** True when a batch with FAILURES failed or unreachable hosts out of SIZE stops the run. */
    boolean stopsAfter(int failures, int size) {
        return size > 0 && failures * 100L > (long) maxFailPercent * size;
    }

    /** "P%" or "N" as a percentage: "25%" is 25; CONFIG otherwise. */
    static int percent(String option, String text) {
        String digits = text.endsWith("%") ? text.substring(0, text.length() - 1) : text;
        try {
            int p = Integer.parseInt(digits.strip());
            if (p >= 0 && p <= 100) {
                return p;
            }
        } catch (NumberFormatException notANumber) {
            // said below
        }
        throw VpsException.config(option + " " + text + " is not a percentage", "give " + option + " as P% with P from 0 to 100, e.g. " + option + " 25%");
    }

    private static int batchSize(String serial, int hosts) {
        String text = serial.strip();
        try {
            if (text.endsWith("%")) {
                int p = Integer.parseInt(text.substring(0, text.length() - 1));
                if (p >= 1 && p <= 100) {
                    return Math.max(1, (int) ((long) hosts * p / 100));
                }
            } else {
                int n = Integer.parseInt(text);
                if (n >= 1) {
                    return n;
                }
            }
        } catch (NumberFormatException notANumber) {
            // said below
        }
        throw VpsException.config("--serial " + serial + " is neither a count nor a percentage",
                "give --serial N (hosts per batch, at least 1) or P% of the set, e.g. --serial 2 or --serial 25%");
    }
}
