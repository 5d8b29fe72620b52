import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The new way in, proven before the old one closes: a second, separate login as the new USER on PORT with
 * the identities the person gave (no agent, no password), checked against the host key the root login
 * verified; with nopasswd sudo, `sudo -n true` must succeed there too.
 */
final class LoginProof {
    private LoginProof() {}

    /** ROOT's target as the new login: USER on PORT, keys only, pinned to HOST_KEY (the fingerprint root's login verified). */
    static Target newLogin(Target root, String hostKey, String user, int port) {
        Target.Credentials keysOnly = new Target.Credentials(root.identities(), root.keyPassphrase(), false, null, false, null);
        Target.HostKeyPolicy pinned = new Target.HostKeyPolicy(root.knownHosts(), hostKey, false, root.hostKeys().alias());
        return new Target(root.alias(), root.host(), port, user, keysOnly, pinned, root.connectTimeout(), root.aliveInterval(),
                root.aliveCountMax(), root.algorithms(), root.jumps(), root.origins(), List.of());
    }

    /** T reached on PORT instead. */
    static Target onPort(Target t, int port) {
        return new Target(t.alias(), t.host(), port, t.user(), t.credentials(), t.hostKeys(), t.connectTimeout(), t.aliveInterval(),
                t.aliveCountMax(), t.algorithms(), t.jumps(), t.origins(), t.notes());
    }

    /** Logs in as LOGIN and, when SUDO, runs `sudo -n true`; throws AUTH (or the login's own failure) when either fails. */
    static void prove(Target login, boolean sudo, PrintStream log) {
        try (VpsConnection c = VpsConnection.connect(login, log)) {
            if (!sudo) {
                return;
            }
            ByteArrayOutputStream said = new ByteArrayOutputStream();
            ExecOutcome o = ExecRunner.run(c, RemoteCommand.of("sudo -n true"), said, said, java.io.InputStream.nullInputStream());
            if (o.processExitCode() != 0) {
                throw new VpsException(VpsException.Kind.AUTH, login.user() + " logs in but `sudo -n true` fails: "
                        + said.toString(StandardCharsets.UTF_8).strip(), "--sudo nopasswd writes /etc/sudoers.d/vps-toolkit-" + login.user()
                        + "; check that sudo reads /etc/sudoers.d (#includedir in /etc/sudoers)");
            }
        }
    }
}
