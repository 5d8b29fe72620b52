import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.KeyPair;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** A key pair the toolkit makes for itself (the sandbox's and the engine's client keys). */
final class KeyFiles {
    private KeyFiles() {}

    /** A new ECDSA P-256 pair: the private key in FILE, the public one in FILE.pub (both 0600, each by a rename); returns its line. */
    static String generate(Path file, String comment) throws IOException {
        KeyPair pair;
        try {
            pair = KeyPair.genKeyPair(new JSch(), KeyPair.ECDSA, 256);
        } catch (JSchException e) {
            throw new IOException("cannot make a key pair: " + e.getMessage(), e);
        }
        ByteArrayOutputStream priv = new ByteArrayOutputStream();
        pair.writePrivateKey(priv);
        ByteArrayOutputStream pub = new ByteArrayOutputStream();
        pair.writePublicKey(pub, comment);
        LocalFolders.writePrivate(file, priv.toString(StandardCharsets.UTF_8));
        LocalFolders.writePrivate(Path.of(file + ".pub"), pub.toString(StandardCharsets.UTF_8));
        return pub.toString(StandardCharsets.UTF_8);
    }
}
