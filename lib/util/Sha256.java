import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 helpers (the JDK's MessageDigest). */
final class Sha256 {
    private Sha256() {}

    static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String hex(MessageDigest d) {
        return HexFormat.of().formatHex(d.digest());
    }

    /** Feeds the first LIMIT bytes of IN (all when LIMIT < 0) to D; returns how many were read. */
    static long feed(MessageDigest d, InputStream in, long limit) throws IOException {
        byte[] buf = new byte[256 * 1024];
        long total = 0;
        while (limit < 0 || total < limit) {
            int want = limit < 0 ? buf.length : (int) Math.min(buf.length, limit - total);
            int n = in.read(buf, 0, want);
            if (n < 0) {
                break;
            }
            d.update(buf, 0, n);
            total += n;
        }
        return total;
    }
}
