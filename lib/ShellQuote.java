/** POSIX shell quoting: every value that reaches a remote shell goes through here. */
final class ShellQuote {
    private ShellQuote() {}

    /** Wraps in single quotes; a single quote inside becomes '\'' . Safe for any byte but NUL. */
    static String quote(String value) {
        if (value.indexOf('\0') >= 0) {
            throw VpsException.config("a value for the remote shell contains a NUL byte", "remove the NUL byte");
        }
        if (!value.isEmpty() && value.matches("[A-Za-z0-9_@%+=:,./-]+") && !value.startsWith("-")) {
            return value;
        }
        return "'" + value.replace("'", "'\\''") + "'";
    }
}
