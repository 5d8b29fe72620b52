import java.io.InputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import picocli.CommandLine.Option;

/** The options sftp-put and sftp-get share, and the report both print. */
final class TransferOptions {
    @picocli.CommandLine.Mixin
    PolicyOptions policy;

    @Option(names = "--no-clobber", description = "Refuse to replace an existing file (it is reported as 'exists'; exit 1).")
    boolean noClobber;

    @Option(names = "--mkdir", description = "Create missing parent folders of the destination.")
    boolean mkdir;

    @Option(names = "--preserve", description = "Keep the source's mode and modification time.")
    boolean preserve;

    @Option(names = "--no-verify", description = "Skip the SHA-256 comparison after the transfer (size is still checked by SFTP).")
    boolean noVerify;

    @Option(names = {"--links", "--symlinks"}, paramLabel = "copy|follow|skip", defaultValue = "copy",
            description = {"Symlinks inside folders: recreate the link (copy, the default; on download only when it points inside",
                    "the destination, else it is skipped and reported), transfer what it points to (follow), or leave it out (skip).",
                    "--symlinks and 'keep' are the older spellings."})
    String symlinks;

    @Option(names = "--dry-run", description = {"Write nothing: list what would be created, replaced (size or SHA-256 differs) or is the same,",
            "and the folders that would be created, like rsync -n. It connects and reads (stat, hashes where sizes match).",
            "A real run writes a 'same' file again, with the same bytes."})
    boolean dryRun;

    @Option(names = "--json", description = "Print one JSON object: files, bytes, sha256, durationMs, rate.")
    boolean json;

    @Option(names = {"-q", "--quiet"}, description = "No progress output.")
    boolean quiet;

    @Option(names = "--audit-remote", description = "Also write a one-line record of the transfer to the server's syslog (logger -t vps-toolkit).")
    boolean auditRemote;

    private TransferReport.Ending ending = (t, connection, results, failure) -> {};

    void whenEnded(TransferReport.Ending e) {
        ending = e;
    }

    Uploader.Options toOptions() {
        String links = symlinks.equals("keep") ? "copy" : symlinks;
        if (!List.of("copy", "follow", "skip").contains(links)) {
            throw VpsException.config("--links must be copy, follow or skip, not '" + symlinks + "'", "pick one of the three");
        }
        return new Uploader.Options(noClobber, mkdir, preserve, !noVerify, links);
    }

    /**
     * One sftp-put (put) or sftp-get call to its exit code; PATHS are the sources, then the destination.
     * With '-' as a download's destination stdout carries the file's bytes: the JSON report goes to
     * stderr so the two never mix.
     */
    int call(TargetOptions target, boolean put, List<String> paths, InputStream in, PrintStream out, PrintStream err) {
        long start = System.nanoTime();
        List<String> sources = paths.subList(0, paths.size() - 1);
        String destination = paths.get(paths.size() - 1);
        String command = (put ? "sftp-put " : "sftp-get ") + String.join(" ", paths);
        boolean streamed = put ? sources.contains("-") : destination.equals("-");
        PrintStream reportTo = put || !streamed ? out : err;
        String host = null;
        Target[] resolved = {null};
        VpsConnection[] used = {null};
        try (Interrupts.Registration onInterrupt = reportingInterrupts(command, reportTo, err)) {
            Uploader.Options options = toOptions();
            if (put) {
                Uploader.checkSources(sources);
            }
            Target t = target.resolve(err);
            resolved[0] = t;
            host = t.host();
            policy.check(t, target.inventoryNames, PolicyAction.transfer(put ? PolicyAction.Kind.UPLOAD : PolicyAction.Kind.DOWNLOAD, command), in, err);
            String where = host;
            if (dryRun) {
                return showPlan(target, t, put, sources, destination, options, command, where, out, err);
            }
            Function<VpsConnection, Integer> work = connection -> {
                used[0] = connection;
                List<TransferResult> results = Transfer.run(connection, put, sources, destination, options, quiet || json, in, out, err);
                int code = report(command, where, results, (System.nanoTime() - start) / 1_000_000, reportTo, err);
                ending.ended(t, connection, results, null);
                return code;
            };
            // Partial files are resumed, so a transfer between files may run again after a dropped link; stdin or stdout may not.
            if (streamed) {
                try (VpsConnection connection = target.connect(t, err, Transfer.CHANNELS)) {
                    return work.apply(connection);
                }
            }
            return Reconnect.repeatable(() -> target.connect(t, err, Transfer.CHANNELS), work);
        } catch (VpsException e) {
            ending.ended(resolved[0], used[0], null, e);
            return fail(command, host, e, (System.nanoTime() - start) / 1_000_000, reportTo, err);
        }
    }

    /** --dry-run: the plan, as text or JSON on stdout; exit 0 (the plan says what a real run would leave or refuse). */
    private int showPlan(TargetOptions target, Target t, boolean put, List<String> sources, String destination, Uploader.Options options,
                         String command, String host, PrintStream out, PrintStream err) {
        try (VpsConnection connection = target.connect(t, err, Transfer.CHANNELS)) {
            TransferPlan plan = Transfer.plan(connection, put, sources, destination, options, err);
            out.print(json ? Json.write(plan.toJson(host, command)) + "\n" : plan.toText());
            out.flush();
            return 0;
        }
    }

    /**
     * Until closed, a Ctrl-C prints that the transfer stopped and that running it again resumes it:
     * files not yet complete stay in their partial files (see Uploader, Downloader), no target is touched.
     */
    Interrupts.Registration reportingInterrupts(String command, PrintStream out, PrintStream err) {
        String what = "the transfer stopped; each unfinished file stays in its partial file and no target was replaced";
        String verb = command.substring(0, command.indexOf(' '));
        String hint = "continue by running the same " + verb + " again (same paths and options): it resumes each file where it stopped";
        return Interrupts.reporting(() -> {
            if (json) {
                Map<String, Object> r = Json.envelope(null, command, "failed", null, 0, null);
                r.put("error", Interrupts.error(what, hint));
                r.put("files", List.of());
                out.println(Json.write(r));
                out.flush();
            }
            err.println(Interrupts.line(what, hint));
            err.flush();
        });
    }

    /** Prints the result (JSON, or a line per file on stderr) and returns the exit code. */
    int report(String command, String host, List<TransferResult> results, long durationMs, PrintStream out, PrintStream err) {
        if (Interrupts.happened()) {
            return Interrupts.EXIT;   // the interrupt's report is the one printed
        }
        VpsException problem = TransferReport.problem(command, results);
        if (json) {
            out.println(Json.write(TransferReport.toJson(command, host, results, durationMs)));
        } else if (!quiet) {
            for (TransferResult t : results) {
                String route = command.startsWith("sftp-get") ? t.remote() + " -> " + t.local() : t.local() + " -> " + t.remote();
                err.println(TransferResult.printable(t.status() + ": " + route + (t.sha256() == null ? "" : " (" + TransferProgress.mib(t.bytes())
                        + (t.resumedFrom() > 0 ? ", resumed at " + TransferProgress.mib(t.resumedFrom()) : "") + ", sha256 " + t.sha256() + ")")
                        + (t.reason() == null ? "" : ": " + t.reason())));
            }
        }
        if (problem != null) {
            err.println(problem.describe());
            return 1;   // a problem with some files: the others were transferred
        }
        return 0;
    }

    int fail(String command, String host, VpsException e, long durationMs, PrintStream out, PrintStream err) {
        if (Interrupts.happened()) {
            return Interrupts.EXIT;
        }
        if (json) {
            Map<String, Object> r = Json.failure(host, command, e, durationMs);
            r.put("files", List.of());
            out.println(Json.write(r));
        }
        return Cli.fail(e, err);
    }
}
