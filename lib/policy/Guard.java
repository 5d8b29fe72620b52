import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The one check every remote action makes after its target is resolved and before it connects: the owner's
 * policy files (~/.config/vps-toolkit/policy.yaml and VPS_POLICY from the process environment; a call must
 * pass both) judge it; a confirm asks the CONFIRMER; a refusal throws POLICY and nothing reaches the server.
 */
final class Guard {
    /** Asks a person to approve one change. Returns true (yes), false (declined) or null (nobody can be asked). */
    interface Confirmer {
        Boolean confirm(String target, String what, String reason);

        Confirmer NOBODY = (target, what, reason) -> null;
    }

    private Guard() {}

    /** The policy files in force, read now (a changed file counts at the next call). */
    static List<Policy> policies() {
        List<Policy> all = new ArrayList<>();
        Path home = Path.of(System.getProperty("user.home"), ".config", "vps-toolkit", "policy.yaml");
        if (Files.exists(home)) {
            all.add(Policy.read(home));
        }
        String extra = Environment.get("VPS_POLICY");
        if (extra != null) {
            Path file = Environment.resolve(extra);
            if (!Files.exists(file)) {
                throw VpsException.config("VPS_POLICY names " + extra + ", which does not exist",
                        "fix VPS_POLICY; nothing runs while the policy it names cannot be read");
            }
            all.add(Policy.read(file));
        }
        return all;
    }

    /**
     * What the policies say about ACTION on T, without asking anyone. A rule's match sees T's alias and
     * host and INVENTORY_NAMES: the host's name in an inventory and every group it is in (empty when none).
     */
    static Decision decide(Target t, List<String> inventoryNames, PolicyAction action) {
        List<String> names = new ArrayList<>();
        names.add(t.alias());
        names.add(t.host());
        names.addAll(inventoryNames);
        Decision d = Decision.ALLOW;
        for (Policy p : policies()) {
            d = d.and(p.decide(names, action));
        }
        return d;
    }

    static Decision check(Target t, PolicyAction action, Confirmer confirmer) {
        return check(t, List.of(), action, confirmer);
    }

    /** A decision in words for a plan (--dry-run): "allow", or what would happen and the rule. */
    static String describe(Decision d) {
        return switch (d.verdict()) {
            case ALLOW -> d.rule() == null ? "allow (no rule applies)" : "allow (rule " + d.rule() + ")";
            case CONFIRM -> "confirm: a person's yes is needed first: " + d.reason() + " (rule " + d.rule() + ")";
            case REFUSE -> "refuse: " + d.reason() + " (rule " + d.rule() + ")";
        };
    }

    /** Decides, asks when the decision is CONFIRM, and throws POLICY for a refusal; returns the decision it went by. */
    static Decision check(Target t, List<String> inventoryNames, PolicyAction action, Confirmer confirmer) {
        Decision d = decide(t, inventoryNames, action);
        String target = !inventoryNames.isEmpty() ? inventoryNames.get(0) : t.alias() != null ? t.alias() : t.host();
        String what = action.kind().label() + (action.shown().isEmpty() ? "" : " `" + abbreviate(action.shown()) + "`");
        Audit.decided(d.label());
        switch (d.verdict()) {
            case ALLOW -> {
                return d;
            }
            case REFUSE -> throw VpsException.policy("refused " + what + " on " + target + ": " + d.reason() + " (rule " + d.rule() + ")",
                    "the owner's policy forbids this; do not retry or rephrase it: ask the person who owns " + d.rule().replaceFirst(":\\d+$", "")
                            + " to change it, or do it yourself");
            default -> {
                Boolean yes = confirmer.confirm(target, action.shown(), d.reason());
                if (yes == null) {
                    Audit.decided("refused (nobody to confirm): " + d.rule());
                    throw VpsException.policy("refused " + what + " on " + target + ": it needs a person's yes and nobody can be asked: "
                                    + d.reason() + " (rule " + d.rule() + ")",
                            "run it from a terminal (you are asked there; --yes counts only at a terminal), or through mcp-server with a client"
                                    + " that supports elicitation; or ask the policy's owner");
                }
                if (!yes) {
                    Audit.decided("declined: " + d.rule());
                    throw VpsException.policy("refused " + what + " on " + target + ": the person declined (rule " + d.rule() + ")",
                            "do not retry; ask the person what they want instead");
                }
                Audit.decided("confirmed: " + d.rule());
                return new Decision(Decision.Verdict.ALLOW, d.rule(), "confirmed");
            }
        }
    }

    /**
     * A person at this call's terminal: asked on /dev/tty when the call's stdin is a terminal; YES answers
     * for them, but only there (an agent without a terminal cannot pass a confirm with --yes).
     */
    static Confirmer terminal(InputStream in, PrintStream err, boolean yes) {
        Confirmer person = oneAtATime(Guard::askAtTheTerminal);
        return (target, what, reason) -> {
            if (!Environment.stdinIsTerminal(in)) {
                return null;
            }
            if (yes) {
                return true;
            }
            if (Environment.inCall()) {
                throw new ColdRun("the owner's policy asks the person at the client's terminal");
            }
            return person.confirm(target, what, reason);
        };
    }

    /** The question on /dev/tty: target, command, the rule's reason; yes only for y or yes. Null when there is no terminal to ask. */
    private static Boolean askAtTheTerminal(String target, String what, String reason) {
        Path tty = Path.of("/dev/tty");
        try (BufferedReader answer = new BufferedReader(new InputStreamReader(Files.newInputStream(tty), StandardCharsets.UTF_8));
             PrintStream ask = new PrintStream(Files.newOutputStream(tty), true, StandardCharsets.UTF_8)) {
            ask.println("vps: the owner's policy asks you to confirm (" + reason + ")");
            ask.println("  target:  " + target);
            ask.println("  command: " + what);
            ask.print("Run it? [y/N] ");
            ask.flush();
            String line = answer.readLine();
            return line != null && line.trim().toLowerCase(java.util.Locale.ROOT).matches("y|yes");
        } catch (IOException e) {
            return null;
        }
    }

    /** One person answers one terminal: the hosts of a set, each on its own thread, wait for the question before theirs. */
    private static final ReentrantLock ASKING = new ReentrantLock(true);

    /** PERSON asked one question at a time, in the order the questions came; a call interrupted while it waits asks nobody (null). */
    static Confirmer oneAtATime(Confirmer person) {
        return (target, what, reason) -> {
            try {
                ASKING.lockInterruptibly();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
            try {
                return person.confirm(target, what, reason);
            } finally {
                ASKING.unlock();
            }
        };
    }

    private static String abbreviate(String s) {
        String one = s.replace('\n', ' ');
        return one.length() <= 200 ? one : one.substring(0, 200) + "...";
    }
}
