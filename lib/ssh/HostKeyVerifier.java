import com.jcraft.jsch.HostKey;
import com.jcraft.jsch.HostKeyRepository;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.JSchRevokedHostKeyException;
import com.jcraft.jsch.Session;
import com.jcraft.jsch.UserInfo;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Strict host-key checking for one connection: known_hosts (keys, @cert-authority, @revoked), a
 * pinned fingerprint, or trust on first use (--accept-new). Wraps JSch's known_hosts parser and
 * remembers why it refused a key, so the error can name both fingerprints and the known_hosts line.
 * A pin names the server's own key, also when it presents a host certificate: then it is the key
 * inside the certificate (the one that signs the key exchange), never the certificate authority.
 */
final class HostKeyVerifier implements HostKeyRepository {
    enum Verdict { UNCHECKED, KNOWN, CERTIFIED, PINNED, ACCEPTED_NEW, UNKNOWN, CHANGED, PIN_MISMATCH, REVOKED }

    private final HostKeyRepository knownHosts;
    private final Path knownHostsFile;
    private final String pin;
    private final boolean acceptNew;

    volatile Verdict verdict = Verdict.UNCHECKED;
    volatile String offeredFingerprint;
    volatile String offeredType;
    volatile String knownFingerprint;
    volatile String knownLine;
    volatile String checkedName;
    /** Whether the server presented a host certificate. */
    volatile boolean certificateOffered;

    private HostKeyVerifier(JSch jsch, Path knownHostsFile, String pin, boolean acceptNew, String hostKeyName) throws JSchException {
        this.knownHostsFile = knownHostsFile;
        this.pin = pin;
        this.acceptNew = acceptNew;
        this.checkedName = hostKeyName;
        if (Files.isRegularFile(knownHostsFile)) {
            jsch.setKnownHosts(knownHostsFile.toString());
        }
        this.knownHosts = jsch.getHostKeyRepository();
    }

    /** Makes SESSION (of JSCH) check its host key as TARGET's settings say; the verifier then tells how it went. */
    static HostKeyVerifier install(JSch jsch, Session session, Target target) throws JSchException {
        HostKeyVerifier verifier = new HostKeyVerifier(jsch, target.knownHosts(), target.pinnedHostKey(), target.acceptNew(), target.hostKeyName());
        session.setHostKeyRepository(verifier);
        session.setConfig("StrictHostKeyChecking", "yes");
        // A certificate no trusted CA vouches for is checked as the plain key inside it (as OpenSSH does); pins rely on that.
        session.setConfig("host_certificate_to_key_fallback", "yes");
        if (target.hostKeys().alias() != null) {
            session.setHostKeyAlias(target.hostKeys().alias());
        }
        return verifier;
    }

    @Override
    public int check(String host, byte[] key) {
        checkedName = host;
        offeredFingerprint = Fingerprints.sha256(key);
        HostKey offered;
        try {
            offered = new HostKey(host, key);
        } catch (JSchException e) {
            verdict = Verdict.UNKNOWN;
            return NOT_INCLUDED;
        }
        offeredType = offered.getType();
        if (revoked(offered.getKey())) {
            verdict = Verdict.REVOKED;
            return NOT_INCLUDED;
        }
        int known = knownHosts.check(host, key);
        if (known == CHANGED && host.startsWith("[") && !hasEntryFor(host)) {
            // JSch falls back from [host]:port to the plain host's entry: a different sshd on another
            // port of the same machine is a new key, not a changed one (as OpenSSH sees it).
            known = NOT_INCLUDED;
        }
        if (known == CHANGED) {
            // A changed key is refused in every mode, pinned or not: that is the attack case.
            rememberKnownKey(host, offeredType);
            verdict = Verdict.CHANGED;
            return CHANGED;
        }
        if (pin != null) {
            if (Fingerprints.matches(pin, offeredFingerprint)) {
                verdict = Verdict.PINNED;
                return OK;
            }
            verdict = Verdict.PIN_MISMATCH;
            return NOT_INCLUDED;
        }
        if (known == OK) {
            verdict = Verdict.KNOWN;
            return OK;
        }
        if (acceptNew) {
            record(offered);
            verdict = Verdict.ACCEPTED_NEW;
            return OK;
        }
        verdict = Verdict.UNKNOWN;
        return NOT_INCLUDED;
    }

    /**
     * Appends one line under an exclusive lock so that racing first connections never corrupt the file.
     * The file lock serializes processes; threads of one JVM (mcp-server, the tests) queue on the class
     * first, as a second lock() on the same file from one JVM throws OverlappingFileLockException.
     */
    private void record(HostKey key) {
        synchronized (HostKeyVerifier.class) {
            appendUnderFileLock(key);
        }
    }

    private void appendUnderFileLock(HostKey key) {
        String line = key.getHost() + " " + key.getType() + " " + key.getKey() + "\n";
        try {
            Files.createDirectories(knownHostsFile.toAbsolutePath().getParent());
            try (FileChannel ch = FileChannel.open(knownHostsFile, StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE, StandardOpenOption.APPEND);
                 FileLock ignored = ch.lock()) {
                String prefix = endsWithNewline(ch.size()) ? "" : "\n";
                ch.write(java.nio.ByteBuffer.wrap((prefix + line).getBytes(StandardCharsets.UTF_8)));
            }
        } catch (IOException e) {
            throw VpsException.config("cannot record the host key in " + knownHostsFile + ": " + VpsException.reason(e),
                    "make that file writable, or pin the key with --host-key " + offeredFingerprint);
        }
    }

    /** Only the last byte is read: the file may be long, and we hold its lock. */
    private boolean endsWithNewline(long size) throws IOException {
        if (size == 0) {
            return true;
        }
        try (FileChannel read = FileChannel.open(knownHostsFile, StandardOpenOption.READ)) {
            java.nio.ByteBuffer last = java.nio.ByteBuffer.allocate(1);
            read.read(last, size - 1);
            return last.get(0) == '\n';
        }
    }

    private boolean hasEntryFor(String host) {
        HostKey[] entries = knownHosts.getHostKey(host, null);
        if (entries == null) {
            return false;
        }
        for (HostKey k : entries) {
            if (k.getHost() != null && (k.getHost().equals(host) || k.getHost().contains(host + ",") || k.getHost().endsWith("," + host)
                    || k.getHost().startsWith("|1|"))) {
                return true;
            }
        }
        return false;
    }

    /**
     * A key on an @revoked line is refused whatever else says (JSch does not apply such lines to
     * plain keys). The line's host patterns are not consulted: a revoked key is revoked everywhere.
     */
    private boolean revoked(String base64Key) {
        if (!Files.isRegularFile(knownHostsFile)) {
            return false;
        }
        try {
            List<String> lines = Files.readAllLines(knownHostsFile, StandardCharsets.UTF_8);
            for (int i = 0; i < lines.size(); i++) {
                String[] f = lines.get(i).trim().split("\\s+");
                if (f.length >= 4 && f[0].equals("@revoked") && f[3].equals(base64Key)) {
                    knownLine = knownHostsFile + ":" + (i + 1);
                    return true;
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    private void rememberKnownKey(String host, String type) {
        HostKey[] keys = knownHosts.getHostKey(host, type);
        if (keys == null || keys.length == 0) {
            return;
        }
        try {
            byte[] blob = java.util.Base64.getDecoder().decode(keys[0].getKey());
            knownFingerprint = Fingerprints.sha256(blob);
            knownLine = locate(keys[0].getKey());
        } catch (IllegalArgumentException e) {
            knownFingerprint = "?";
        }
    }

    private String locate(String base64Key) {
        try {
            List<String> lines = Files.readAllLines(knownHostsFile, StandardCharsets.UTF_8);
            for (int i = 0; i < lines.size(); i++) {
                if (lines.get(i).contains(base64Key)) {
                    return knownHostsFile + ":" + (i + 1);
                }
            }
        } catch (IOException ignored) {
            // the message still carries both fingerprints
        }
        return knownHostsFile.toString();
    }

    /** The HOSTKEY error for a handshake that failed with CAUSE, or null when the host key was not the problem. */
    VpsException failure(JSchException cause) {
        if (verdict != Verdict.REVOKED && cause instanceof JSchRevokedHostKeyException) {
            // JSch refused the certificate itself: the key in it, or the CA that signed it, is @revoked.
            verdict = Verdict.REVOKED;
            knownLine = knownHostsFile.toString();
        }
        String name = checkedName;
        return switch (verdict) {
            case UNKNOWN -> new VpsException(VpsException.Kind.HOSTKEY,
                    "the host key of " + name + " is not known (" + offeredType + " " + offeredFingerprint
                            + "); nothing in " + knownHostsFile,
                    "check that fingerprint with the server's owner (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on it), then rerun with --accept-new to record it, or pin it with --host-key " + offeredFingerprint);
            case CHANGED -> new VpsException(VpsException.Kind.HOSTKEY,
                    "the host key of " + name + " has CHANGED: known_hosts has " + knownFingerprint + " (" + knownLine
                            + ") but the server offered " + offeredType + " " + offeredFingerprint
                            + "; this can be an attack, so the connection was refused",
                    "if the server was reinstalled or its keys rotated, confirm the new fingerprint with its owner, then remove the old entry: ssh-keygen -R '"
                            + name + "' -f " + knownHostsFile);
            case REVOKED -> new VpsException(VpsException.Kind.HOSTKEY,
                    (offeredFingerprint == null
                            ? "the host certificate of " + name + " holds, or is signed by, a key marked @revoked in " + knownLine
                            : "the host key of " + name + " (" + offeredType + " " + offeredFingerprint + ") is marked @revoked at " + knownLine)
                            + "; a stolen key may be impersonating the server",
                    "do not connect; ask the server's owner for its new host key");
            case PIN_MISMATCH -> new VpsException(VpsException.Kind.HOSTKEY,
                    "the host key of " + name + " is " + offeredType + " " + offeredFingerprint
                            + (certificateOffered ? " (in the host certificate it presented)" : "") + ", not the pinned " + pin,
                    "check the --host-key / VPS_HOST_KEY value with the server's owner; the server may have been reinstalled"
                            + (certificateOffered ? "; a pin names the server's own key, not the certificate authority that signed its certificate" : ""));
            default -> null;
        };
    }

    // The rest only delegates to JSch's known_hosts repository.
    @Override
    public void add(HostKey hostkey, UserInfo ui) {
        knownHosts.add(hostkey, ui);
    }

    @Override
    public void remove(String host, String type) {
        knownHosts.remove(host, type);
    }

    @Override
    public void remove(String host, String type, byte[] key) {
        knownHosts.remove(host, type, key);
    }

    @Override
    public String getKnownHostsRepositoryID() {
        return knownHosts.getKnownHostsRepositoryID();
    }

    /**
     * JSch reads every entry only to validate a host certificate (its CA and @revoked lines), and
     * calls {@link #check} with the key inside the certificate only when no trusted CA accepts it.
     * So: with a pin, the @cert-authority lines are left out, and the pin decides in check. And each
     * @revoked key is also offered as a revoked CA, so that JSch refuses a certificate it signed even
     * when no @cert-authority line names it (OpenSSH does; JSch only refuses a revoked CA it trusts).
     */
    @Override
    public HostKey[] getHostKey() {
        certificateOffered = true;
        if (verdict == Verdict.UNCHECKED && pin == null) {
            verdict = Verdict.CERTIFIED;   // stays unless check() or a revocation judges otherwise
        }
        HostKey[] entries = knownHosts.getHostKey();
        List<HostKey> seen = new ArrayList<>();
        for (HostKey entry : entries == null ? new HostKey[0] : entries) {
            if (pin == null || !"@cert-authority".equals(entry.getMarker())) {
                seen.add(entry);
            }
            HostKey revokedAuthority = "@revoked".equals(entry.getMarker()) ? asRevokedAuthority(entry) : null;
            if (revokedAuthority != null) {
                seen.add(revokedAuthority);
            }
        }
        return seen.toArray(HostKey[]::new);
    }

    /** A CA line for every host with the revoked key: JSch sees it as a revoked CA, never as a trusted one. */
    private static HostKey asRevokedAuthority(HostKey revoked) {
        try {
            return new HostKey("@cert-authority", "*", HostKey.GUESS, Base64.getDecoder().decode(revoked.getKey()), "revoked");
        } catch (JSchException | RuntimeException unusable) {
            return null;   // a @revoked certificate line: it cannot sign anything
        }
    }

    @Override
    public HostKey[] getHostKey(String host, String type) {
        return knownHosts.getHostKey(host, type);
    }
}
