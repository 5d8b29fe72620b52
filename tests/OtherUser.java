import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Another local account, "vps-other", for tests that show what a different user on this machine
 * can and cannot reach. NEEDS ROOT: it is created once with useradd (a system account without a
 * home or a login shell) and commands run as it through setpriv. When the tests do not run as
 * root, a test that uses it is skipped on a workstation and fails in CI (CI=true), where the
 * check must not silently go missing.
 */
final class OtherUser {
    static final String NAME = "vps-other";
    static final long TIMEOUT_SECONDS = 30;

    record Result(int exit, String output) {
        @Override
        public String toString() {
            return "exit " + exit + ": " + output;
        }
    }

    private static Integer uid;

    private OtherUser() {}

    /** The account's uid, creating the account the first time (idempotent, also across runs). */
    static synchronized int uid() {
        if (uid == null) {
            requireRoot();
            Result known = runAsRoot("id", "-u", NAME);
            if (known.exit() != 0) {
                Result added = runAsRoot("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", NAME);
                known = runAsRoot("id", "-u", NAME);   // a parallel run may have added it first: only the end state counts
                if (known.exit() != 0) {
                    fail("cannot create the local user " + NAME + ": " + added);
                }
            }
            uid = Integer.parseInt(known.output().strip());
        }
        return uid;
    }

    /** Runs COMMAND as the other user (its uid and group, no supplementary groups), for at most TIMEOUT_SECONDS. */
    static Result run(String... command) {
        int id = uid();
        List<String> argv = new ArrayList<>(List.of("setpriv", "--reuid=" + id, "--regid=" + gid(), "--clear-groups", "--"));
        argv.addAll(List.of(command));
        return runAsRoot(argv.toArray(String[]::new));
    }

    private static int gid() {
        return Integer.parseInt(runAsRoot("id", "-g", NAME).output().strip());
    }

    private static void requireRoot() {
        if (new com.sun.security.auth.module.UnixSystem().getUid() == 0) {
            return;
        }
        String why = "the tests that use another local user (" + NAME + ") need root to create it and run commands as it";
        if ("true".equals(System.getenv("CI"))) {
            fail(why + "; CI must run them as root");
        }
        Assumptions.abort(why);
    }

    /** Output goes to a file, not a pipe: a full pipe could block the command until the timeout. */
    private static Result runAsRoot(String... argv) {
        java.nio.file.Path output = null;
        try {
            output = java.nio.file.Files.createTempFile("vps-other", ".out");
            Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(output.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail(String.join(" ", argv) + " did not end within " + TIMEOUT_SECONDS + " s");
            }
            return new Result(p.exitValue(), java.nio.file.Files.readString(output, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return fail("cannot run " + argv[0] + ": " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return fail("interrupted while running " + argv[0]);
        } finally {
            if (output != null) {
                output.toFile().delete();
            }
        }
    }
}
