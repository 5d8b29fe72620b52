import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Interactive programs living on the server, like jobs: each session is a private folder
 * ~/.vps-toolkit/sessions/ID (0700) holding the command, a FIFO "in" for its input, its output
 * as 1 MiB chunks out.NNNNNN (absolute offsets kept; the oldest are dropped beyond
 * {@link #KEPT_CHUNKS}), the boot id, the runner's pid, the time of the last input ("sent") and,
 * once it ended, its exit status ("exit") and why it was closed ("closed": close or idle).
 * The runner is a setsid shell, so the session survives the client's death and a dropped link;
 * it holds the FIFO open read-write, so the program never sees EOF between two sends. Every
 * process of the program carries VPS_SESSION=ID in its environment: that is how close finds
 * them all, also the ones a terminal put in a session of their own.
 */
final class Sessions {
    static final String DIR = "\"$HOME/.vps-toolkit/sessions\"";
    static final int CHUNK = 1 << 20;
    static final int KEPT_CHUNKS = 8;
    /** The most one read returns; "next" says where to go on. */
    static final int MAX_READ = 1 << 20;
    /** The most one send takes: input for a program, not a file transfer. */
    static final int MAX_SEND = 64 * 1024;
    /** How long a send waits for a program that does not read its input. */
    static final int SEND_WAIT_SECONDS = 10;
    /** The terminal of a --pty session: its size, and a TERM that keeps escape sequences out of the output. */
    static final String PTY_SIZE = "stty rows 40 cols 120";
    static final String PTY_TERM = "dumb";


    /** A session's state; exitCode is set when it exited, closeReason ("close", "idle") when it was closed. */
    record Status(String id, String status, Integer exitCode, String closeReason, long startedEpoch, long outputBytes,
                  boolean pty, long idleSeconds, String command) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            putInto(m);
            return m;
        }

        void putInto(Map<String, Object> r) {
            r.put("session", id);
            r.put("status", status);
            r.put("exitCode", exitCode);
            r.put("closeReason", closeReason);
            r.put("started", startedEpoch);
            r.put("outputBytes", outputBytes);
            r.put("pty", pty);
            r.put("idleSeconds", idleSeconds);
            r.put("command", command);
        }

        boolean running() {
            return status.equals("running");
        }

        String describe() {
            return status + (exitCode != null ? " (exit " + exitCode + ")" : "")
                    + (closeReason == null ? "" : closeReason.equals("idle") ? " (no input for " + idleSeconds + " s)" : "");
        }
    }

    /** What one read brought: the output from START (START - from bytes were dropped), and the session's state before it. */
    record Chunk(String status, Integer exitCode, long start, long total, byte[] bytes) {
        long next() {
            return start + bytes.length;
        }
    }

    /** What a read answers: the output from NEXT - output.length (SKIPPED bytes after FROM were dropped), and whether WAIT_FOR matched. */
    record Reading(String id, String status, Integer exitCode, long from, long next, long skipped, Boolean matched, byte[] output, long total) {
        boolean more() {
            return next < total;
        }

        String text() {
            return new String(output, StandardCharsets.UTF_8);
        }

        void putInto(Map<String, Object> r) {
            r.put("session", id);
            r.put("status", status);
            r.put("exitCode", exitCode);
            r.put("output", text());
            r.put("from", from);
            r.put("next", next);
            r.put("skipped", skipped);
            r.put("matched", matched);
            r.put("more", more());
        }

        /** The failure of a --wait-for that saw no match: TIMEOUT while the session runs, REMOTE once it ended; null when it matched. */
        VpsException missed(String waitFor, java.time.Duration max) {
            if (waitFor == null || Boolean.TRUE.equals(matched())) {
                return null;
            }
            String goOn = "the output so far came with this read; read again with --from " + next();
            if (status().equals("running")) {
                return new VpsException(VpsException.Kind.TIMEOUT, "session " + id() + "'s output did not match '" + waitFor + "'"
                        + (more() ? " in the first " + output().length + " bytes" : " within " + Durations.format(max)),
                        goOn + (more() ? "" : " (a longer --max, or another pattern; send input if it waits for some)"), false, null);
            }
            return new VpsException(VpsException.Kind.REMOTE, "session " + id() + " " + ended(status(), exitCode())
                    + " and its output did not match '" + waitFor + "'",
                    goOn + "; open a new session to go on", false, null);
        }
    }

    /** The longest a read waits for its pattern: under an agent's tool-call limit. */
    static final java.time.Duration MAX_WAIT = java.time.Duration.ofSeconds(50);

    private final VpsConnection connection;

    Sessions(VpsConnection connection) {
        this.connection = connection;
    }

    /** DESIGN §5's envelope for a session call: host, command, status, exitCode, durationMs, error; the fields of a command's streams do not apply. */
    static Map<String, Object> result(String host, String command) {
        Map<String, Object> r = Json.envelope(host, command, "running", null, 0, null);
        for (String unused : List.of("signal", "stdout", "stderr", "truncated", "job")) {
            r.remove(unused);
        }
        return r;
    }

    static String checkId(String id) {
        if (!ServerIds.valid(id)) {
            throw VpsException.config("session id '" + id + "' is not valid",
                    "use the id session open printed (letters, digits, '.', '_' and '-', up to 64); session list shows them");
        }
        return id;
    }

    static String newId() {
        return ServerIds.newId("s");
    }

    /**
     * Shell functions every script shares. status_of DIR sets st (running, exited, closed, lost),
     * code and why; total_of DIR sets total (output bytes so far) and first (the oldest chunk kept);
     * signal_all ID SIG signals every process that carries the session's mark.
     */
    private static final String FUNCTIONS = String.join("\n",
            "boot=none; [ -r /proc/sys/kernel/random/boot_id ] && read -r boot < /proc/sys/kernel/random/boot_id",
            "status_of() {",
            "  st=running; code=; why=; b=; p=",
            "  [ -f \"$1/boot\" ] && read -r b < \"$1/boot\"",
            "  if [ -f \"$1/exit\" ]; then read -r code < \"$1/exit\"; st=exited",
            "  elif [ \"$b\" != \"$boot\" ]; then st=lost",
            "  elif [ -f \"$1/pid\" ] && read -r p < \"$1/pid\" && ! kill -0 \"$p\" 2>/dev/null; then",
            "    sleep 0.2; if [ -f \"$1/exit\" ]; then read -r code < \"$1/exit\"; st=exited; else st=lost; fi",
            "  fi",
            "  [ -f \"$1/closed\" ] && { read -r why < \"$1/closed\"; st=closed; code=; }",
            "  return 0",
            "}",
            "chunk_index() { i=${1##*.}; while [ ${#i} -gt 1 ] && [ \"${i#0}\" != \"$i\" ]; do i=${i#0}; done; }",
            "total_of() {",
            "  set -- \"$1\"/out.*; total=0; first=0",
            "  [ -f \"$1\" ] || return 0",
            "  chunk_index \"$1\"; first=$i; eval \"l=\\${$#}\"; chunk_index \"$l\"",
            "  total=$((i * " + CHUNK + " + $(wc -c < \"$l\")))",
            "}",
            "signal_all() {",
            "  for f in $(grep -lzxF \"VPS_SESSION=$1\" /proc/[0-9]*/environ 2>/dev/null); do p=${f#/proc/}; kill -$2 \"${p%/environ}\" 2>/dev/null; done",
            "  return 0",
            "}",
            // HUP ends interactive shells, which ignore TERM; what is left after 2 s gets KILL.
            "close_session() {",
            "  [ -f \"$1/exit\" ] && return 0",
            "  [ -f \"$1/closed\" ] || echo \"$3\" > \"$1/closed\"",
            "  signal_all \"$2\" HUP; signal_all \"$2\" TERM",
            "  n=0; while [ ! -f \"$1/exit\" ] && [ $n -lt 20 ]; do sleep 0.1; n=$((n + 1)); done",
            "  [ -f \"$1/exit\" ] && return 0",
            "  signal_all \"$2\" KILL",
            "  n=0; while [ ! -f \"$1/exit\" ] && [ $n -lt 30 ]; do sleep 0.1; n=$((n + 1)); done",
            "  return 0",
            "}",
            "");

    /**
     * The runner, with the session folder in $1, the id in $2, the idle limit (seconds) in $3 and
     * 1 in $4 for a terminal. A watchdog closes the session after $3 s without input. The program
     * reads the FIFO (held open by the runner on fd 3); its output, stderr merged, goes through
     * split into the chunk files, whose filter drops the chunk that falls out of the bound when a
     * new one starts. The exit status is written only after the last byte is in its chunk.
     */
    private static final String RUNNER = FUNCTIONS + String.join("\n",
            "d=$1; trap : HUP",
            "exec 3<>\"$d/in\" || exit 1",
            "( trap 'kill $s 2>/dev/null; exit 0' TERM",
            "  while [ -d \"$d\" ]; do",
            "    read -r last < \"$d/sent\"; r=$((last + $3 - $(date +%s)))",
            "    [ $r -gt 0 ] || { close_session \"$d\" \"$2\" idle; exit 0; }",
            "    sleep $r & s=$!; wait $s",
            "  done ) 3<&- </dev/null >/dev/null 2>&1 &",
            "w=$!",
            "( export " + exports() + " VPS_SESSION=\"$2\"",
            "  if [ \"$4\" = 1 ]; then",
            "    export TERM=" + PTY_TERM + " VPS_SHELL=\"${SHELL:-/bin/sh}\"",
            // script(1) runs its -c string with $SHELL: our /bin/sh, which sizes the terminal, then becomes the login shell.
            "    SHELL=/bin/sh script -qfec '" + PTY_SIZE + " 2>/dev/null; tty > \"$HOME/.vps-toolkit/sessions/$VPS_SESSION/tty\"; "
                    + "SHELL=$VPS_SHELL; unset VPS_SHELL; "
                    + "exec \"$SHELL\" -c \"$(cat \"$HOME/.vps-toolkit/sessions/$VPS_SESSION/command\")\"' /dev/null <&3 3<&-",
            "  else",
            "    \"${SHELL:-/bin/sh}\" -c \"$(cat \"$d/command\")\" <&3 3<&-",
            "  fi",
            "  printf %s $? > \"$d/code\"",
            ") 2>&1 | SHELL=/bin/sh split -b " + CHUNK + " -d -a 6 --filter='i=${FILE##*.}; while [ ${#i} -gt 1 ] && [ \"${i#0}\" != \"$i\" ]; do i=${i#0}; done; "
                    + "k=$((i - " + KEPT_CHUNKS + ")); [ $k -lt 0 ] || rm -f \"${FILE%.*}.$(printf %06d $k)\"; exec cat > \"$FILE\"' - \"$d/out.\" 3<&-",
            "[ -f \"$d/code\" ] || printf '' > \"$d/code\"",
            "mv \"$d/code\" \"$d/exit\"",
            "kill $w 2>/dev/null",
            "");

    private static String exports() {
        StringBuilder s = new StringBuilder();
        new java.util.TreeMap<>(RemoteCommand.NON_INTERACTIVE).forEach((k, v) -> s.append(s.length() == 0 ? "" : " ").append(k).append('=').append(ShellQuote.quote(v)));
        return s.toString();
    }

    private static String folder(String id) {
        return DIR + "/" + checkId(id);
    }

    /** Starts COMMAND (for the login shell, as with ssh) as session ID; with PTY on a terminal; closed after IDLE_SECONDS without input. */
    Status open(String id, String command, boolean pty, long idleSeconds) {
        String d = folder(id);
        String script = "umask 077; [ -d " + DIR + " ] || { mkdir -p " + DIR + " && chmod 700 \"$HOME/.vps-toolkit\" " + DIR + "; } || exit 3\n"
                // Sessions that ended a week ago go: their output was kept long enough to be read.
                + "find " + DIR + " -mindepth 2 -maxdepth 2 -name exit -mtime +7 2>/dev/null | while IFS= read -r f; do rm -rf -- \"${f%/exit}\"; done\n"
                + "mkdir " + d + " && mkfifo " + d + "/in || exit 3\n"
                + "printf %s " + ShellQuote.quote(command) + " > " + d + "/command\n"
                + "echo " + (pty ? 1 : 0) + " > " + d + "/pty; echo " + idleSeconds + " > " + d + "/idle\n"
                + "echo " + System.currentTimeMillis() / 1000 + " > " + d + "/started; date +%s > " + d + "/sent\n"
                + "b=none; [ -r /proc/sys/kernel/random/boot_id ] && read -r b < /proc/sys/kernel/random/boot_id; echo \"$b\" > " + d + "/boot\n"
                + "cd \"$HOME\"; setsid /bin/sh -c " + ShellQuote.quote(RUNNER) + " vps-session " + d + " " + id + " " + idleSeconds + " " + (pty ? 1 : 0)
                + " </dev/null >/dev/null 2>&1 &\n"
                + "echo $! > " + d + "/pid\n";
        run(script, "cannot create the session folder under ~/.vps-toolkit/sessions", "check the home folder's permissions and free space");
        return status(id);
    }

    /**
     * Writes TEXT to the session's input (never in an argv: the script that holds it comes over the
     * channel's stdin). A SECRET is refused while the session's terminal echoes input, which would
     * write it into the output: it goes only to a program that turned echo off, as password prompts do.
     */
    void send(String id, byte[] text, boolean secret) {
        if (text.length > MAX_SEND) {
            throw VpsException.config("the text to send is " + text.length + " bytes; a send takes at most " + MAX_SEND,
                    "send it in parts, or move data with sftp-put and let the program read the file");
        }
        String d = folder(id);
        String out = run(FUNCTIONS + "[ -d " + d + " ] || { echo missing; exit 0; }\n"
                + "status_of " + d + "; [ \"$st\" = running ] || { printf 'ended\\t%s\\t%s\\n' \"$st\" \"$code\"; exit 0; }\n"
                + (secret ? "[ -f " + d + "/tty ] && stty -a -F \"$(cat " + d + "/tty)\" 2>/dev/null | tr ' ;' '\\n\\n' | grep -qx echo"
                        + " && { echo echoing; exit 0; }\n" : "")
                + "date +%s > " + d + "/sent.tmp && mv " + d + "/sent.tmp " + d + "/sent\n"
                + "printf " + printfFormat(text) + " | timeout " + SEND_WAIT_SECONDS + " cat 1<>" + d + "/in"
                + " || { echo full; exit 0; }\necho sent\n");
        if (out.startsWith("missing")) {
            throw missing(id);
        }
        if (out.startsWith("ended")) {
            String[] f = out.trim().split("\t", -1);
            throw new VpsException(VpsException.Kind.REMOTE, "session " + id + " " + ended(f[1], f.length > 2 && !f[2].isEmpty() ? Integer.valueOf(f[2]) : null)
                    + ": it takes no more input", "read its last output with: session read " + id + " --from 0; open a new session to go on", false, null);
        }
        if (out.startsWith("echoing")) {
            throw new VpsException(VpsException.Kind.REMOTE, "session " + id + "'s terminal echoes its input now: the value would be written into the output, so it was not sent",
                    "send it when the program asks for it with echo off (a password prompt does that): session read " + id
                            + " --wait-for 'assword' first", false, null);
        }
        if (out.startsWith("full")) {
            throw new VpsException(VpsException.Kind.TIMEOUT, "session " + id + " did not take the input within " + SEND_WAIT_SECONDS
                    + " s: the program is not reading it (part of it may have been taken)",
                    "read its output to see what it waits for (session read " + id + "), or close it", false, null);
        }
    }

    /**
     * The output from FROM, at most MAX bytes, waiting up to WAIT_TENTHS tenths of a second for
     * output beyond FROM (returning as soon as there is some, or the session ended).
     */
    Chunk read(String id, long from, int max, int waitTenths) {
        String d = folder(id);
        String script = FUNCTIONS + "d=" + d + "; [ -d \"$d\" ] || { echo missing; exit 0; }\n"
                + "from=" + from + "; rem=" + max + "; total_of \"$d\"; n=0\n"
                + "while [ $total -le $from ] && [ $n -lt " + waitTenths + " ] && [ ! -f \"$d/exit\" ] && [ ! -f \"$d/closed\" ]; do\n"
                + "  sleep 0.1; n=$((n + 1)); total_of \"$d\"\ndone\n"
                // The state first: when it says ended, every byte of the output is already in the chunks read below.
                + "status_of \"$d\"; total_of \"$d\"; pos=$from; [ $pos -lt $((first * " + CHUNK + ")) ] && pos=$((first * " + CHUNK + "))\n"
                + "printf '%s\\t%s\\t%s\\t%s\\n' \"$st\" \"$code\" $pos $total\n"
                + "while [ $rem -gt 0 ] && [ $pos -lt $total ]; do\n"
                + "  i=$((pos / " + CHUNK + ")); f=\"$d/out.$(printf %06d $i)\"\n"
                // Held open, a chunk stays readable even when a new one drops it meanwhile; else the read stops, never skips.
                + "  { command exec 4<\"$f\"; } 2>/dev/null || break\n"
                + "  size=$(wc -c < /dev/fd/4); off=$((pos - i * " + CHUNK + ")); k=$((size - off)); [ $k -gt $rem ] && k=$rem\n"
                + "  [ $k -gt 0 ] || break\n"
                + "  tail -c +$((off + 1)) /dev/fd/4 | head -c $k\n"
                + "  pos=$((pos + k)); rem=$((rem - k)); [ $size -lt " + CHUNK + " ] && break\n"
                + "done\nexit 0\n";
        byte[] all = runBytes(script);
        int nl = indexOf(all, (byte) '\n');
        String header = new String(all, 0, Math.max(nl, 0), StandardCharsets.UTF_8);
        if (header.startsWith("missing")) {
            throw missing(id);
        }
        String[] f = header.split("\t", -1);
        if (nl < 0 || f.length < 4) {
            throw new VpsException(VpsException.Kind.REMOTE, "the session helper on " + connection.target.host() + " answered '" + header + "'",
                    "check that the server has a POSIX shell and coreutils", false, null);
        }
        long start = Long.parseLong(f[2]);
        long total = Long.parseLong(f[3]);
        if (from > total) {
            throw VpsException.config("offset " + from + " is past the end of session " + id + "'s output (" + total + " bytes so far)",
                    "read from the 'next' of the previous read, or from 0");
        }
        return new Chunk(f[0], f[1].isEmpty() ? null : Integer.valueOf(f[1]), start, total, Arrays.copyOfRange(all, nl + 1, all.length));
    }

    /** Checks the arguments of a read (as session read and session_read take them) and reads. */
    Reading read(String id, long from, String waitFor, java.time.Duration max, long maxBytes) {
        checkId(id);
        if (from < 0) {
            throw VpsException.config("--from " + from + " is negative", "give the 'next' of the previous read, or 0");
        }
        if (maxBytes < 1 || maxBytes > MAX_READ) {
            throw VpsException.config("at most " + MAX_READ + " bytes can be read at once (asked: " + maxBytes + ")",
                    "read in parts: each read's 'next' is the next one's --from");
        }
        if (max.compareTo(MAX_WAIT) > 0) {
            throw VpsException.config("--max " + Durations.format(max) + " is longer than " + Durations.format(MAX_WAIT),
                    "wait in several reads of at most 50s (an agent's tool call ends at about 60 s)");
        }
        Pattern pattern = null;
        if (waitFor != null) {
            try {
                pattern = Pattern.compile(waitFor, Pattern.MULTILINE);
            } catch (PatternSyntaxException e) {
                throw VpsException.config("--wait-for '" + waitFor + "' is not a valid regular expression: " + e.getDescription(),
                        "write a Java regex, e.g. '\\$ $' for a shell prompt at the end of the output");
            }
        }
        return read(id, from, (int) maxBytes, pattern, max);
    }

    /** TEXT with its escapes, or the value of the local variable SEND_ENV and a newline: exactly one of them. */
    static byte[] input(String text, String sendEnv) {
        if ((text == null) == (sendEnv == null)) {
            throw VpsException.config(text == null ? "nothing to send" : "give TEXT or --send-env NAME, not both",
                    "session send ID 'TEXT\\n', or session send ID --send-env NAME (exported locally first)");
        }
        if (text != null) {
            return Sessions.unescape(text);
        }
        String value = Environment.get(sendEnv);
        if (value == null) {
            throw VpsException.config("--send-env " + sendEnv + ": there is no local variable " + sendEnv + " to send",
                    "export " + sendEnv + " first, then send again");
        }
        return (value + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The output from FROM, at most MAX_BYTES. With WAIT_FOR, reads on (each remote call returns as
     * soon as there is new output) until the output since FROM matches it, the session ends, MAX_BYTES
     * were read or MAX passed.
     */
    Reading read(String id, long from, int maxBytes, Pattern waitFor, java.time.Duration max) {
        long deadline = System.nanoTime() + max.toNanos();
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        long pos = from;
        long skipped = 0;
        boolean matched = false;
        Chunk c;
        for (int round = 0; ; round++) {
            long leftMs = (deadline - System.nanoTime()) / 1_000_000;
            int waitTenths = round == 0 || waitFor == null ? 0 : (int) Math.max(1, Math.min(50, leftMs / 100));
            // 3 bytes more than asked: enough to see where the last character ends
            c = read(id, pos, maxBytes + 3 - got.size(), waitTenths);
            skipped += c.start() - pos;
            got.writeBytes(c.bytes());
            pos = c.next();
            if (waitFor == null) {
                break;
            }
            matched = waitFor.matcher(got.toString(StandardCharsets.UTF_8)).find();
            if (matched || !c.status().equals("running") || got.size() >= maxBytes || System.nanoTime() >= deadline) {
                break;
            }
        }
        byte[] all = got.toByteArray();
        int kept = utf8Boundary(all, maxBytes);
        return new Reading(id, c.status(), c.exitCode(), from, pos - (all.length - kept), skipped, waitFor == null ? null : matched,
                Arrays.copyOf(all, kept), c.total());
    }

    Status status(String id) {
        List<Status> all = statuses(checkId(id));
        if (all.isEmpty()) {
            throw missing(id);
        }
        return all.get(0);
    }

    List<Status> list() {
        return statuses(null);
    }

    private List<Status> statuses(String id) {
        String which = id == null ? DIR + "/*/" : DIR + "/" + id + "/";
        String script = FUNCTIONS + "for d in " + which + "; do d=${d%/}; [ -f \"$d/started\" ] || continue\n"
                + "  status_of \"$d\"; total_of \"$d\"; pty=0; idle=0; started=0\n"
                + "  read -r pty < \"$d/pty\"; read -r idle < \"$d/idle\"; read -r started < \"$d/started\"\n"
                + "  printf '%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t' \"${d##*/}\" \"$st\" \"$code\" \"$why\" \"$started\" $total \"$pty\" \"$idle\"\n"
                + "  head -c 200 \"$d/command\" | tr '\\n\\t' '  '; echo\n"
                + "done\n";
        List<Status> result = new ArrayList<>();
        for (String line : run(script).split("\n")) {
            String[] f = line.split("\t", 9);
            if (f.length < 9) {
                continue;
            }
            try {
                result.add(new Status(f[0], f[1], f[2].isEmpty() ? null : Integer.valueOf(f[2]), f[3].isEmpty() ? null : f[3],
                        Long.parseLong(f[4]), Long.parseLong(f[5]), f[6].equals("1"), Long.parseLong(f[7]), f[8]));
            } catch (NumberFormatException beingCreatedOrRemoved) {
                // another client is writing or removing that session's files right now: it is not listed this time
            }
        }
        return result;
    }

    /** Stops the program (every process of it) if it still runs, then removes the session's folder; returns its last state. */
    Status close(String id) {
        String d = folder(id);
        Status before = status(id);
        run(FUNCTIONS + "close_session " + d + " " + id + " close\nrm -rf -- " + d + "\n");
        return new Status(id, before.running() ? "closed" : before.status(), before.running() ? null : before.exitCode(),
                before.running() ? "close" : before.closeReason(), before.startedEpoch(), before.outputBytes(), before.pty(), before.idleSeconds(),
                before.command());
    }

    /** The \n \r \t \\ and \xHH escapes of TEXT turned into the bytes they stand for (UTF-8 for the rest). */
    static byte[] unescape(String text) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c != '\\') {
                int end = Character.isHighSurrogate(c) && i + 1 < text.length() ? i + 2 : i + 1;
                out.writeBytes(text.substring(i, end).getBytes(StandardCharsets.UTF_8));
                i = end - 1;
                continue;
            }
            char e = i + 1 < text.length() ? text.charAt(i + 1) : ' ';
            switch (e) {
                case 'n' -> out.write('\n');
                case 'r' -> out.write('\r');
                case 't' -> out.write('\t');
                case '\\' -> out.write('\\');
                case 'x' -> {
                    String hex = i + 3 < text.length() ? text.substring(i + 2, i + 4) : "";
                    if (!hex.matches("[0-9A-Fa-f]{2}")) {
                        throw badEscape(text.substring(i, Math.min(text.length(), i + 4)));
                    }
                    out.write(Integer.parseInt(hex, 16));
                    i += 2;
                }
                default -> throw badEscape(text.substring(i, Math.min(text.length(), i + 2)));
            }
            i++;
        }
        return out.toByteArray();
    }

    private static VpsException badEscape(String escape) {
        return VpsException.config("'" + escape + "' is not an escape the text takes",
                "use \\n (Enter), \\r, \\t, \\\\ (a backslash) or \\xHH (a byte, e.g. \\x03 for Ctrl-C on a --pty session)");
    }

    /** How a session that no longer runs ended, in words: "has exited (exit 3)", "was closed", "was lost (...)". */
    static String ended(String status, Integer exitCode) {
        return switch (status) {
            case "exited" -> "has exited" + (exitCode == null ? "" : " (exit " + exitCode + ")");
            case "closed" -> "was closed";
            case "lost" -> "was lost (its server rebooted, or its runner was killed)";
            default -> "is " + status;
        };
    }

    private VpsException missing(String id) {
        return new VpsException(VpsException.Kind.REMOTE, "no session '" + id + "' on " + connection.target.host(),
                "list the sessions with: session list (a closed session's folder is removed)", false, null);
    }

    private String run(String script) {
        return run(script, "the session helper failed on " + connection.target.host(), "check that the server has a POSIX shell with setsid, mkfifo and split (coreutils)");
    }

    private String run(String script, String what, String hint) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ExecOutcome o = ExecRunner.run(connection, RemoteCommand.of(script), out, err, null);
        if (o.exitCode() == null || o.exitCode() != 0) {
            String said = err.toString(StandardCharsets.UTF_8).trim();
            throw new VpsException(VpsException.Kind.REMOTE, what + (said.isEmpty() ? "" : ": " + said), hint, false, null);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private byte[] runBytes(String script) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ExecOutcome o = ExecRunner.run(connection, RemoteCommand.of(script), out, err, null);
        if (o.exitCode() == null || o.exitCode() != 0) {
            throw new VpsException(VpsException.Kind.REMOTE, "the session helper failed on " + connection.target.host() + ": "
                    + err.toString(StandardCharsets.UTF_8).trim(), "check that the server has a POSIX shell and coreutils", false, null);
        }
        return out.toByteArray();
    }

    /**
     * BYTES as a single-quoted printf format that prints exactly them: plain characters as they are,
     * every other byte (and %, backslash, quote) as an octal escape, so any byte reaches the program intact.
     */
    static String printfFormat(byte[] bytes) {
        StringBuilder s = new StringBuilder("'");
        for (byte b : bytes) {
            int c = b & 0xFF;
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || " ,._+:@/=-".indexOf(c) >= 0) {
                s.append((char) c);
            } else {
                s.append(String.format("\\%03o", c));
            }
        }
        return s.append('\'').toString();
    }

    private static int indexOf(byte[] bytes, byte b) {
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == b) {
                return i;
            }
        }
        return -1;
    }

    /** The largest length up to MAX that does not split a UTF-8 sequence (the next read starts at a character). */
    static int utf8Boundary(byte[] bytes, int max) {
        if (bytes.length <= max) {
            return bytes.length;
        }
        int end = max;
        while (end > 0 && end > max - 4 && (bytes[end] & 0xC0) == 0x80) {
            end--;
        }
        return end > max - 4 ? end : max;
    }
}
