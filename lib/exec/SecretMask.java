import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Writes a stream through with every occurrence of a secret replaced by ***. It holds back only
 * a tail that may be the start of the secret (so that a secret split across two writes is still
 * caught), and writes that tail out at {@link #finish}.
 */
final class SecretMask extends OutputStream {
    static final byte[] MASK = "***".getBytes(StandardCharsets.US_ASCII);

    private final OutputStream out;
    private final byte[] secret;
    private byte[] pending = new byte[0];

    private SecretMask(OutputStream out, String secret) {
        this.out = out;
        this.secret = secret.getBytes(StandardCharsets.UTF_8);
    }

    /** OUT itself without a SECRET (null), else OUT masking it. */
    static OutputStream of(OutputStream out, String secret) {
        return secret == null || secret.isEmpty() ? out : new SecretMask(out, secret);
    }

    /** Writes out what STREAM still holds back, if it is a mask. */
    static void finish(OutputStream stream) throws IOException {
        if (stream instanceof SecretMask mask) {
            mask.finish();
        }
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) throws IOException {
        byte[] data = new byte[pending.length + len];
        System.arraycopy(pending, 0, data, 0, pending.length);
        System.arraycopy(b, off, data, pending.length, len);
        ByteArrayOutputStream masked = new ByteArrayOutputStream(data.length);
        int from = 0;
        for (int at = indexOf(data, from); at >= 0; at = indexOf(data, from)) {
            masked.write(data, from, at - from);
            masked.writeBytes(MASK);
            from = at + secret.length;
        }
        int keep = heldTail(data, from);
        masked.write(data, from, data.length - from - keep);
        pending = java.util.Arrays.copyOfRange(data, data.length - keep, data.length);
        if (masked.size() > 0) {
            masked.writeTo(out);
        }
    }

    /** Flushes what was written through; a tail held back stays held (it may be half the secret). */
    @Override
    public void flush() throws IOException {
        out.flush();
    }

    synchronized void finish() throws IOException {
        out.write(pending);
        pending = new byte[0];
        out.flush();
    }

    private int indexOf(byte[] data, int from) {
        outer:
        for (int i = from; i + secret.length <= data.length; i++) {
            for (int j = 0; j < secret.length; j++) {
                if (data[i + j] != secret[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** The length of the longest end of DATA (after FROM) that is a proper beginning of the secret. */
    private int heldTail(byte[] data, int from) {
        for (int k = Math.min(secret.length - 1, data.length - from); k > 0; k--) {
            if (java.util.Arrays.equals(data, data.length - k, data.length, secret, 0, k)) {
                return k;
            }
        }
        return 0;
    }
}
