/**
 * POSIX shell quoting: every value that reaches a remote shell goes through here. Only /bin/sh reads
 * what it quotes (see {@link RemoteCommand}); a word is still never left bare when a zsh (`=word`)
 * or an option parser (`-word`) would read it as something else.
 */
final class ShellQuote {
    private ShellQuote() {}

    /** Wraps in single quotes; a single quote inside becomes '\'' . Safe for any byte but NUL. */
    static String quote(String value) {
        if (value.indexOf('\0') >= 0) {
            throw VpsException.config("a value for the remote shell contains a NUL byte", "remove the NUL byte");
        }
        if (!value.isEmpty() && value.matches("[A-Za-z0-9_@%+=:,./-]+") && !value.startsWith("-") && !value.startsWith("=")) {
            return value;
        }
        return "'" + value.replace("'", "'\\''") + "'";
    }
}
