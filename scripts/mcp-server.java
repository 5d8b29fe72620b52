///usr/bin/env jbang "$0" "$@" ; exit $?
//MAIN McpServer
//JAVA_OPTIONS -XX:+UseSerialGC -Xshare:auto
//DESCRIPTION The toolkit as MCP tools over stdio (exec, files, jobs, sessions, diagnose-auth), one warm SSH connection per target.
//SOURCES ../lib/Deps.java ../lib/McpDeps.java
//SOURCES ../lib/util/ByteSizes.java ../lib/util/ColdRun.java ../lib/util/Daemons.java ../lib/util/Durations.java
//SOURCES ../lib/util/Environment.java ../lib/util/Interrupts.java ../lib/util/Json.java ../lib/util/LocalFolders.java
//SOURCES ../lib/util/Processes.java ../lib/util/ServerIds.java ../lib/util/Sha256.java ../lib/util/ShellQuote.java
//SOURCES ../lib/util/VpsException.java ../lib/util/YamlDocument.java
//SOURCES ../lib/target/HostSpec.java ../lib/target/SshConfig.java ../lib/target/Target.java
//SOURCES ../lib/target/TargetOptions.java ../lib/target/TargetResolver.java
//SOURCES ../lib/ssh/Fingerprints.java ../lib/ssh/HostKeyVerifier.java ../lib/ssh/Identities.java
//SOURCES ../lib/ssh/JumpProxy.java ../lib/ssh/KeyFiles.java ../lib/ssh/Reconnect.java ../lib/ssh/ServerProbe.java
//SOURCES ../lib/ssh/SessionPool.java ../lib/ssh/VpsConnection.java
//SOURCES ../lib/exec/ExecOutcome.java ../lib/exec/ExecRunner.java ../lib/exec/Heartbeat.java ../lib/exec/InputWait.java
//SOURCES ../lib/exec/Interaction.java ../lib/exec/OutputCapture.java ../lib/exec/Privilege.java
//SOURCES ../lib/exec/PrivilegeOptions.java ../lib/exec/PromptRules.java ../lib/exec/RemoteCommand.java
//SOURCES ../lib/exec/RemoteLock.java ../lib/exec/SecretRedactor.java ../lib/exec/Signals.java
//SOURCES ../lib/exec/StartGate.java ../lib/exec/Terminal.java
//SOURCES ../lib/transfer/BackgroundDigest.java ../lib/transfer/Downloader.java ../lib/transfer/LocalTree.java
//SOURCES ../lib/transfer/PosixModes.java ../lib/transfer/RemoteFs.java ../lib/transfer/RemotePaths.java
//SOURCES ../lib/transfer/SftpWriter.java ../lib/transfer/StripedUpload.java ../lib/transfer/TransferPlan.java
//SOURCES ../lib/transfer/TransferProgress.java ../lib/transfer/TransferReport.java ../lib/transfer/TransferResult.java
//SOURCES ../lib/transfer/Uploader.java
//SOURCES ../lib/jobs/DetachedExec.java ../lib/jobs/Jobs.java
//SOURCES ../lib/sessions/Sessions.java
//SOURCES ../lib/diagnose/AuthDiagnosis.java ../lib/diagnose/FixScript.java
//SOURCES ../lib/sandbox/Sandbox.java ../lib/sandbox/SandboxServer.java
//SOURCES ../lib/fleet/FleetAware.java ../lib/fleet/FleetHost.java ../lib/fleet/FleetOptions.java
//SOURCES ../lib/fleet/FleetPlan.java ../lib/fleet/FleetResult.java ../lib/fleet/FleetRun.java
//SOURCES ../lib/fleet/HostAddress.java ../lib/fleet/HostOutput.java ../lib/fleet/HostPattern.java
//SOURCES ../lib/fleet/HostResult.java ../lib/fleet/HostSet.java ../lib/fleet/IniInventory.java
//SOURCES ../lib/fleet/Inventory.java ../lib/fleet/InventoryModel.java ../lib/fleet/YamlInventory.java
//SOURCES ../lib/audit/Audit.java ../lib/audit/AuditLog.java
//SOURCES ../lib/policy/Decision.java ../lib/policy/DryRun.java ../lib/policy/Guard.java ../lib/policy/Policy.java
//SOURCES ../lib/policy/PolicyAction.java ../lib/policy/ReadOnlyPrograms.java ../lib/policy/ShellCommands.java
//SOURCES ../lib/tunnel/PortHolder.java ../lib/tunnel/RemoteForwardSockets.java ../lib/tunnel/Socks5.java
//SOURCES ../lib/tunnel/Tunnel.java ../lib/tunnel/TunnelDaemon.java ../lib/tunnel/TunnelOptions.java
//SOURCES ../lib/tunnel/TunnelSpec.java ../lib/tunnel/Tunnels.java
//SOURCES ../lib/mcp/McpArgs.java ../lib/mcp/McpCalls.java ../lib/mcp/McpClientLifetime.java ../lib/mcp/McpConfirm.java
//SOURCES ../lib/mcp/McpExecTool.java ../lib/mcp/McpFileTools.java ../lib/mcp/McpFleet.java ../lib/mcp/McpJobTools.java
//SOURCES ../lib/mcp/McpOutput.java ../lib/mcp/McpProgress.java ../lib/mcp/McpResources.java
//SOURCES ../lib/mcp/McpSerialTransport.java ../lib/mcp/McpSessionTools.java ../lib/mcp/McpTargetTools.java
//SOURCES ../lib/mcp/McpTool.java ../lib/mcp/McpTransferFeed.java ../lib/mcp/McpTunnelTools.java
//SOURCES ../lib/mcp/TargetNames.java
//SOURCES ../lib/cli/Cli.java ../lib/cli/FleetCli.java

import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "mcp-server", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class, sortOptions = false,
        description = {"Serves the toolkit as MCP tools over stdio: exec, write_file, read_file, upload, download,",
                "job_start, job_status, job_logs, job_wait, job_kill, job_list, session_open, session_send, session_read,",
                "session_close, diagnose_auth, list_targets.",
                "Keeps one SSH connection per target warm for the whole session and reconnects by itself.",
                "The target options name the default target; a call may name another (an ssh config alias or",
                "[user@]host[:port]). exec, upload, download, the job tools and diagnose_auth also take 'targets': a list of",
                "names, or a pattern over --inventory (mcp-server --inventory ~/ansible/hosts.ini, then 'targets': \"webservers\"),",
                "run on every server at once. stdout carries only protocol messages; logs go to stderr."},
        footer = {"", "Examples:",
                "  claude mcp add vps -- jbang mcp-server@vps -H my-vps",
                "  mcp-server --sandbox          # the embedded sandbox as the default target"})
class McpServer implements Callable<Integer> {
    static final String INSTRUCTIONS = "Operate Linux servers over SSH. exec runs a command and returns JSON (status, exitCode, stdout, "
            + "stderr); anything longer than a minute goes through job_start, then job_wait / job_logs. write_file and read_file move "
            + "content, upload and download move local paths. An interactive program (a shell, psql, a REPL) "
            + "runs in a session: session_open, then session_send and session_read (wait_for its prompt). When a call fails with AUTH, HOSTKEY or NETWORK, call diagnose_auth and "
            + "follow its fix. Every error carries kind, message and hint: do what the hint says before retrying. To run the same call on "
            + "several servers, pass targets (a list of names, or an inventory pattern) instead of target: the result has each server's "
            + "own result under hosts, identical ones grouped, and a summary.";

    /** How long the calls in flight get to stop their remote work when the client went away (the process ends within 5 s). */
    private static final long STOP_CALLS_MS = 3_500;
    private static final long CLOSE_MS = 500;

    @Mixin
    TargetOptions target;

    @Option(names = "--inventory", paramLabel = "FILE",
            description = "An Ansible inventory (INI or YAML; env VPS_INVENTORY): its host names resolve with their vars, and a tool's 'targets' may be a pattern over it.")
    Path inventory;

    @Option(names = "--heartbeat", paramLabel = "DUR", converter = Durations.class, defaultValue = "20s",
            description = "When a call's client asks for progress (a progressToken), send notifications/progress after each DUR of silence "
                    + "(exec, job_wait, session_read with wait_for: elapsed time, bytes, last line), and for a transfer its bytes at most once a DUR. "
                    + "Default: ${DEFAULT-VALUE}.")
    java.time.Duration heartbeat;

    private final InputStream in;
    private final OutputStream protocol;
    private final PrintStream err;

    McpServer(InputStream in, OutputStream protocol, PrintStream err) {
        this.in = in;
        this.protocol = protocol;
        this.err = err;
    }

    public static void main(String... args) {
        TargetResolver.proposePostQuantumFirst();   // mcp-server keeps its connections: see there
        PrintStream humanOut = System.out;
        OutputStream protocol = new FileOutputStream(FileDescriptor.out);
        // From here on a stray print (ours, a library's) cannot corrupt the protocol: it lands on stderr.
        System.setOut(System.err);
        System.exit(Cli.commandLine(new McpServer(System.in, protocol, System.err), humanOut, System.err).execute(args));
    }

    @Override
    public Integer call() throws InterruptedException {
        TargetNames names;
        try {
            names = new TargetNames(target, err, inventory);
            if (names.defaultName() != null) {
                names.resolve(names.defaultName());
            }
        } catch (VpsException e) {
            return Cli.fail(e, err);
        }
        McpProgress.every(heartbeat);
        OutputCapture.removeOldSpills();   // what earlier runs left in output/ goes by age and size (each new spill checks again)
        List<SyncToolSpecification> tools = new ArrayList<>();
        SessionPool connections = new SessionPool(err);
        try {
            tools.add(new McpExecTool(names, connections, err).tool().specification());
            new McpFileTools(names, connections, err).tools().forEach(t -> tools.add(t.specification()));
            new McpJobTools(names, connections).tools().forEach(t -> tools.add(t.specification()));
            new McpSessionTools(names, connections).tools().forEach(t -> tools.add(t.specification()));
            new McpTunnelTools(names, connections, err).tools().forEach(t -> tools.add(t.specification()));
            new McpTargetTools(names, connections).tools().forEach(t -> tools.add(t.specification()));
            McpResources resources = new McpResources(names, connections);
            McpClientLifetime client = new McpClientLifetime();
            McpSyncServer server = io.modelcontextprotocol.server.McpServer.sync(McpSerialTransport.stdio(client.watch(in), client.watch(protocol)))
                    .serverInfo("vps-toolkit", Cli.VERSION)
                    .instructions(INSTRUCTIONS)
                    .capabilities(McpSchema.ServerCapabilities.builder().tools(false).resources(true, false).build())
                    .tools(tools)
                    .resourceTemplates(resources.templates())
                    .build();
            resources.follow(server);
            client.watchParent();
            if (names.defaultName() != null) {
                warmUp(names, connections);
            }
            err.println("mcp-server " + Cli.VERSION + " serving " + tools.size() + " tools on stdio; default target: "
                    + (names.defaultName() == null ? "none (every call names its target)" : names.defaultName()));
            try (Interrupts.Registration onSignal = Interrupts.stopping(() -> McpCalls.cancelAll("mcp-server was stopped", STOP_CALLS_MS))) {
                String why = client.await();
                err.println("mcp-server: the client went away (" + why + "); stopping " + McpCalls.inFlight() + " calls in flight and closing the connections");
                McpCalls.cancelAll("the client went away", STOP_CALLS_MS);
            }
            closeBounded(server);
        } finally {
            connections.close();
        }
        return 0;
    }

    /**
     * The SDK's own goodbye, given a moment: a stdout nobody reads keeps its writer blocked, and the
     * process must end anyway.
     */
    private static void closeBounded(McpSyncServer server) throws InterruptedException {
        Thread closing = Daemons.start("vps-mcp-close", server::closeGracefully);
        closing.join(CLOSE_MS);
    }

    /** Opens the default target's session in the background, so that the first call finds it warm; failures are only logged. */
    private void warmUp(TargetNames names, SessionPool connections) {
        Daemons.start("vps-warm-up", () -> {
            try {
                connections.lease(names.resolveFor(names.defaultName(), connections), 1, target.verbose ? err : null).close();
            } catch (VpsException e) {
                err.println("vps: could not connect to " + names.defaultName() + " yet: " + e.getMessage() + " (the first call will try again)");
            }
        });
    }
}
