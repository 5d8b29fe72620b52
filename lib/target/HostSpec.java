/**
 * `[user@]host[:port]` as ssh and ssh -J write it, the one parser for a target named in one word
 * (an mcp-server `target`, a jump hop): an IPv6 address takes brackets when a port follows
 * (`[::1]:2222`), and a bare one (`::1`) is all host. PORT is the text after the host, or null.
 */
record HostSpec(String user, String host, String port) {
    static HostSpec parse(String spec) {
        String rest = spec.replaceFirst("^ssh://", "");
        String user = null;
        int at = rest.lastIndexOf('@');
        if (at >= 0) {
            user = rest.substring(0, at);
            rest = rest.substring(at + 1);
        }
        if (rest.startsWith("[")) {
            int close = rest.indexOf(']');
            if (close > 0) {
                String after = rest.substring(close + 1);
                return new HostSpec(user, rest.substring(1, close), after.startsWith(":") ? after.substring(1) : null);
            }
        }
        int colon = rest.indexOf(':');
        if (colon > 0 && colon == rest.lastIndexOf(':')) {
            return new HostSpec(user, rest.substring(0, colon), rest.substring(colon + 1));
        }
        return new HostSpec(user, rest, null);
    }
}
