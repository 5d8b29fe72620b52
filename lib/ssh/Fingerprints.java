import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/** OpenSSH-style fingerprints: SHA256: and the unpadded base64 of the key blob's SHA-256. */
final class Fingerprints {
    private Fingerprints() {}

    static String sha256(byte[] keyBlob) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(keyBlob);
            return "SHA256:" + Base64.getEncoder().withoutPadding().encodeToString(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Accepts "SHA256:abc", "abc" and a padded "abc=". */
    static boolean matches(String pinned, String actual) {
        String p = pinned.trim();
        if (p.regionMatches(true, 0, "SHA256:", 0, 7)) {
            p = p.substring(7);
        }
        p = p.replaceAll("=+$", "");
        return ("SHA256:" + p).equals(actual);
    }
}
