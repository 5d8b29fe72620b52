///usr/bin/env jbang "$0" "$@" ; exit $?
//MAIN SetupServer
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto
//DESCRIPTION First contact: from a fresh VPS's root login to a hardened deployer login, proven before the old way in closes.
//SOURCES ../lib/Deps.java
//SOURCES ../lib/util/ColdRun.java ../lib/util/Daemons.java ../lib/util/Durations.java ../lib/util/Environment.java
//SOURCES ../lib/util/Interrupts.java ../lib/util/Json.java ../lib/util/LocalFolders.java ../lib/util/Processes.java
//SOURCES ../lib/util/Sha256.java ../lib/util/ShellQuote.java ../lib/util/VpsException.java
//SOURCES ../lib/util/YamlDocument.java
//SOURCES ../lib/target/HostSpec.java ../lib/target/SshConfig.java ../lib/target/Target.java
//SOURCES ../lib/target/TargetOptions.java ../lib/target/TargetResolver.java
//SOURCES ../lib/ssh/Fingerprints.java ../lib/ssh/HostKeyVerifier.java ../lib/ssh/Identities.java
//SOURCES ../lib/ssh/JumpProxy.java ../lib/ssh/KeyFiles.java ../lib/ssh/Reconnect.java ../lib/ssh/ServerProbe.java
//SOURCES ../lib/ssh/SessionPool.java ../lib/ssh/VpsConnection.java
//SOURCES ../lib/exec/ExecOutcome.java ../lib/exec/ExecRunner.java ../lib/exec/Heartbeat.java ../lib/exec/InputWait.java
//SOURCES ../lib/exec/Interaction.java ../lib/exec/Privilege.java ../lib/exec/PromptRules.java
//SOURCES ../lib/exec/RemoteCommand.java ../lib/exec/RemoteLock.java ../lib/exec/SecretRedactor.java
//SOURCES ../lib/exec/Signals.java ../lib/exec/StartGate.java ../lib/exec/Terminal.java
//SOURCES ../lib/transfer/TransferReport.java ../lib/transfer/TransferResult.java
//SOURCES ../lib/setup/LoginProof.java ../lib/setup/ServerSetup.java ../lib/setup/SetupPlan.java
//SOURCES ../lib/setup/SetupScript.java ../lib/setup/SshClientConfig.java
//SOURCES ../lib/sandbox/Sandbox.java ../lib/sandbox/SandboxServer.java
//SOURCES ../lib/fleet/FleetAware.java ../lib/fleet/FleetHost.java ../lib/fleet/FleetOptions.java
//SOURCES ../lib/fleet/FleetPlan.java ../lib/fleet/FleetResult.java ../lib/fleet/FleetRun.java
//SOURCES ../lib/fleet/HostAddress.java ../lib/fleet/HostOutput.java ../lib/fleet/HostPattern.java
//SOURCES ../lib/fleet/HostResult.java ../lib/fleet/HostSet.java ../lib/fleet/IniInventory.java
//SOURCES ../lib/fleet/Inventory.java ../lib/fleet/InventoryModel.java ../lib/fleet/YamlInventory.java
//SOURCES ../lib/audit/Audit.java ../lib/audit/AuditLog.java
//SOURCES ../lib/policy/Decision.java ../lib/policy/Guard.java ../lib/policy/Policy.java ../lib/policy/PolicyAction.java
//SOURCES ../lib/policy/PolicyOptions.java ../lib/policy/ReadOnlyPrograms.java ../lib/policy/ShellCommands.java
//SOURCES ../lib/cli/Cli.java ../lib/cli/FleetCli.java

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "setup-server", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class, sortOptions = false,
        description = {"Logs in once as root (a key, or a password with --password-auth and VPS_PASSWORD) and brings the server to",
                "a declared state: a login user (-u/--user NAME, default deployer) with your public key and sudo, and sshd with",
                "keys only (PasswordAuthentication no, KbdInteractiveAuthentication no, PermitRootLogin prohibit-password)",
                "through /etc/ssh/sshd_config.d/00-vps-toolkit.conf, checked with sshd -t before sshd reloads it.",
                "Never a lockout: the new login (user, -i KEY, port) is proven with a second connection, and `sudo -n true`",
                "with --sudo nopasswd, while the root session stays open; if that fails, sshd's settings are rolled back.",
                "Safe to run again: a second run has nothing to do. --check changes nothing; --print-script prints the same",
                "steps as one POSIX sh script for the provider's web console (it cannot prove the login: it refuses to turn",
                "password login off until authorized_keys holds the key).",
                "Here -u/--user and -p/--port name the NEW login: -p N moves sshd to port N (the old port stays until the",
                "login is proven on N, then goes). Root is reached on VPS_PORT, the ssh config's Port or 22, else on N."},
        footer = {"", "Examples:",
                "  setup-server -H vps --check",
                "  setup-server --authorize ~/.ssh/id_ed25519.pub --print-script > setup.sh",
                "",
                "First contact with root's password (from a file or VPS_PASSWORD, never an option value), then the new login:",
                "  setup-server -H 203.0.113.10 --password-auth --password-file ~/root-pw --accept-new -i ~/.ssh/id_ed25519 \\",
                "      --write-ssh-config vps",
                "  exec-command -H vps -- sudo -n true"})
class SetupServer implements Callable<Integer> {
    static final String DEFAULT_USER = "deployer";

    @Mixin
    TargetOptions target;

    @Option(names = "--authorize", paramLabel = "FILE.pub", description = "A public key file for the new user's authorized_keys; repeatable (default: the .pub beside -i KEY).")
    List<Path> authorize = new ArrayList<>();

    @Option(names = "--sudo", paramLabel = "nopasswd|password|none", defaultValue = "nopasswd",
            description = "The new user's sudo: without a password (default; what agents need), asking for the user's password, or none.")
    String sudo;

    @Option(names = "--no-root", description = "PermitRootLogin no (default: prohibit-password, root with keys only).")
    boolean noRoot;

    @Option(names = "--firewall", description = "Let the SSH port in with ufw (else nftables), then enable it; neither installed: CONFIG.")
    boolean firewall;

    @Option(names = "--write-ssh-config", paramLabel = "ALIAS", description = "Add a Host ALIAS block for the new login to the ssh config (--ssh-config, else ~/.ssh/config) and its host key to known_hosts.")
    String sshConfigAlias;

    @Option(names = "--check", description = "Say what would change and change nothing (--json: {\"changes\": [...]}, empty when nothing is left).")
    boolean check;

    @Option(names = "--print-script", description = "Print the steps as one POSIX sh script (the key embedded) and connect nowhere.")
    boolean printScript;

    @Mixin
    PolicyOptions policy;

    @Option(names = "--json", description = "Print one JSON object: the envelope with \"changes\" [{\"what\", \"why\"}] and \"login\".")
    boolean json;

    private final PrintStream out;
    private final PrintStream err;
    private final InputStream in;
    /** The run that changes the server, once it began: what it changed before a failure goes in --json's "changes". */
    private ServerSetup setupRun;

    SetupServer() {
        this(System.out, System.err, System.in);
    }

    SetupServer(PrintStream out, PrintStream err, InputStream in) {
        this.out = out;
        this.err = err;
        this.in = in;
    }

    public static void main(String... args) {
        Cli.main((out, err, in) -> new SetupServer(out, err, in), args);
    }

    @Override
    public Integer call() {
        long start = System.nanoTime();
        String newUser = target.user != null ? target.user : DEFAULT_USER;
        Integer port = target.port;
        target.user = "root";   // -u and -p name the login to create: first contact is always root's, on sshd's present port
        target.port = null;
        String host = null;
        try {
            if (sshConfigAlias != null) {
                SshClientConfig.checkAlias(sshConfigAlias);
                if (!printScript && !check) {
                    SshClientConfig.create(SshClientConfig.file(target.sshConfig));   // the file to write may be new; the login reads it too
                }
            }
            if (printScript) {
                out.print(SetupScript.render(plan(newUser, proveWithFromOptions(), port)));
                out.flush();
                return 0;
            }
            Target root = target.resolve(err);
            host = root.host();
            if (root.identities().isEmpty()) {
                throw VpsException.config("no key to prove the new login with", "give -i KEY (or VPS_KEY): the private key whose .pub the new user gets");
            }
            SetupPlan plan = plan(newUser, root.identities(), port);
            Target login = LoginProof.newLogin(root, null, plan.user(), plan.port() != null ? plan.port() : root.port());
            Map<String, Object> result = check ? checkOnly(root, plan) : setUp(root, plan, login);
            if (json) {
                Map<String, Object> r = Json.envelope(host, "setup-server", "exited", 0, elapsedMs(start), null);
                r.putAll(result);
                out.println(Json.write(r));
            }
            out.flush();
            return 0;
        } catch (VpsException e) {
            if (json) {
                Map<String, Object> r = Json.failure(host, "setup-server", e, elapsedMs(start));
                r.put("changes", setupRun == null ? List.of() : setupRun.made().stream().map(Json::fields).toList());
                out.println(Json.write(r));
            }
            return Cli.fail(e, err);
        }
    }

    /** --check: the changes a run would make; nothing changes. Reading facts is allowed in every policy mode. */
    private Map<String, Object> checkOnly(Target root, SetupPlan plan) {
        policy.check(root, target.inventoryNames, PolicyAction.of(PolicyAction.Kind.EXEC, List.of(), false, "setup-server --check"), in, err);
        Audit audit = Audit.start("setup").target(root).command(describe(plan) + " --check");
        try (VpsConnection c = connect(root, plan, audit)) {
            audit.connection(c);
            List<SetupScript.Change> changes = new ServerSetup(c, plan, json ? null : out).check(true);
            audit.put("changes", changes.size()).write("exited", 0, null, err);
            if (!json) {
                out.println(changes.isEmpty() ? "nothing to change" : changes.size() + " change(s) to make; nothing was changed (--check)");
            }
            return Map.of("changes", changes.stream().map(Json::fields).toList());
        } catch (VpsException e) {
            audit.put("error", e.kind.name()).write("failed", e.exitCode(), null, err);
            throw e;
        }
    }

    private Map<String, Object> setUp(Target root, SetupPlan plan, Target login) {
        Audit audit = Audit.start("setup").target(root).command(describe(plan));
        try {
            policy.check(root, target.inventoryNames, PolicyAction.of(PolicyAction.Kind.SETUP, List.of(), true, describe(plan)), in, err);
        } catch (VpsException refused) {
            audit.write("refused", refused.exitCode(), null, err);
            throw refused;
        }
        try (VpsConnection c = connect(root, plan, audit)) {
            audit.connection(c);
            ServerSetup setup = new ServerSetup(c, plan, json ? null : out);
            setupRun = setup;
            List<SetupScript.Change> changes = setup.check(false);
            boolean proven = false;
            if (!changes.isEmpty()) {
                Target pinned = LoginProof.newLogin(root, c.hostKeyFingerprint(), plan.user(), login.port());
                changes = setup.apply(() -> {
                    LoginProof.prove(pinned, plan.sudo() == SetupPlan.Sudo.NOPASSWD, target.verbose ? err : null);
                    if (!json) {
                        out.println("proven: " + plan.user() + "@" + root.host() + ":" + login.port() + " logs in with " + login.identities().get(0)
                                + (plan.sudo() == SetupPlan.Sudo.NOPASSWD ? " and sudo -n works" : "") + ", while the root session stays open");
                    }
                });
                proven = true;
            } else if (!json) {
                out.println("nothing to do: the server is already in this state");
            }
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("changes", changes.stream().map(Json::fields).toList());
            result.put("login", Map.of("user", plan.user(), "port", login.port(), "proven", proven));
            if (sshConfigAlias != null) {
                result.put("sshConfig", writeSshConfig(c, login));
            }
            audit.put("changes", changes.size()).write("exited", 0, null, err);
            return result;
        } catch (VpsException e) {
            audit.put("error", e.kind.name()).write("failed", e.exitCode(), null, err);
            throw e;
        }
    }

    /** Root's session (or the new user's with sudo -n standing in for it; see ServerSetup.connect); a login that fails is audited. */
    private VpsConnection connect(Target root, SetupPlan plan, Audit audit) {
        try {
            return ServerSetup.connect(root, plan, target.verbose ? err : null);
        } catch (VpsException notIn) {
            audit.put("error", notIn.kind.name()).write("failed", notIn.exitCode(), null, err);
            throw notIn;
        }
    }

    /** --write-ssh-config: the Host block and the host key the root login verified (read from the server's .pub files). */
    private Map<String, Object> writeSshConfig(VpsConnection root, Target login) {
        String key = SshClientConfig.verifiedHostKey(root);
        Path config = SshClientConfig.file(target.sshConfig);
        boolean block = SshClientConfig.writeHostBlock(config, sshConfigAlias, login);
        boolean known = SshClientConfig.recordHostKey(login, key);
        if (!json) {
            out.println((block ? "wrote" : "already there:") + " Host " + sshConfigAlias + " in " + config
                    + (known ? "; its host key in " : "; host key already in ") + login.knownHosts());
            out.println("next: exec-command -H " + sshConfigAlias + " -- sudo -n true");
        }
        return Map.of("alias", sshConfigAlias, "file", config.toString(), "written", block, "knownHosts", login.knownHosts().toString());
    }

    private SetupPlan plan(String user, List<Path> proveWith, Integer port) {
        SetupPlan.Sudo mode;
        try {
            mode = SetupPlan.Sudo.valueOf(sudo.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw VpsException.config("--sudo " + sudo + " is not nopasswd, password or none", "give --sudo nopasswd (the default), password or none");
        }
        List<Path> files = !authorize.isEmpty() ? authorize : proveWith.stream().limit(1).map(k -> Path.of(k + ".pub")).toList();
        if (files.isEmpty()) {
            throw VpsException.config("no key to authorize and none to prove the new login with",
                    "give -i KEY (its KEY.pub is authorized and the new login is proven with KEY), or --authorize FILE.pub");
        }
        List<String> keys = new ArrayList<>();
        for (Path f : files) {
            try {
                keys.addAll(SetupPlan.keyLines(Files.readString(LocalFolders.expandHome(f.toString()))));
            } catch (IOException e) {
                throw VpsException.config("cannot read the public key " + f + ": " + VpsException.reason(e),
                        "give --authorize FILE.pub (default: the .pub beside -i KEY)");
            }
        }
        return new SetupPlan(user, keys, mode, SetupPlan.rootLogin(noRoot), port, firewall);
    }

    /** --print-script connects nowhere: the key to authorize comes from --authorize, else -i or VPS_KEY. */
    private List<Path> proveWithFromOptions() {
        if (!target.identities.isEmpty()) {
            return target.identities;
        }
        String key = Environment.get("VPS_KEY");
        return key == null ? List.of() : List.of(LocalFolders.expandHome(key));
    }

    private String describe(SetupPlan plan) {
        return "setup-server --user " + plan.user() + " --sudo " + plan.sudo().word() + (noRoot ? " --no-root" : "")
                + (plan.port() != null ? " --port " + plan.port() : "") + (firewall ? " --firewall" : "");
    }

    private static long elapsedMs(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }
}
