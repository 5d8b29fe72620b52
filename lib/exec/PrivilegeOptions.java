import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * --sudo, --sudo-user, --sudo-password-file and --su, shared by exec-command and job start. The
 * password is never an option value: it comes from --sudo-password-file, or VPS_SUDO_PASSWORD /
 * VPS_SU_PASSWORD in the environment or .env (looked up as the target's secrets are).
 */
final class PrivilegeOptions {
    @Option(names = "--sudo", description = "Run as root with sudo: sudo -n, or with the password in VPS_SUDO_PASSWORD (environment or .env) or --sudo-password-file when sudo asks for one.")
    boolean sudo;

    @Option(names = "--sudo-user", paramLabel = "USER", description = "Run as USER with sudo (implies --sudo).")
    String sudoUser;

    @Option(names = "--sudo-password-file", paramLabel = "FILE", description = "Read the sudo password (the login user's own) from FILE instead of VPS_SUDO_PASSWORD.")
    Path passwordFile;

    @Option(names = "--su", description = "Run as root with su, for servers without sudo: root's password comes from VPS_SU_PASSWORD (environment or .env).")
    boolean su;

    /** What the command runs as, for LOGIN on TARGET (see {@link #choose}). */
    /** Whether --sudo, --sudo-user or --su was given (root's own login needs neither, but asked for one all the same). */
    boolean requested() {
        return sudo || sudoUser != null || su;
    }

    Privilege privilege(TargetOptions target, String login) {
        if (passwordFile != null && sudoUser == null && !sudo) {
            throw VpsException.config("--sudo-password-file is only for --sudo or --sudo-user", "add --sudo, or leave the file out");
        }
        return choose(sudo, sudoUser, su, login, name -> new TargetResolver(target, System.err)
                .secretSetting(name, name.equals("VPS_SUDO_PASSWORD") ? passwordFile : null));
    }

    /**
     * What a command asked to run with SUDO (to SUDO_USER, null: root) or SU runs as, for the login
     * user LOGIN: nothing to do for root itself (sudo to another user aside). SECRETS looks up
     * VPS_SUDO_PASSWORD or VPS_SU_PASSWORD (null when unset), and only when sudo or su is asked for.
     */
    static Privilege choose(boolean sudo, String sudoUser, boolean su, String login, java.util.function.Function<String, String> secrets) {
        boolean viaSudo = sudo || sudoUser != null;
        if (viaSudo && su) {
            throw VpsException.config("--su and --sudo (or --sudo-user) both given", "choose one: --sudo where sudo is installed, --su where it is not");
        }
        boolean root = "root".equals(login);
        String runAs = sudoUser == null || sudoUser.equals("root") ? null : sudoUser;
        if (su) {
            return root ? Privilege.NONE : Privilege.su(required(secrets.apply("VPS_SU_PASSWORD")));
        }
        if (!viaSudo || (root && runAs == null)) {
            return Privilege.NONE;
        }
        return Privilege.sudo(runAs, root ? null : secrets.apply("VPS_SUDO_PASSWORD"));
    }

    private static String required(String password) {
        if (password == null) {
            throw VpsException.config("--su needs root's password and VPS_SU_PASSWORD is not set",
                    "set VPS_SU_PASSWORD in the environment or .env (never on the command line), or use --sudo where sudo is installed");
        }
        return password;
    }
}
