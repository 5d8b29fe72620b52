import com.jcraft.jsch.AgentIdentityRepository;
import com.jcraft.jsch.AgentProxyException;
import com.jcraft.jsch.Identity;
import com.jcraft.jsch.IdentityRepository;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.KeyPair;
import com.jcraft.jsch.PageantConnector;
import com.jcraft.jsch.SSHAgentConnector;
import com.jcraft.jsch.UnixDomainSocketFactory;
import com.jcraft.jsch.WindowsSSHAgentConnector;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Vector;

/**
 * The keys a login offers, in OpenSSH's spirit: key files first (any format JSch reads: OpenSSH,
 * PEM, PKCS#8, PuTTY v2/v3; CRLF line ends and a BOM tolerated), then the ssh-agent's keys
 * unless IdentitiesOnly. Returns a description of each offered key for error messages.
 */
final class Identities {
    private Identities() {}

    static List<String> load(JSch jsch, Target target, PrintStream verbose) {
        List<String> offered = new ArrayList<>();
        Path skippedEncrypted = null;
        // As with ssh: a key named by -i or VPS_KEY must exist; ssh config's and the default ones may not.
        String origin = target.origins().getOrDefault("identity", "default");
        boolean explicit = !origin.startsWith("default") && !origin.startsWith("ssh config");
        for (Path key : target.identities()) {
            if (!Files.isRegularFile(key)) {
                if (explicit) {
                    throw VpsException.config("key file " + key + (Files.isDirectory(key) ? " is a folder, not a key file" : " does not exist"),
                            "fix the path given by " + origin);
                }
                if (verbose != null && origin.startsWith("ssh config")) {
                    verbose.println("debug: no such identity file " + key + " (" + origin + "), skipped");
                }
                continue;
            }
            String added = addKeyFile(jsch, key, target.keyPassphrase(), explicit, verbose);
            if (added != null) {
                offered.add(added);
            } else if (skippedEncrypted == null) {
                skippedEncrypted = key;
            }
        }
        if (target.useAgent()) {
            IdentityRepository agent = agent(target, verbose);
            if (agent != null) {
                Vector<Identity> keys = agent.getIdentities();
                for (Identity id : keys) {
                    offered.add("agent key " + id.getName() + " (" + Fingerprints.sha256(id.getPublicKeyBlob()) + ")");
                }
                if (!keys.isEmpty()) {
                    jsch.setIdentityRepository(new FilesThenAgent(jsch.getIdentityRepository(), agent));
                }
            }
        }
        if (offered.isEmpty() && skippedEncrypted != null && !target.passwordAuth()) {
            throw encryptedWithoutPassphrase(skippedEncrypted);
        }
        if (offered.isEmpty() && !target.passwordAuth()) {
            throw new VpsException(VpsException.Kind.AUTH, "no private key to log in with as " + target.user(),
                    "pass -i KEY or set VPS_KEY (looked for ~/.ssh/id_ed25519, id_ecdsa and id_rsa), or load a key into ssh-agent");
        }
        return offered;
    }

    /**
     * Reads the file ourselves so that Windows line ends or a BOM never make a good key "invalid".
     * @param mustUse false for a default or ssh config key: an encrypted one without a passphrase is
     *                then skipped (as ssh in batch mode does; the agent may hold it) instead of failing.
     * @return the key's description, or null when it was skipped
     */
    private static String addKeyFile(JSch jsch, Path key, String passphrase, boolean mustUse, PrintStream verbose) {
        byte[] priv = normalize(read(key));
        Path pubFile = Path.of(key + ".pub");
        byte[] pub = Files.isRegularFile(pubFile) ? normalize(read(pubFile)) : null;
        KeyPair pair;
        try {
            pair = KeyPair.load(jsch, priv, pub);
        } catch (JSchException e) {
            throw new VpsException(VpsException.Kind.AUTH, "cannot read key " + key + ": " + e.getMessage(),
                    "give an OpenSSH, PEM, PKCS#8 or PuTTY private key (the file without .pub)", false, e);
        }
        byte[] secret = passphrase == null ? null : passphrase.getBytes(StandardCharsets.UTF_8);
        if (pair.isEncrypted()) {
            if (secret == null && !mustUse) {
                if (verbose != null) {
                    verbose.println("debug: " + key + " is encrypted and no passphrase was given: skipped (the agent may hold it)");
                }
                return null;
            }
            if (secret == null) {
                throw encryptedWithoutPassphrase(key);
            }
            if (!pair.decrypt(secret.clone())) {
                throw new VpsException(VpsException.Kind.AUTH, "the passphrase given does not open key " + key,
                        "fix VPS_KEY_PASSPHRASE or the --passphrase-file, or check it with: ssh-keygen -y -f " + key);
            }
        }
        String description = key + " (" + pair.getKeyTypeString() + " " + Fingerprints.sha256(pair.getPublicKeyBlob()) + ")";
        pair.dispose();
        try {
            jsch.addIdentity(key.toString(), priv, pub, secret);
        } catch (JSchException e) {
            throw new VpsException(VpsException.Kind.AUTH, "cannot use key " + key + ": " + e.getMessage(),
                    "check the key file and its passphrase", false, e);
        }
        return description;
    }

    private static VpsException encryptedWithoutPassphrase(Path key) {
        return new VpsException(VpsException.Kind.AUTH, "key " + key + " is encrypted and no passphrase was given",
                "set VPS_KEY_PASSPHRASE in the environment or .env, or pass --passphrase-file FILE (never on the command line)");
    }

    private static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new VpsException(VpsException.Kind.AUTH, "cannot read key " + file + ": " + VpsException.reason(e),
                    "check the file's permissions", false, e);
        }
    }

    /** Drops a UTF-8 BOM and turns CRLF (and lone CR) into LF. */
    static byte[] normalize(byte[] bytes) {
        int start = bytes.length >= 3 && (bytes[0] & 0xff) == 0xEF && (bytes[1] & 0xff) == 0xBB && (bytes[2] & 0xff) == 0xBF ? 3 : 0;
        byte[] out = new byte[bytes.length - start];
        int n = 0;
        for (int i = start; i < bytes.length; i++) {
            if (bytes[i] == '\r') {
                if (i + 1 < bytes.length && bytes[i + 1] == '\n') {
                    continue;
                }
                out[n++] = '\n';
            } else {
                out[n++] = bytes[i];
            }
        }
        return Arrays.copyOf(out, n);
    }

    /** The agent named by IdentityAgent / SSH_AUTH_SOCK, or Windows' OpenSSH agent pipe, then Pageant. */
    private static IdentityRepository agent(Target target, PrintStream verbose) {
        try {
            Path socket = target.agentSocket();
            if (socket != null) {
                return available(new AgentIdentityRepository(new SSHAgentConnector(new UnixDomainSocketFactory(), socket)));
            }
            if (System.getProperty("os.name", "").startsWith("Windows")) {
                IdentityRepository pipe = available(new AgentIdentityRepository(new WindowsSSHAgentConnector()));
                return pipe != null ? pipe : available(new AgentIdentityRepository(new PageantConnector()));
            }
        } catch (AgentProxyException | RuntimeException | LinkageError e) {
            if (verbose != null) {
                verbose.println("debug: no usable ssh-agent: " + e);
            }
        }
        return null;
    }

    private static IdentityRepository available(IdentityRepository repo) {
        return repo.getStatus() == IdentityRepository.RUNNING || !repo.getIdentities().isEmpty() ? repo : null;
    }

    /** Key files first, then the agent's keys: one list, as JSch wants a single repository. */
    private record FilesThenAgent(IdentityRepository files, IdentityRepository agent) implements IdentityRepository {
        @Override
        public String getName() {
            return "files+agent";
        }

        @Override
        public int getStatus() {
            return RUNNING;
        }

        @Override
        public Vector<Identity> getIdentities() {
            Vector<Identity> all = new Vector<>(files.getIdentities());
            all.addAll(agent.getIdentities());
            return all;
        }

        @Override
        public boolean add(byte[] identity) {
            return files.add(identity);
        }

        @Override
        public boolean remove(byte[] blob) {
            return files.remove(blob);
        }

        @Override
        public void removeAll() {
            files.removeAll();
        }
    }
}
