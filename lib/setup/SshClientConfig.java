import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

/**
 * --write-ssh-config ALIAS: the new login as a Host block in the ssh config the toolkit reads, and its host
 * key in the known_hosts file the root login used, so that `exec-command -H ALIAS` works next. Both files
 * stay 0600; an ALIAS block already there is never written twice (nor replaced).
 */
final class SshClientConfig {
    private static final Pattern ALIAS = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    private SshClientConfig() {}

    static void checkAlias(String alias) {
        if (!ALIAS.matcher(alias).matches()) {
            throw VpsException.config("--write-ssh-config " + alias + " is not a Host alias", "give a plain name such as web1 (letters, digits, . _ -)");
        }
    }

    /** The ssh config file to write: --ssh-config, else VPS_SSH_CONFIG, else ~/.ssh/config. */
    static Path file(Path option) {
        String explicit = option != null ? option.toString() : Environment.get("VPS_SSH_CONFIG");
        return explicit != null ? LocalFolders.expandHome(explicit) : LocalFolders.home().resolve(".ssh/config");
    }

    /** CONFIG, created empty (0600) when it is missing. */
    static void create(Path config) {
        if (Files.exists(config)) {
            return;
        }
        try {
            Files.createDirectories(config.toAbsolutePath().getParent());
            LocalFolders.writePrivate(config, "");
        } catch (IOException e) {
            throw VpsException.config("cannot create " + config + ": " + VpsException.reason(e), "check that folder's permissions");
        }
    }

    /** Appends the Host ALIAS block for LOGIN to CONFIG; false when the same block is there already. */
    static boolean writeHostBlock(Path config, String alias, Target login) {
        String block = hostBlock(alias, login);
        try {
            String text = Files.exists(config) ? Files.readString(config) : "";
            if (text.contains(block)) {
                return false;
            }
            if (Pattern.compile("(?im)^\\s*Host\\s+(?:\\S+\\s+)*" + Pattern.quote(alias) + "(?:\\s|$)").matcher(text).find()) {
                throw VpsException.config(config + " already has a Host " + alias + " block, which setup-server does not replace",
                        "pick another alias for --write-ssh-config, or edit that block yourself: " + block.strip().replace("\n", "; "));
            }
            Files.createDirectories(config.toAbsolutePath().getParent());
            String separator = text.isEmpty() || text.endsWith("\n\n") ? "" : text.endsWith("\n") ? "\n" : "\n\n";
            LocalFolders.writePrivate(config, text + separator + block);
            return true;
        } catch (IOException e) {
            throw VpsException.config("cannot write " + config + ": " + VpsException.reason(e), "check that file's permissions");
        }
    }

    static String hostBlock(String alias, Target login) {
        StringBuilder b = new StringBuilder("# Written by vps-toolkit setup-server\nHost " + alias + "\n")
                .append("    HostName ").append(login.host()).append('\n')
                .append("    Port ").append(login.port()).append('\n')
                .append("    User ").append(login.user()).append('\n');
        for (Path key : login.identities()) {
            b.append("    IdentityFile ").append(quoted(key.toAbsolutePath().toString())).append('\n');
        }
        b.append("    IdentitiesOnly yes\n");
        Path known = login.knownHosts();
        if (known != null && !known.toAbsolutePath().equals(LocalFolders.home().resolve(".ssh/known_hosts").toAbsolutePath())) {
            b.append("    UserKnownHostsFile ").append(quoted(known.toAbsolutePath().toString())).append('\n');
        }
        return b.toString();
    }

    /** Adds "NAME TYPE BASE64" for LOGIN (its [host]:port name) to its known_hosts unless that line is there; the key is one the root login verified. */
    static boolean recordHostKey(Target login, String typeAndKey) {
        Path known = login.knownHosts();
        String line = login.hostKeyName() + " " + typeAndKey;
        try {
            String text = Files.exists(known) ? Files.readString(known) : "";
            if (text.lines().anyMatch(l -> l.strip().equals(line))) {
                return false;
            }
            Files.createDirectories(known.toAbsolutePath().getParent());
            LocalFolders.writePrivate(known, text + (text.isEmpty() || text.endsWith("\n") ? "" : "\n") + line + "\n");
            return true;
        } catch (IOException e) {
            throw VpsException.config("cannot write " + known + ": " + VpsException.reason(e), "check that file's permissions");
        }
    }

    /** Of the server's host key lines (the .pub files' "TYPE BASE64 [COMMENT]"), the "TYPE BASE64" whose fingerprint is FINGERPRINT. */
    static String matchingKey(List<String> pubLines, String fingerprint) {
        for (String l : pubLines) {
            String[] f = l.strip().split("\\s+");
            if (f.length >= 2) {
                try {
                    if (Fingerprints.matches(fingerprint, Fingerprints.sha256(java.util.Base64.getDecoder().decode(f[1])))) {
                        return f[0] + " " + f[1];
                    }
                } catch (IllegalArgumentException notBase64) {
                    // not a key line
                }
            }
        }
        return null;
    }

    /** The server's host key (TYPE BASE64) that ROOT's login verified, read from its /etc/ssh/ssh_host_*_key.pub; HOSTKEY when none is. */
    static String verifiedHostKey(VpsConnection root) {
        java.io.ByteArrayOutputStream pubs = new java.io.ByteArrayOutputStream();
        ExecRunner.run(root, RemoteCommand.of("cat /etc/ssh/ssh_host_*_key.pub"), pubs, java.io.OutputStream.nullOutputStream(), null);
        String key = matchingKey(pubs.toString(java.nio.charset.StandardCharsets.UTF_8).lines().toList(), root.hostKeyFingerprint());
        if (key == null) {
            throw new VpsException(VpsException.Kind.HOSTKEY, "none of the server's /etc/ssh/ssh_host_*_key.pub is the host key the login verified",
                    "add the host key to known_hosts yourself (ssh-keyscan, checked against the provider's console)");
        }
        return key;
    }

    private static String quoted(String path) {
        return path.contains(" ") ? "\"" + path + "\"" : path;
    }
}
