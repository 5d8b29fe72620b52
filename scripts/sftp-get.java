///usr/bin/env jbang "$0" "$@" ; exit $?
//MAIN SftpGet
//JAVA_OPTIONS -XX:+UseSerialGC -Xmn16m -Xshare:auto -XX:CompileCommand=quiet -XX:CompileCommand=CompileThresholdScaling,com.sun.crypto.provider.*::*,0.01 -XX:CompileCommand=CompileThresholdScaling,sun.security.provider.*::*,0.01
// JVM options: the JDK's AES-GCM and SHA-256 classes compile at 1% of the usual thresholds, so the
// C2 intrinsics carry the bulk of a cold transfer; a 16 MiB young generation reuses the same memory
// instead of touching fresh pages (measured with bench/transfer-vs-openssh).
//DESCRIPTION Download files and folders over SFTP: atomic, resumable, SHA-256 verified; remote globs.
//SOURCES ../lib/Deps.java ../lib/Cli.java ../lib/Environment.java ../lib/VpsException.java ../lib/Durations.java
//SOURCES ../lib/Json.java ../lib/Target.java ../lib/TargetOptions.java ../lib/TargetResolver.java ../lib/LocalFolders.java
//SOURCES ../lib/SshConfig.java ../lib/Identities.java ../lib/JumpProxy.java ../lib/Fingerprints.java
//SOURCES ../lib/HostKeyVerifier.java ../lib/VpsConnection.java ../lib/ServerProbe.java ../lib/ShellQuote.java ../lib/RemoteCommand.java ../lib/RemoteLock.java
//SOURCES ../lib/ExecRunner.java ../lib/StartGate.java ../lib/ExecOutcome.java ../lib/Signals.java ../lib/Sandbox.java ../lib/SandboxServer.java
//SOURCES ../lib/RemoteFs.java ../lib/RemotePaths.java ../lib/Sha256.java ../lib/TransferProgress.java ../lib/PosixModes.java
//SOURCES ../lib/Transfer.java ../lib/TransferResult.java ../lib/TransferOptions.java ../lib/Uploader.java ../lib/StripedUpload.java ../lib/SftpWriter.java ../lib/Downloader.java ../lib/LocalTree.java ../lib/BackgroundDigest.java

import java.io.InputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "sftp-get", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class, sortOptions = false,
        description = {"Download files and folders over SFTP: atomic, resumable, SHA-256 verified; remote globs.",
                "Each file is written under a private hidden .NAME.vps-partial.RANDOM name beside the target and renamed into place",
                "only when complete and verified; a rerun after an interruption resumes it. Folders are copied",
                "recursively; nothing is written outside the destination or through a link: a name from the server that is not",
                "one plain file name is refused (status 'refused', PROTOCOL), a link leading out is skipped (see --links).",
                "Exit 0: done; 1: a file problem on either side (or a refused name); 255: could not connect."},
        footer = {"", "Examples:", "  sftp-get --sandbox /etc/hostname ./hostname", "  sftp-get -H vps '/var/log/nginx/*.log' ./logs/", "  sftp-get -H vps /etc/nginx/nginx.conf -   # to stdout"})
class SftpGet implements Callable<Integer> {
    @Mixin
    TargetOptions target;

    @Mixin
    TransferOptions transfer;

    @Parameters(arity = "2..*", paramLabel = "REMOTE... LOCAL", description = "Sources, then the destination; '-' is stdout (one file; --json then prints its object on stderr). A LOCAL ending in / is a folder, created when missing.")
    List<String> paths = new ArrayList<>();

    private final PrintStream out;
    private final PrintStream err;
    private final InputStream in;

    SftpGet() {
        this(System.out, System.err, System.in);
    }

    SftpGet(PrintStream out, PrintStream err, InputStream in) {
        this.out = out;
        this.err = err;
        this.in = in;
    }

    public static void main(String... args) {
        Cli.main(new SftpGet(), args);
    }

    @Override
    public Integer call() {
        long start = System.nanoTime();
        List<String> sources = paths.subList(0, paths.size() - 1);
        String destination = paths.get(paths.size() - 1);
        String command = "sftp-get " + String.join(" ", paths);
        String host = null;
        // With '-' stdout carries the file's bytes: the JSON report goes to stderr so the two never mix.
        PrintStream report = destination.equals("-") ? err : out;
        try (Interrupts.Registration onInterrupt = transfer.reportingInterrupts(command, report, err)) {
            Uploader.Options options = transfer.toOptions();
            Target t = target.resolve(err);
            host = t.host();
            String where = host;
            // Partial files are resumed, so a transfer to files may run again after a dropped link; stdout may not.
            java.util.function.Function<VpsConnection, Integer> work = connection -> {
                List<TransferResult> results = Transfer.run(connection, false, sources, destination, options, transfer.quiet || transfer.json, in, out, err);
                return transfer.report(command, where, results, (System.nanoTime() - start) / 1_000_000, report, err);
            };
            if (destination.equals("-")) {
                try (VpsConnection connection = target.connect(t, err, Transfer.CHANNELS)) {
                    return work.apply(connection);
                }
            }
            return Reconnect.repeatable(() -> target.connect(t, err, Transfer.CHANNELS), work);
        } catch (VpsException e) {
            return transfer.fail(command, host, e, (System.nanoTime() - start) / 1_000_000, report, err);
        }
    }
}
