import java.util.regex.Pattern;

/**
 * The names of what the toolkit keeps on a server (jobs, sessions): one folder component each, so a
 * name is checked before it reaches a path or a remote shell.
 */
final class ServerIds {
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    private ServerIds() {}

    /** Letters, digits, '.', '_' and '-', up to 64, starting with a letter or digit (so never "." or ".."). */
    static boolean valid(String id) {
        return id != null && ID.matcher(id).matches();
    }

    /**
     * A new id: KIND, the time to the second, and 48 random bits. (16 bits collided among 100 calls
     * started in one second: about one run in thirteen of the concurrency test ended on another call's job.)
     */
    static String newId(String kind) {
        byte[] random = new byte[6];
        new java.security.SecureRandom().nextBytes(random);
        return kind + java.time.LocalDateTime.now().format(java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"))
                + "-" + java.util.HexFormat.of().formatHex(random);
    }
}
