import com.jcraft.jsch.SftpATTRS;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * sftp-put / sftp-get --dry-run, like rsync -n: what a transfer would do to each file, found by
 * reading both sides (stat, and SHA-256 of both where the sizes match; the server hashes as the
 * transfer's verification does). Uploader and Downloader fill it in place of writing: the folders
 * they would create, the links they would make, and the files they would send.
 */
final class TransferPlan {
    /** One file: PATH is the one that would be written, FROM its source; ACTION create, replace, same or exists (--no-clobber). */
    record Entry(String path, String from, String action, long size, String sha256, Long existingSize, String existingSha256, String reason,
                 long resumeFrom) {
        Entry(String path, String from, String action, long size, String sha256, Long existingSize, String existingSha256, String reason) {
            this(path, from, action, size, sha256, existingSize, existingSha256, reason, 0);
        }

        /** The same entry, resumed at OFFSET by a real run (an earlier partial of it matches so far). */
        Entry resumedAt(long offset) {
            if (offset == 0 || !action.matches("create|replace")) {
                return this;
            }
            String resumes = "resumes its partial at " + TransferProgress.mib(offset);
            return new Entry(path, from, action, size, sha256, existingSize, existingSha256, reason == null ? resumes : reason + "; " + resumes, offset);
        }
    }

    private record Pending(String path, String from, Path local, String remote, long size, long resumeFrom) {}

    private final boolean upload;
    private final List<String> folders = new ArrayList<>();
    private final List<Entry> entries = new ArrayList<>();
    private final List<Pending> files = new ArrayList<>();

    TransferPlan(boolean upload) {
        this.upload = upload;
    }

    /** A folder that does not exist yet and would be created (with any missing above it). */
    void folder(String path) {
        if (!folders.contains(path)) {
            folders.add(path);
        }
    }

    /** A symlink that would be (re)created at PATH. */
    void link(String path, String from) {
        entries.add(new Entry(path, from, "symlink", 0, null, null, null, null));
    }

    /** What the transfer's own walk reported without sending (skipped links, refused names). */
    void noted(TransferResult r) {
        entries.add(new Entry(upload ? r.remote() : r.local(), upload ? r.local() : r.remote(), r.status(), 0, null, null, null, r.reason()));
    }

    /** A file the transfer would send from LOCAL to REMOTE, SIZE bytes (the source's), resumed at RESUME_FROM (0: none). PATH and FROM are as shown. */
    void file(String path, String from, Path local, String remote, long size, long resumeFrom) {
        files.add(new Pending(path, from, local, remote, size, resumeFrom));
    }

    /** Decides each file by what is at its destination: absent (create), equal size and hash (same), or else (replace). */
    TransferPlan decide(RemoteFs fs, boolean noClobber) {
        List<Pending> compare = new ArrayList<>();
        for (Pending f : files) {
            Entry decided = bySize(fs, noClobber, f);
            if (decided == null) {
                compare.add(f);
            } else {
                entries.add(decided.resumedAt(f.resumeFrom()));
            }
        }
        List<String> remoteHashes = compare.isEmpty() ? List.of() : remoteHashes(fs, compare);
        for (int i = 0; i < compare.size(); i++) {
            Pending f = compare.get(i);
            String local = localHash(f.local());
            String remote = remoteHashes.get(i);
            boolean same = local.equals(remote);
            String source = upload ? local : remote;
            String there = upload ? remote : local;
            entries.add(new Entry(f.path(), f.from(), same ? "same" : "replace", f.size(), source, f.size(), there, same ? null : "content differs")
                    .resumedAt(f.resumeFrom()));
        }
        return this;
    }

    /** F's entry when its size decides it (absent, --no-clobber, another size); null when only the hashes can. */
    private Entry bySize(RemoteFs fs, boolean noClobber, Pending f) {
        Long existing = existingSize(fs, f);
        if (existing == null) {
            return new Entry(f.path(), f.from(), "create", f.size(), null, null, null, null);
        }
        if (noClobber) {
            return new Entry(f.path(), f.from(), "exists", f.size(), null, existing, null, "exists, left (--no-clobber)");
        }
        return existing != f.size() ? new Entry(f.path(), f.from(), "replace", f.size(), null, existing, null, "size differs") : null;
    }

    private Long existingSize(RemoteFs fs, Pending f) {
        if (upload) {
            SftpATTRS a = fs.lstat(f.remote());
            return a == null ? null : a.getSize();
        }
        try {
            return Files.exists(f.local(), LinkOption.NOFOLLOW_LINKS) ? Files.size(f.local()) : null;
        } catch (IOException e) {
            throw LocalTree.localError("cannot read " + f.local(), e);
        }
    }

    private static List<String> remoteHashes(RemoteFs fs, List<Pending> files) {
        List<String> paths = files.stream().map(Pending::remote).toList();
        List<String> hashes = fs.sha256(paths, files.stream().map(Pending::size).toList(), true);
        return hashes != null ? hashes : paths.stream().map(fs::sha256ByReading).toList();
    }

    private static String localHash(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            java.security.MessageDigest d = Sha256.digest();
            Sha256.feed(d, in, -1);
            return Sha256.hex(d);
        } catch (IOException e) {
            throw LocalTree.localError("cannot read " + file, e);
        }
    }

    /**
     * {"dryRun": true, "host", "command", "folders": [...], "files": [{"path", "from", "action", "size", "sha256",
     * "remoteSize", "remoteSha256" (sftp-get: "localSize", "localSha256"), "reason"}...]}.
     */
    Map<String, Object> toJson(String host, String command) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("dryRun", true);
        m.put("host", host);
        m.put("command", command);
        m.put("folders", folders);
        m.put("files", entries.stream().map(this::toJson).toList());
        return m;
    }

    private Map<String, Object> toJson(Entry e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("path", e.path());
        m.put("from", e.from());
        m.put("action", e.action());
        m.put("size", e.size());
        // size and sha256 are the source's; remote* (upload) or local* (download) what is at the destination; hashes only where the sizes matched.
        m.put("sha256", e.sha256());
        m.put(upload ? "remoteSize" : "localSize", e.existingSize());
        m.put(upload ? "remoteSha256" : "localSha256", e.existingSha256());
        m.put("resumeFrom", e.resumeFrom());
        m.put("reason", e.reason());
        return m;
    }

    /** One line per folder and file, like rsync -n: `create  path  1.2 MiB`; a name with unusual characters is shown quoted. */
    String toText() {
        StringBuilder s = new StringBuilder("dry run: nothing was written\n");
        folders.forEach(f -> s.append(String.format("%-8s %s%n", "mkdir", shown(f))));
        for (Entry e : entries) {
            String action = e.action().equals("exists") ? "exists, left" : e.action();
            s.append(String.format("%-8s %s", action, shown(e.path())));
            if (e.action().matches("create|replace|same|exists")) {
                s.append("  ").append(TransferProgress.mib(e.size()));
            }
            if (e.reason() != null && !e.action().equals("exists")) {
                s.append("  (").append(TransferResult.printable(e.reason())).append(')');
            }
            s.append('\n');
        }
        return s.toString();
    }

    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9._/+@:,=~-]+");

    /** PATH as it is when plain, else as a JSON string (quotes, newlines and control characters escaped). */
    static String shown(String path) {
        return PLAIN.matcher(path).matches() ? path : Json.write(path);
    }
}
