///usr/bin/env jbang "$0" "$@" ; exit $?
// The test suite's runner: JUnit 5 through JBang. Prints one line per test and ends with
// "N passed, N failed, N skipped". Arguments: test class names to run (default: all).
// After the normal pass, the CLI test classes (ENGINE_PASS) run again with every call of a script the
// engine serves going through bin/vps and one warm engine (EngineRuns); their lines name "engine:".
// VPS_TEST_VIA=engine runs only that pass, VPS_TEST_VIA=cold only the normal one.
//MAIN RunTests
//JAVA_OPTIONS -XX:+UseSerialGC -Xmx1g
//SOURCES ../lib/Deps.java ../lib/McpDeps.java
//SOURCES ../lib/util/ByteSizes.java ../lib/util/ColdRun.java ../lib/util/Daemons.java ../lib/util/Durations.java
//SOURCES ../lib/util/Environment.java ../lib/util/Interrupts.java ../lib/util/Json.java ../lib/util/LocalFolders.java
//SOURCES ../lib/util/Processes.java ../lib/util/ServerIds.java ../lib/util/Sha256.java ../lib/util/ShellQuote.java
//SOURCES ../lib/util/SpillBuffer.java ../lib/util/VpsException.java ../lib/util/YamlDocument.java
//SOURCES ../lib/target/HostSpec.java ../lib/target/SshConfig.java ../lib/target/Target.java
//SOURCES ../lib/target/TargetOptions.java ../lib/target/TargetResolver.java
//SOURCES ../lib/ssh/Fingerprints.java ../lib/ssh/HostKeyVerifier.java ../lib/ssh/Identities.java
//SOURCES ../lib/ssh/JumpProxy.java ../lib/ssh/KeyFiles.java ../lib/ssh/Reconnect.java ../lib/ssh/ServerProbe.java
//SOURCES ../lib/ssh/SessionPool.java ../lib/ssh/VpsConnection.java
//SOURCES ../lib/exec/ExecOutcome.java ../lib/exec/ExecRunner.java ../lib/exec/Heartbeat.java ../lib/exec/InputWait.java
//SOURCES ../lib/exec/Interaction.java ../lib/exec/InteractionOptions.java ../lib/exec/LockOptions.java
//SOURCES ../lib/exec/OutputCapture.java ../lib/exec/Privilege.java ../lib/exec/PrivilegeOptions.java
//SOURCES ../lib/exec/PromptRules.java ../lib/exec/RemoteCommand.java ../lib/exec/RemoteLock.java
//SOURCES ../lib/exec/SecretRedactor.java ../lib/exec/Signals.java ../lib/exec/StartGate.java ../lib/exec/Terminal.java
//SOURCES ../lib/transfer/BackgroundDigest.java ../lib/transfer/Downloader.java ../lib/transfer/LocalTree.java
//SOURCES ../lib/transfer/PosixModes.java ../lib/transfer/RemoteFs.java ../lib/transfer/RemotePaths.java
//SOURCES ../lib/transfer/SftpWriter.java ../lib/transfer/StripedUpload.java ../lib/transfer/Transfer.java
//SOURCES ../lib/transfer/TransferPlan.java ../lib/transfer/TransferProgress.java ../lib/transfer/TransferReport.java
//SOURCES ../lib/transfer/TransferResult.java ../lib/transfer/Uploader.java
//SOURCES ../lib/jobs/DetachedExec.java ../lib/jobs/Jobs.java
//SOURCES ../lib/sessions/Sessions.java
//SOURCES ../lib/diagnose/AuthDiagnosis.java ../lib/diagnose/FixScript.java
//SOURCES ../lib/setup/LoginProof.java ../lib/setup/ServerSetup.java ../lib/setup/SetupPlan.java
//SOURCES ../lib/setup/SetupScript.java ../lib/setup/SshClientConfig.java
//SOURCES ../lib/sandbox/Sandbox.java ../lib/sandbox/SandboxServer.java
//SOURCES ../lib/fleet/FleetAware.java ../lib/fleet/FleetHost.java ../lib/fleet/FleetOptions.java
//SOURCES ../lib/fleet/FleetPlan.java ../lib/fleet/FleetResult.java ../lib/fleet/FleetRun.java
//SOURCES ../lib/fleet/HostAddress.java ../lib/fleet/HostOutput.java ../lib/fleet/HostPattern.java
//SOURCES ../lib/fleet/HostResult.java ../lib/fleet/HostSet.java ../lib/fleet/IniInventory.java
//SOURCES ../lib/fleet/Inventory.java ../lib/fleet/InventoryModel.java ../lib/fleet/YamlInventory.java
//SOURCES ../lib/audit/Audit.java ../lib/audit/AuditLog.java
//SOURCES ../lib/policy/Decision.java ../lib/policy/DryRun.java ../lib/policy/Guard.java ../lib/policy/Policy.java
//SOURCES ../lib/policy/PolicyAction.java ../lib/policy/PolicyOptions.java ../lib/policy/ReadOnlyPrograms.java
//SOURCES ../lib/policy/ShellCommands.java
//SOURCES ../lib/tunnel/PortHolder.java ../lib/tunnel/RemoteForwardSockets.java ../lib/tunnel/Socks5.java
//SOURCES ../lib/tunnel/Tunnel.java ../lib/tunnel/TunnelDaemon.java ../lib/tunnel/TunnelOptions.java
//SOURCES ../lib/tunnel/TunnelSpec.java ../lib/tunnel/Tunnels.java
//SOURCES ../lib/engine/EngineCall.java ../lib/engine/EngineFiles.java ../lib/engine/EngineServer.java
//SOURCES ../lib/mcp/McpArgs.java ../lib/mcp/McpCalls.java ../lib/mcp/McpClientLifetime.java ../lib/mcp/McpConfirm.java
//SOURCES ../lib/mcp/McpExecTool.java ../lib/mcp/McpFileTools.java ../lib/mcp/McpFleet.java ../lib/mcp/McpJobTools.java
//SOURCES ../lib/mcp/McpOutput.java ../lib/mcp/McpProgress.java ../lib/mcp/McpResources.java
//SOURCES ../lib/mcp/McpSerialTransport.java ../lib/mcp/McpSessionTools.java ../lib/mcp/McpTargetTools.java
//SOURCES ../lib/mcp/McpTool.java ../lib/mcp/McpTransferFeed.java ../lib/mcp/McpTunnelTools.java
//SOURCES ../lib/mcp/TargetNames.java
//SOURCES ../lib/cli/Cli.java ../lib/cli/FleetCli.java ../lib/cli/ParentCommand.java ../lib/cli/TransferOptions.java
//SOURCES ../scripts/exec-command.java ../scripts/sandbox.java
//SOURCES TestDeps.java VpsServer.java VpsTestBase.java Runs.java EngineRuns.java TestSupport.java TcpProxy.java SshAgent.java
//SOURCES ExecCommandTest.java FailurePathsTest.java HostKeyTest.java TargetResolutionTest.java
//SOURCES SandboxTest.java OutputCaptureTest.java ShellQuoteTest.java EndToEndTest.java KeyFormatsTest.java
//SOURCES SshConfigTest.java LoginTest.java TransferTest.java
//SOURCES ../scripts/sftp-put.java ../scripts/sftp-get.java ../scripts/diagnose-auth.java DiagnoseAuthTest.java DiagnoseFixScriptTest.java
//SOURCES ../scripts/job.java JobTest.java LongRunningTest.java
//SOURCES ../scripts/session.java SessionTest.java
//SOURCES ../scripts/mcp-server.java McpServerTest.java McpBoundsTest.java McpConventionsTest.java
//SOURCES ../scripts/connection.java SessionPoolTest.java FaultTest.java PartialFilesTest.java EngineTest.java
//SOURCES HostCertificateTest.java TrustAnchorsTest.java HostileSftpTest.java DownloadTrustTest.java
//SOURCES LoginShellsTest.java ProcessListTest.java UsabilityTransferTest.java InterruptTest.java DocsExamplesTest.java
//SOURCES NewcomerTest.java OtherUser.java PrivateFoldersTest.java CallScopeTest.java EngineExitStatusTest.java LayoutTest.java
//SOURCES PrivilegeTest.java
//SOURCES TerminalTest.java PostQuantumKexTest.java InventoryTest.java FleetTest.java
//SOURCES McpFleetTest.java FleetScriptsTest.java DryRunTest.java
//SOURCES ../scripts/audit.java AuditTest.java
//SOURCES PolicyCorpusTest.java PolicyTest.java
//SOURCES ../scripts/setup-server.java SetupServerTest.java
//SOURCES ../scripts/tunnel.java TunnelTest.java

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.engine.DiscoverySelector;

public class RunTests {
    static final List<Class<?>> ALL = List.of(ShellQuoteTest.class, LayoutTest.class, OutputCaptureTest.class, TargetResolutionTest.class,
            SandboxTest.class, ExecCommandTest.class, FailurePathsTest.class, HostKeyTest.class, KeyFormatsTest.class,
            SshConfigTest.class, LoginTest.class, TransferTest.class, HostileSftpTest.class, DownloadTrustTest.class,
            DiagnoseAuthTest.class, DiagnoseFixScriptTest.class, JobTest.class, LongRunningTest.class, SessionTest.class, McpServerTest.class, McpBoundsTest.class, SessionPoolTest.class, EngineTest.class,
            FaultTest.class, PartialFilesTest.class, HostCertificateTest.class, TrustAnchorsTest.class, LoginShellsTest.class,
            ProcessListTest.class, UsabilityTransferTest.class, InterruptTest.class, DocsExamplesTest.class, NewcomerTest.class, CallScopeTest.class,
            PrivateFoldersTest.class, EndToEndTest.class, EngineExitStatusTest.class, PrivilegeTest.class, TerminalTest.class, PostQuantumKexTest.class,
            InventoryTest.class, FleetTest.class, McpFleetTest.class, FleetScriptsTest.class, AuditTest.class, DryRunTest.class,
            PolicyCorpusTest.class, PolicyTest.class, SetupServerTest.class, McpConventionsTest.class, TunnelTest.class);

    /**
     * The CLI test classes: they drive the scripts through Runs, so they run a second time through the
     * engine. Left out: classes that never run a served script through Runs (ShellQuoteTest,
     * OutputCaptureTest, TargetResolutionTest, SshConfigTest, McpServerTest, McpBoundsTest,
     * DocsExamplesTest, EndToEndTest; InterruptTest runs the scripts as processes it sends SIGINT; EngineTest
     * and EngineExitStatusTest drive the engine themselves), and FaultTest, for time: its faults are on the
     * link to the target, which is the same code in both passes (SessionPoolTest covers it warm).
     */
    static final List<Class<?>> ENGINE_PASS = List.of(SandboxTest.class, ExecCommandTest.class, DryRunTest.class, FailurePathsTest.class,
            HostKeyTest.class, KeyFormatsTest.class, LoginTest.class, TransferTest.class, HostileSftpTest.class,
            DownloadTrustTest.class, DiagnoseAuthTest.class, DiagnoseFixScriptTest.class, JobTest.class, LongRunningTest.class, SessionTest.class, PartialFilesTest.class,
            HostCertificateTest.class, TrustAnchorsTest.class, LoginShellsTest.class, ProcessListTest.class,
            UsabilityTransferTest.class, NewcomerTest.class, PrivilegeTest.class, TerminalTest.class, PostQuantumKexTest.class, FleetTest.class,
            FleetScriptsTest.class, AuditTest.class, PolicyTest.class, TunnelTest.class);

    private static final AtomicInteger passed = new AtomicInteger();
    private static final AtomicInteger failed = new AtomicInteger();
    private static final AtomicInteger skipped = new AtomicInteger();
    private static final List<String> failures = new ArrayList<>();
    private static final PrintWriter out = new PrintWriter(System.out, true);

    public static void main(String... args) throws Exception {
        TestSupport.isolateNameResolution();
        TestSupport.isolateHome();
        String via = System.getenv().getOrDefault("VPS_TEST_VIA", "both");
        if (!via.equals("engine")) {
            EngineRuns.use(false);
            long start = System.nanoTime();
            runPass(ALL, args, "");
            out.println("normal pass: " + (System.nanoTime() - start) / 1_000_000_000 + " s");
        }
        if (!via.equals("cold")) {
            EngineRuns.use(true);
            long start = System.nanoTime();
            int before = passed.get() + failed.get() + skipped.get();
            try {
                runPass(ENGINE_PASS, args, "engine:");
            } finally {
                EngineRuns.stop();
            }
            if (passed.get() + failed.get() + skipped.get() > before) {
                out.println("engine pass: " + (System.nanoTime() - start) / 1_000_000_000 + " s; engine log " + EngineRuns.log());
            }
        }
        VpsServer.stopShared();
        TestSupport.stopSandboxes();
        if (!failures.isEmpty()) {
            out.println();
            out.println("Failures:");
            failures.forEach(f -> out.println("  " + f));
        }
        out.println(passed + " passed, " + failed + " failed, " + skipped + " skipped");
        System.exit(failed.get() == 0 && passed.get() > 0 ? 0 : 1);
    }

    private static void runPass(List<Class<?>> classes, String[] args, String prefix) {
        List<DiscoverySelector> selectors = new ArrayList<>();
        for (Class<?> c : classes) {
            if (args.length == 0 || List.of(args).contains(c.getSimpleName())) {
                selectors.add(selectClass(c));
            }
        }
        if (selectors.isEmpty()) {
            return;
        }
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request().selectors(selectors).build();
        Launcher launcher = LauncherFactory.create();
        Map<String, Long> classStarts = new ConcurrentHashMap<>();
        launcher.execute(request, new TestExecutionListener() {
            @Override
            public void executionStarted(TestIdentifier test) {
                test.getSource().filter(ClassSource.class::isInstance).ifPresent(c -> classStarts.put(test.getUniqueId(), System.nanoTime()));
            }

            @Override
            public void executionSkipped(TestIdentifier test, String reason) {
                if (test.isTest()) {
                    skipped.incrementAndGet();
                    out.println("SKIP " + prefix + test.getLegacyReportingName() + ": " + reason);
                }
            }

            @Override
            public void executionFinished(TestIdentifier test, TestExecutionResult result) {
                String name = prefix + test.getUniqueIdObject().getSegments().stream()
                        .filter(s -> s.getType().equals("class") || s.getType().equals("method") || s.getType().contains("invocation"))
                        .map(s -> s.getValue().replaceAll("\\(.*", "")).reduce((a, b) -> a + "." + b).orElse(test.getDisplayName());
                if (!test.isTest()) {
                    Long started = classStarts.remove(test.getUniqueId());
                    if (started != null) {
                        out.println("time " + name + " " + (System.nanoTime() - started) / 1_000_000_000 + " s");
                    }
                    if (result.getStatus() != TestExecutionResult.Status.SUCCESSFUL) {
                        failed.incrementAndGet();
                        failures.add(name + ": " + result.getThrowable().map(Throwable::toString).orElse("?"));
                        out.println("FAIL " + name + " (setup): " + result.getThrowable().map(Throwable::toString).orElse(""));
                    }
                    return;
                }
                switch (result.getStatus()) {
                    case SUCCESSFUL -> {
                        passed.incrementAndGet();
                        out.println("ok   " + name + " " + test.getDisplayName());
                    }
                    case ABORTED -> {
                        skipped.incrementAndGet();
                        out.println("SKIP " + name + " " + test.getDisplayName() + ": " + result.getThrowable().map(Throwable::getMessage).orElse(""));
                    }
                    default -> {
                        failed.incrementAndGet();
                        Throwable t = result.getThrowable().orElse(null);
                        failures.add(name + " " + test.getDisplayName() + ": " + t);
                        out.println("FAIL " + name + " " + test.getDisplayName());
                        if (t != null) {
                            t.printStackTrace(out);
                        }
                    }
                }
            }
        });
    }
}
