import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Ansible's host pattern language, as lib/ansible/inventory/manager.py evaluates it: terms apart at
 * ',' (or at ':' when the pattern has no ',' and is not itself one address such as `::1` or
 * `web[1:3]`); each term a host name, a group, a glob (`web*`, `db?`, `[ab]*`) or a `~regex`
 * (matched from the start), a group term optionally subscripted (`web[0]`, `web[-1]`, `web[0:2]`
 * with the end included); `&term` intersects and `!term` excludes. Plain terms are applied first,
 * then intersections, then exclusions, whatever the written order; only `&`/`!` terms mean `all`
 * first. The result is in inventory order without duplicates.
 */
final class HostPattern {
    private HostPattern() {}

    private static final Pattern WITH_SUBSCRIPT = Pattern.compile("(.+)\\[(?:(-?[0-9]+)|([0-9]+)[:-]([0-9]*))\\]", Pattern.DOTALL);
    private static final Pattern COLON_TERM = Pattern.compile("(?:[^\\s:\\[\\]]|\\[[^\\]]*\\])+");

    /** The host names of INVENTORY that PATTERN selects; a CONFIG error when it selects none. */
    static List<String> select(InventoryModel inventory, String pattern) {
        if (pattern == null || pattern.isBlank()) {
            throw VpsException.config("the host pattern is empty", "give a group, a host name, a glob like web*, or all");
        }
        Set<String> chosen = new LinkedHashSet<>();
        for (String term : ordered(split(pattern))) {
            if (inventory.hasHost(term)) {
                chosen.add(term);
                continue;
            }
            List<String> matched = matchTerm(inventory, term.substring(term.startsWith("&") || term.startsWith("!") ? 1 : 0));
            if (term.startsWith("!")) {
                chosen.removeAll(matched);
            } else if (term.startsWith("&")) {
                chosen.retainAll(matched);
            } else {
                chosen.addAll(matched);
            }
        }
        List<String> hosts = inventory.hosts().stream().filter(chosen::contains).toList();
        if (hosts.isEmpty()) {
            throw VpsException.config("no host in " + inventory.file() + " matches " + pattern, "its groups: " + groupNames(inventory)
                    + "; a pattern is names, groups or globs (web*) joined by : or , with &group to intersect and !group to exclude");
        }
        return hosts;
    }

    /** Ansible's split_host_pattern. */
    static List<String> split(String pattern) {
        List<String> terms = new ArrayList<>();
        if (pattern.contains(",")) {
            terms.addAll(List.of(pattern.split(",")));
        } else if (HostAddress.parse(pattern.strip(), true) != null) {
            terms.add(pattern);
        } else {
            Matcher m = COLON_TERM.matcher(pattern);
            while (m.find()) {
                terms.add(m.group());
            }
        }
        return terms.stream().map(String::strip).filter(t -> !t.isEmpty()).toList();
    }

    /** Ansible's order_patterns: plain terms, then &terms, then !terms; `all` when there is no plain term. */
    static List<String> ordered(List<String> terms) {
        List<String> plain = terms.stream().filter(t -> !t.startsWith("&") && !t.startsWith("!")).toList();
        List<String> ordered = new ArrayList<>(plain.isEmpty() ? List.of("all") : plain);
        terms.stream().filter(t -> t.startsWith("&")).forEach(ordered::add);
        terms.stream().filter(t -> t.startsWith("!")).forEach(ordered::add);
        return ordered;
    }

    /** One term without its &/!: the hosts it names, then its subscript applied (Ansible's _match_one_pattern). */
    private static List<String> matchTerm(InventoryModel inventory, String term) {
        Matcher subscript = term.startsWith("~") ? null : WITH_SUBSCRIPT.matcher(term);
        if (subscript == null || !subscript.matches()) {
            return enumerate(inventory, term);
        }
        List<String> hosts = enumerate(inventory, subscript.group(1));
        if (hosts.isEmpty()) {
            return hosts;
        }
        if (subscript.group(2) != null) {
            return List.of(at(inventory, hosts, Integer.parseInt(subscript.group(2)), term));
        }
        int start = Integer.parseInt(subscript.group(3));
        int end = subscript.group(4).isEmpty() ? hosts.size() - 1 : Integer.parseInt(subscript.group(4));
        if (end == 0) {
            return List.of(at(inventory, hosts, start, term));
        }
        return start > end ? List.of() : hosts.subList(Math.min(start, hosts.size()), Math.min(end + 1, hosts.size()));
    }

    private static String at(InventoryModel inventory, List<String> hosts, int index, String term) {
        int i = index < 0 ? hosts.size() + index : index;
        if (i < 0 || i >= hosts.size()) {
            throw VpsException.config("no host in " + inventory.file() + " matches " + term + ": the index is past the "
                    + hosts.size() + " host(s) matched", "indexes count from 0; [-1] is the last host");
        }
        return hosts.get(i);
    }

    /** Ansible's _enumerate_matches: every host of the groups matched, and the hosts matched by name. */
    private static List<String> enumerate(InventoryModel inventory, String expr) {
        Predicate<String> matches = matcher(inventory, expr);
        Set<String> hosts = new LinkedHashSet<>();
        boolean groupMatched = false;
        for (InventoryModel.Group g : inventory.groups()) {
            if (matches.test(g.name)) {
                groupMatched = true;
                hosts.addAll(InventoryModel.hostsOf(g));
            }
        }
        if (!groupMatched || expr.startsWith("~") || expr.chars().anyMatch(c -> ".?*[".indexOf(c) >= 0)) {
            inventory.hosts().stream().filter(matches).forEach(hosts::add);
        }
        return List.copyOf(hosts);
    }

    /** A `~regex` matched from the start of a name (Python's re.match), else a glob matched against all of it. */
    private static Predicate<String> matcher(InventoryModel inventory, String expr) {
        if (expr.startsWith("~")) {
            try {
                Pattern regex = Pattern.compile(expr.substring(1));
                return name -> regex.matcher(name).lookingAt();
            } catch (PatternSyntaxException e) {
                throw VpsException.config("the pattern " + expr + " is not a valid regular expression: " + e.getDescription(),
                        "~ starts a regular expression; a glob is written without it (web*)");
            }
        }
        Pattern glob = Pattern.compile(globToRegex(expr), Pattern.DOTALL);
        return name -> glob.matcher(name).matches();
    }

    /** Python's fnmatch.translate: * any text, ? one character, [abc] / [!abc] a set, anything else itself. */
    static String globToRegex(String glob) {
        StringBuilder regex = new StringBuilder();
        for (int i = 0; i < glob.length(); i++) {
            char c = glob.charAt(i);
            int close = c == '[' ? setEnd(glob, i) : -1;
            if (c == '*') {
                regex.append(".*");
            } else if (c == '?') {
                regex.append('.');
            } else if (close > 0) {
                regex.append(charSet(glob.substring(i + 1, close)));
                i = close;
            } else {
                regex.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return regex.toString();
    }

    /** Where the set opened at OPEN closes (a ] right after [ or [! belongs to the set), or -1 when it does not. */
    private static int setEnd(String glob, int open) {
        int j = open + 1;
        if (j < glob.length() && glob.charAt(j) == '!') {
            j++;
        }
        if (j < glob.length() && glob.charAt(j) == ']') {
            j++;
        }
        return glob.indexOf(']', j);
    }

    private static String charSet(String body) {
        StringBuilder set = new StringBuilder("[");
        int i = 0;
        if (body.startsWith("!")) {
            set.append('^');
            i = 1;
        }
        for (; i < body.length(); i++) {
            char c = body.charAt(i);
            boolean range = c == '-' && i > (body.startsWith("!") ? 1 : 0) && i < body.length() - 1;
            set.append(range || Character.isLetterOrDigit(c) ? String.valueOf(c) : "\\" + c);
        }
        return set.append(']').toString();
    }

    private static String groupNames(InventoryModel inventory) {
        List<String> names = inventory.groups().stream().map(g -> g.name)
                .filter(n -> !n.equals("ungrouped") || !inventory.group("ungrouped").hosts.isEmpty()).toList();
        return String.join(", ", names);
    }
}
