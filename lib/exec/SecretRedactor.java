import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Writes what it gets to TARGET with every occurrence of a secret (a --send-env value, which a
 * terminal echoes back; a sudo or su password, should the command print it) replaced by ***. Bytes that may be the start of a secret split across two
 * writes are held until the next write tells, or until {@link #release}.
 */
final class SecretRedactor extends OutputStream {
    static final byte[] MASK = "***".getBytes(StandardCharsets.US_ASCII);

    private final OutputStream target;
    private final List<byte[]> secrets;
    private final ByteArrayOutputStream held = new ByteArrayOutputStream();

    SecretRedactor(OutputStream target, List<byte[]> secrets) {
        this.target = target;
        this.secrets = secrets.stream().filter(s -> s.length > 0).toList();
    }

    /** OUT itself without a SECRET (null or empty), else OUT masking it. */
    static OutputStream of(OutputStream out, String secret) {
        return secret == null || secret.isEmpty() ? out : new SecretRedactor(out, List.of(secret.getBytes(StandardCharsets.UTF_8)));
    }

    /** Writes out what STREAM still holds back, if it is a redactor. */
    static void finish(OutputStream stream) throws IOException {
        if (stream instanceof SecretRedactor redactor) {
            redactor.release();
        }
    }

    /** TEXT with every secret replaced: for messages that quote output. */
    static String redact(String text, List<byte[]> secrets) {
        String out = text;
        for (byte[] s : secrets) {
            if (s.length > 0) {
                out = out.replace(new String(s, StandardCharsets.UTF_8), "***");
            }
        }
        return out;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) throws IOException {
        if (secrets.isEmpty()) {
            target.write(b, off, len);
            return;
        }
        held.write(b, off, len);
        byte[] data = held.toByteArray();
        held.reset();
        int from = 0;
        int at;
        while ((at = nextSecret(data, from)) >= 0) {
            int secretLength = secretAt(data, at);
            target.write(data, from, at - from);
            target.write(MASK);
            from = at + secretLength;
        }
        int keep = partialSecretAtEnd(data, from);
        target.write(data, from, data.length - from - keep);
        held.write(data, data.length - keep, keep);
    }

    @Override
    public void flush() throws IOException {
        target.flush();
    }

    /** The output has ended: what was held is no secret. */
    synchronized void release() throws IOException {
        held.writeTo(target);
        held.reset();
        target.flush();
    }

    private int nextSecret(byte[] data, int from) {
        for (int i = from; i < data.length; i++) {
            if (secretAt(data, i) > 0) {
                return i;
            }
        }
        return -1;
    }

    /** The length of the (longest) secret that starts at I, or 0. */
    private int secretAt(byte[] data, int i) {
        int found = 0;
        for (byte[] s : secrets) {
            if (s.length > found && i + s.length <= data.length && Arrays.equals(data, i, i + s.length, s, 0, s.length)) {
                found = s.length;
            }
        }
        return found;
    }

    /** How many bytes at the end of DATA (after FROM) begin a secret without completing it. */
    private int partialSecretAtEnd(byte[] data, int from) {
        int keep = 0;
        for (byte[] s : secrets) {
            for (int n = Math.min(s.length - 1, data.length - from); n > keep; n--) {
                if (Arrays.equals(data, data.length - n, data.length, s, 0, n)) {
                    keep = n;
                    break;
                }
            }
        }
        return keep;
    }
}
