import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Ansible's grammar of a host in an inventory or a pattern (parse_address and expand_hostname_range
 * in ansible/parsing/utils/addresses.py and plugins/inventory/__init__.py): a host name, IPv4 or
 * IPv6 address, possibly with ranges (`web[01:03]`, `db-[a:c]`, `[1:10:2]`), and an optional :PORT
 * (IPv6 only in brackets: `[::1]:2222`).
 */
final class HostAddress {
    private HostAddress() {}

    /** HOST may hold ranges; PORT is null when none was written. */
    record Parsed(String host, Integer port) {}

    /** How many names one range entry may expand to: a typo like [1:9999999] should not fill memory. */
    static final int MAX_EXPANDED = 100_000;

    private static final String NUMERIC_RANGE = "\\[[0-9]+:[0-9]+(?::[0-9]+)?\\]";
    private static final String HEX_RANGE = "\\[[0-9a-f]+:[0-9a-f]+(?::[0-9]+)?\\]";
    private static final String ALNUM_RANGE = "\\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\\]";
    private static final String IPV6_PART = "(?:[0-9a-f]{1,4}|" + HEX_RANGE + ")";
    private static final String IPV4_PART = "(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|" + NUMERIC_RANGE + ")";
    private static final String LABEL = "(?:\\w|" + ALNUM_RANGE + ")(?:[\\w-]|" + ALNUM_RANGE + ")*(?<![_-])";

    private static final Pattern BRACKETED_HOSTPORT = Pattern.compile("\\[(.+)\\]:([0-9]+)");
    private static final Pattern HOSTPORT = Pattern.compile("((?:[^:\\[\\]]|\\[[^\\]]*\\])*):([0-9]+)");
    private static final Pattern IPV4 = Pattern.compile("(?:" + IPV4_PART + "\\.){3}" + IPV4_PART, Pattern.CASE_INSENSITIVE);
    private static final Pattern IPV6 = Pattern.compile(String.join("|",
            "(?:P:){7}P", "(?:P:){1,6}:", "(?:P:)(?::P){1,6}", "(?:P:){2}(?::P){1,5}", "(?:P:){3}(?::P){1,4}",
            "(?:P:){4}(?::P){1,3}", "(?:P:){5}(?::P){1,2}", "(?:P:){6}(?::P)", ":(?::P){1,6}", "P?::",
            "(?:0:){6}(?:P\\.){3}P", "::(?:ffff:)?(?:P\\.){3}P", "(?:0:){5}ffff:(?:P\\.){3}P").replace("P", IPV6_PART),
            Pattern.CASE_INSENSITIVE);
    private static final Pattern HOSTNAME = Pattern.compile(LABEL + "(?:\\." + LABEL + ")*",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CHARACTER_CLASS);

    /** Ansible's parse_address: null when ADDRESS is not a host (with ranges when allowed) and optional port. */
    static Parsed parse(String address, boolean allowRanges) {
        String host = address;
        Integer port = null;
        for (Pattern withPort : List.of(BRACKETED_HOSTPORT, HOSTPORT)) {
            Matcher m = withPort.matcher(host);
            if (m.matches()) {
                try {
                    port = Integer.valueOf(m.group(2));
                } catch (NumberFormatException e) {
                    return null;
                }
                host = m.group(1);
            }
        }
        boolean valid = IPV4.matcher(host).matches() || IPV6.matcher(host).matches() || HOSTNAME.matcher(host).matches();
        return valid && (allowRanges || !host.contains("[")) ? new Parsed(host, port) : null;
    }

    /**
     * The host names a range entry stands for (expand_hostname_range): `web[01:03]` is web01, web02,
     * web03 (a leading zero fixes the width), `db-[a:c]` db-a, db-b, db-c, `[1:10:2]` every second.
     * Throws IllegalArgumentException saying what is wrong with a range.
     */
    static List<String> expand(String name) {
        List<String> names = new ArrayList<>();
        expandInto(name, names);
        return names;
    }

    private static void expandInto(String name, List<String> names) {
        int open = name.indexOf('[');
        if (open < 0) {
            if (names.size() >= MAX_EXPANDED) {
                throw new IllegalArgumentException("the host ranges expand to more than " + MAX_EXPANDED + " hosts");
            }
            names.add(name);
            return;
        }
        int close = name.indexOf(']', open);
        if (close < 0) {
            throw new IllegalArgumentException("host range in '" + name + "' has no closing ]");
        }
        String head = name.substring(0, open);
        String tail = name.substring(close + 1);
        for (String value : rangeValues(name.substring(open + 1, close))) {
            expandInto(head + value + tail, names);
        }
    }

    private static List<String> rangeValues(String range) {
        String[] bounds = range.split(":", -1);
        if (bounds.length != 2 && bounds.length != 3) {
            throw new IllegalArgumentException("host range [" + range + "] must be begin:end or begin:end:step");
        }
        String begin = bounds[0].isEmpty() ? "0" : bounds[0];
        String end = bounds[1];
        if (end.isEmpty()) {
            throw new IllegalArgumentException("host range [" + range + "] has no end");
        }
        int step = bounds.length == 3 ? number(bounds[2], range) : 1;
        if (step < 1) {
            throw new IllegalArgumentException("host range [" + range + "] needs a step of 1 or more");
        }
        List<String> values = new ArrayList<>();
        String letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        if (begin.length() == 1 && end.length() == 1 && letters.contains(begin) && letters.contains(end)) {
            int from = letters.indexOf(begin);
            int to = letters.indexOf(end);
            if (from > to) {
                throw new IllegalArgumentException("host range [" + range + "] must have begin <= end");
            }
            for (int i = from; i <= to; i += step) {
                values.add(String.valueOf(letters.charAt(i)));
            }
            return values;
        }
        int width = begin.length() > 1 && begin.startsWith("0") ? begin.length() : 0;
        if (width > 0 && width != end.length()) {
            throw new IllegalArgumentException("host range [" + range + "] must give begin and end in the same width (01:10, not 01:100)");
        }
        int from = number(begin, range);
        int to = number(end, range);
        if (from > to) {
            // Ansible's range() would silently give no host at all
            throw new IllegalArgumentException("host range [" + range + "] must have begin <= end");
        }
        for (long i = from; i <= to && values.size() <= MAX_EXPANDED; i += step) {
            values.add(width > 0 ? String.format("%0" + width + "d", i) : String.valueOf(i));
        }
        return values;
    }

    private static int number(String text, String range) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("host range [" + range + "] is neither numbers nor single letters");
        }
    }
}
