import java.nio.file.Path;

/**
 * One host of a host set (issue 19). NAME is what output, JSON keys and DEST/NAME use; HOST, PORT,
 * USER and IDENTITY are null when not set, and then the normal resolution applies (options,
 * environment, .env, ssh config with HOST as the alias).
 */
record FleetHost(String name, String host, Integer port, String user, Path identity) {
    /** A -H entry: an ssh config alias or [user@]host[:port] (HostSpec); the name is the entry as written. */
    static FleetHost of(String entry) {
        String name = entry.strip();
        if (name.isEmpty()) {
            throw VpsException.config("an empty host name in the -H list", "separate host names with single commas: -H web1,web2");
        }
        HostSpec spec = HostSpec.parse(name);
        return new FleetHost(name, spec.host(), port(name, spec.port()), spec.user(), null);
    }

    private static Integer port(String entry, String text) {
        if (text == null) {
            return null;
        }
        try {
            int port = Integer.parseInt(text);
            if (port >= 1 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException notANumber) {
            // said below
        }
        throw VpsException.config("host " + entry + ": port " + text + " is not a number from 1 to 65535", "write the host as [user@]host[:port]");
    }

    /** The name as one path component (sftp-get's DEST/NAME): CONFIG when it cannot be one. */
    String pathName() {
        boolean control = name.chars().anyMatch(c -> c < 0x20 || c == 0x7f);
        if (name.isEmpty() || name.contains("/") || name.equals(".") || name.equals("..") || control) {
            throw VpsException.config("host name '" + name.replaceAll("\\p{Cntrl}", "?") + "' cannot be a folder name (DEST/NAME)",
                    "name the host without '/' or control characters (an inventory alias, or an ssh config Host)");
        }
        return name;
    }
}
