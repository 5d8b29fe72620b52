/**
 * One host of a host set. NAME is what output, JSON keys and DEST/NAME use; HOST, PORT, USER and
 * IDENTITY are null when not set, and then the normal resolution applies (options, environment,
 * .env, ssh config with HOST, or else NAME, as the alias).
 */
record FleetHost(String name, String host, Integer port, String user, java.nio.file.Path identity) {
    /** A -H entry: an ssh config alias or [user@]host[:port] (HostSpec); name = the entry as written. */
    static FleetHost of(String entry) {
        HostSpec spec = HostSpec.parse(entry);
        Integer port = null;
        if (spec.port() != null) {
            try {
                port = Integer.valueOf(spec.port());
            } catch (NumberFormatException e) {
                throw VpsException.config("the port in '" + entry + "' is not a number", "write HOST:PORT, e.g. web1:2222, or [::1]:2222 for IPv6");
            }
        }
        return new FleetHost(entry, spec.host(), port, spec.user(), null);
    }
}
