import java.util.List;
import java.util.regex.Pattern;

/**
 * The declared state setup-server brings a server to: a login USER with KEYS (authorized_keys lines) and
 * SUDO rights, sshd with password login off and root login ROOT_LOGIN, on PORT (null: the port stays),
 * and, with FIREWALL, ufw or nftables letting the SSH port in.
 */
record SetupPlan(String user, List<String> keys, Sudo sudo, String rootLogin, Integer port, boolean firewall) {
    enum Sudo {
        NOPASSWD, PASSWORD, NONE;

        String word() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** A name useradd takes on every release (and one sudo reads in /etc/sudoers.d: no dot). */
    private static final Pattern USER_NAME = Pattern.compile("[a-z_][a-z0-9_-]{0,31}");
    /** One public key line: TYPE BASE64 [COMMENT], nothing a heredoc or sshd would read otherwise. */
    private static final Pattern KEY_LINE = Pattern.compile("(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]+=*( [^\\p{Cntrl}]*)?");

    SetupPlan {
        if (!USER_NAME.matcher(user).matches() || user.equals("root")) {
            throw VpsException.config("--user " + user + " is not a login name setup-server creates",
                    "give a lower-case name such as deployer (letters, digits, _ and -; not root)");
        }
        if (keys.isEmpty()) {
            throw VpsException.config("no public key to authorize", "give --authorize FILE.pub (default: the .pub beside -i KEY)");
        }
        for (String key : keys) {
            if (!KEY_LINE.matcher(key).matches()) {
                throw VpsException.config("not a public key line: " + abbreviate(key),
                        "give the .pub file (one line: TYPE BASE64 [COMMENT]), never the private key");
            }
        }
        if (port != null && (port < 1 || port > 65535)) {
            throw VpsException.config("--port " + port + " is not a TCP port", "give a port between 1 and 65535");
        }
        keys = List.copyOf(keys);
    }

    /** PermitRootLogin for --no-root or not. */
    static String rootLogin(boolean noRoot) {
        return noRoot ? "no" : "prohibit-password";
    }

    /** The public key lines of a .pub (or authorized_keys-style) file's text: blank lines and comments left out. */
    static List<String> keyLines(String text) {
        return text.lines().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
    }

    private static String abbreviate(String s) {
        String one = s.replaceAll("\\p{Cntrl}", "?");
        return one.length() > 40 ? one.substring(0, 37) + "..." : one;
    }
}
