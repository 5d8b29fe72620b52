import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * setup-server's work over one root connection, which stays open throughout: the old way in. {@link #check}
 * runs the script in check mode; {@link #apply} runs it in apply mode (the old port kept), proves the new
 * login with a second, separate connection, and only then brings the server to the end state; when the proof
 * fails, sshd's settings are rolled back and the proof's failure is thrown.
 */
final class ServerSetup {
    /** A whole run of the script, which waits for sshd to come back after a reload: minutes at most. */
    static final Duration SCRIPT_TIMEOUT = Duration.ofMinutes(5);

    private final VpsConnection root;
    /** How the script becomes root there: it is root already, or sudo -n (the new user's, on a run after the first: see connect). */
    private final Privilege asRoot;
    private final String script;
    private final List<SetupScript.Change> made = new ArrayList<>();
    /** Where the script's lines go as each mode ends (text output), or null (--json). */
    private final PrintStream progress;

    ServerSetup(VpsConnection root, SetupPlan plan, PrintStream progress) {
        this.root = root;
        this.asRoot = "root".equals(root.target.user()) ? Privilege.NONE : Privilege.sudo(null, null);
        this.script = SetupScript.render(plan);
        this.progress = progress;
    }

    /**
     * Root's own login (never a warm one: it must outlive sshd's reload), on sshd's port, else on the new port a run
     * before moved sshd to. Once root's password is refused (a run before turned it off), the new user's login with
     * sudo -n stands in for it. LOG: the protocol log, or null.
     */
    static VpsConnection connect(Target root, SetupPlan plan, PrintStream log) {
        Target at = root;
        try {
            return VpsConnection.connect(at, log);
        } catch (VpsException refused) {
            if (refused.kind == VpsException.Kind.NETWORK && plan.port() != null && plan.port() != root.port()) {
                at = LoginProof.onPort(root, plan.port());
                try {
                    return VpsConnection.connect(at, log);
                } catch (VpsException stillRefused) {
                    refused = stillRefused;
                }
            }
            if (refused.kind != VpsException.Kind.AUTH || plan.sudo() != SetupPlan.Sudo.NOPASSWD) {
                throw refused;
            }
            try {
                return VpsConnection.connect(LoginProof.newLogin(at, null, plan.user(), at.port()), log);
            } catch (VpsException alsoRefused) {
                throw refused;   // root's refusal is the one to explain
            }
        }
    }

    /** What a run would change; SHOW: its lines go to the progress stream too (--check), else they stay quiet. */
    List<SetupScript.Change> check(boolean show) {
        return SetupScript.changes(run(SetupScript.CHECK, show));
    }

    /** Applies the plan, proves the new login with PROOF before the old way in closes, and returns every change made. */
    List<SetupScript.Change> apply(Runnable proof) {
        made.addAll(SetupScript.changes(run(SetupScript.APPLY)));
        try {
            proof.run();
        } catch (VpsException failed) {
            throw rolledBack(failed);
        }
        made.addAll(SetupScript.changes(run(SetupScript.ALL)));
        return List.copyOf(made);
    }

    /** What {@link #apply} changed so far, rollback included: what a failure leaves on the server (--json reports it). */
    List<SetupScript.Change> made() {
        return List.copyOf(made);
    }

    /** The proof's FAILURE, once sshd's settings are back as they were (or saying they could not be put back). */
    private VpsException rolledBack(VpsException failure) {
        String undone;
        try {
            made.addAll(SetupScript.changes(run(SetupScript.ROLLBACK)));
            undone = "sshd's settings were rolled back: the old way in works as before";
        } catch (VpsException e) {
            undone = "the rollback failed too (" + e.getMessage() + "): keep this root session's server console at hand";
        }
        VpsException.Kind kind = failure.kind == VpsException.Kind.REMOTE ? VpsException.Kind.REMOTE : VpsException.Kind.AUTH;
        return new VpsException(kind, "the new login could not be proven: " + failure.getMessage() + "; " + undone,
                "check that --authorize holds the public key of the -i KEY you prove with (the user, the key and sudo were kept),"
                        + " then run setup-server again; " + failure.hint);
    }

    /** Runs the script in MODE as root; its output, or a failure with the reason it printed. */
    private String run(String mode) {
        return run(mode, true);
    }

    private String run(String mode, boolean show) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        RemoteCommand own = RemoteCommand.of(SetupScript.inMode(script, mode));
        RemoteCommand bounded = new RemoteCommand(own.command(), null, java.util.Map.of(), null, asRoot, false, SCRIPT_TIMEOUT,
                own.runId(), null, true, false);
        ExecOutcome o = ExecRunner.run(root, bounded, out, err, java.io.InputStream.nullInputStream());
        String said = out.toString(StandardCharsets.UTF_8);
        String complaint = err.toString(StandardCharsets.UTF_8);
        if (progress != null && show) {
            progress.print(said);
            progress.print(complaint);
            progress.flush();
        }
        if (o.timedOut()) {
            throw new VpsException(VpsException.Kind.TIMEOUT, "setup step " + mode + " did not end within " + Durations.human(SCRIPT_TIMEOUT),
                    "run setup-server --check to see what is left; the server's console shows what hangs");
        }
        if (o.processExitCode() != 0) {
            String why = SetupScript.error(complaint);
            String what = "setup step " + mode + " failed: " + (why != null ? why : "exit " + o.processExitCode() + " " + complaint.strip());
            if (o.processExitCode() == SetupScript.EXIT_REQUEST) {
                throw VpsException.config(what, "change the request as the message says, then run setup-server again");
            }
            throw new VpsException(VpsException.Kind.REMOTE, what,
                    "nothing after that step ran; fix what it names on the server (as root), then run setup-server again");
        }
        return said;
    }
}
