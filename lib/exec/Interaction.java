import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * One run's conversation with its command: the --expect rules that type answers into its stdin, the
 * --send-env values kept out of its output, and the prompt that nobody answers (--input-wait).
 * {@link ExecRunner} feeds the channel from {@link #input}, passes both output streams through
 * {@link #tap}, asks {@link #stopReason} while it waits, and calls {@link #finish} at the end.
 */
final class Interaction {
    /** The output kept for matching and messages: a prompt is near the end, so a bounded tail is enough. */
    private static final int KEEP_CHARS = 64 * 1024;
    /** The end of the output, for the prompt check and the last line in a message. */
    private static final int RECENT_CHARS = 4 * 1024;
    private static final byte[] END = new byte[0];

    private final List<PromptRules.Rule> rules;
    private final List<byte[]> secrets = new ArrayList<>();
    private final long expectTimeoutNanos;
    private final Duration expectTimeout;
    /** Null: off (a person can answer, or the command cannot read anything). */
    private final Duration inputWait;
    private final boolean pty;
    private final LinkedBlockingQueue<byte[]> typed = new LinkedBlockingQueue<>();
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
    private byte[] undecoded = new byte[0];
    private final StringBuilder sinceMatch = new StringBuilder();
    private final StringBuilder recent = new StringBuilder();
    private final List<SecretRedactor> redactors = new ArrayList<>();
    private int next;
    private long stepStart = System.nanoTime();
    private long lastOutput = stepStart;
    /** The command has been given an end of file: it cannot wait for input any more. A terminal gives none by itself. */
    private volatile boolean inputEnded;
    /** With a terminal: the token its last script prints once it is cooked again (null when seen, or no terminal). */
    private byte[] readyToken;
    /** Output that may be the start of the token. */
    private final java.io.ByteArrayOutputStream maybeToken = new java.io.ByteArrayOutputStream();
    private final java.util.concurrent.CountDownLatch ready = new java.util.concurrent.CountDownLatch(1);
    private volatile boolean finished;
    private SecretRedactor stdoutRedactor;

    Interaction(List<PromptRules.Rule> rules, Duration expectTimeout, Duration inputWait, boolean pty) {
        this.rules = List.copyOf(rules);
        this.expectTimeout = expectTimeout;
        this.expectTimeoutNanos = expectTimeout.toNanos();
        this.inputWait = inputWait == null || inputWait.isZero() ? null : inputWait;
        this.pty = pty;
        rules.stream().filter(PromptRules.Rule::secret).forEach(r -> secrets.add(stripNewline(r.answer())));
    }

    /** Whether the command's stdin stays open for the rules' answers. */
    boolean answers() {
        return !rules.isEmpty();
    }

    /** The channel's stdin for CMD: HEADER, then the rules' answers as they match, or the caller's STDIN (null: none). */
    InputStream input(RemoteCommand cmd, byte[] header, InputStream stdin) {
        synchronized (this) {
            readyToken = cmd.pty() ? Terminal.readyToken(cmd.runId()).getBytes(StandardCharsets.US_ASCII) : null;
        }
        if (!cmd.pty()) {
            ready.countDown();
        }
        InputStream first = new ByteArrayInputStream(header);
        if (answers()) {
            return new SequenceInputStream(first, new Typed());
        }
        if (stdin != null) {
            return new SequenceInputStream(first, new EndWatch(stdin));
        }
        inputEnded = !pty;
        return first;
    }

    /** The --send-env values this interaction types (kept out of its output and of the audit log). */
    List<byte[]> secrets() {
        return List.copyOf(secrets);
    }

    /** TARGET, with the output watched (rules, prompts), secrets masked and, on STDOUT, the terminal's token dropped. */
    synchronized OutputStream tap(OutputStream target, boolean stdout) {
        SecretRedactor redactor = new SecretRedactor(target, secrets);
        redactors.add(redactor);
        if (stdout) {
            stdoutRedactor = redactor;
        }
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                if (stdout) {
                    stdoutBytes(b, off, len, redactor);
                } else {
                    pass(b, off, len, redactor);
                }
            }

            @Override
            public void flush() throws IOException {
                redactor.flush();
            }
        };
    }

    private void pass(byte[] b, int off, int len, SecretRedactor redactor) throws IOException {
        if (len > 0) {
            saw(b, off, len);
            redactor.write(b, off, len);
        }
    }

    /** Stdout (one writer: the channel's thread): passed on, except the terminal's ready token, which releases the input. */
    private void stdoutBytes(byte[] b, int off, int len, SecretRedactor redactor) throws IOException {
        byte[] held;
        int at;
        byte[] token;
        synchronized (this) {
            token = readyToken;
            if (token == null) {
                held = null;
                at = -1;
            } else {
                maybeToken.write(b, off, len);
                held = maybeToken.toByteArray();
                maybeToken.reset();
                at = indexOf(held, token);
                if (at >= 0) {
                    readyToken = null;
                } else {
                    int keep = startOfTokenAtEnd(held, token);
                    maybeToken.write(held, held.length - keep, keep);
                    held = java.util.Arrays.copyOf(held, held.length - keep);
                }
            }
        }
        if (held == null) {
            pass(b, off, len, redactor);
        } else if (at < 0) {
            pass(held, 0, held.length, redactor);
        } else {
            pass(held, 0, at, redactor);
            ready.countDown();
            pass(held, at + token.length, held.length - at - token.length, redactor);
        }
    }

    private static int indexOf(byte[] data, byte[] part) {
        for (int i = 0; i + part.length <= data.length; i++) {
            if (java.util.Arrays.equals(data, i, i + part.length, part, 0, part.length)) {
                return i;
            }
        }
        return -1;
    }

    private static int startOfTokenAtEnd(byte[] data, byte[] token) {
        for (int n = Math.min(token.length - 1, data.length); n > 0; n--) {
            if (java.util.Arrays.equals(data, data.length - n, data.length, token, 0, n)) {
                return n;
            }
        }
        return 0;
    }

    /** Until the terminal is cooked again (at once without one); false when the run ended first. */
    private boolean awaitReady() {
        try {
            ready.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        return !finished;
    }

    private synchronized void saw(byte[] b, int off, int len) {
        lastOutput = System.nanoTime();
        String text = decode(b, off, len);
        append(sinceMatch, text, KEEP_CHARS);
        append(recent, text, RECENT_CHARS);
        while (next < rules.size()) {
            java.util.regex.Matcher m = rules.get(next).expect().matcher(sinceMatch);
            if (!m.find()) {
                break;
            }
            sinceMatch.delete(0, m.end());
            typed.add(rules.get(next).answer());
            next++;
            stepStart = lastOutput;
            if (next == rules.size() && !pty) {
                typed.add(END);   // answered all: the command sees EOF, as without --expect
            }
        }
    }

    /** Why the command must be stopped now (TIMEOUT), or null while all is well. */
    synchronized VpsException stopReason() {
        long now = System.nanoTime();
        if (next < rules.size() && now - stepStart > expectTimeoutNanos) {
            PromptRules.Rule rule = rules.get(next);
            return new VpsException(VpsException.Kind.TIMEOUT, rule.label() + " did not match within " + Durations.human(expectTimeout)
                    + "; the command was stopped" + lastLineSaid(),
                    "compare the regex with the output (it is matched against the output since the previous rule's match, both streams);"
                            + " fix it, or raise --expect-timeout; for a conversation that varies, use a session (session open)", false, null);
        }
        if (inputWait != null && !inputEnded && now - lastOutput >= inputWait.toNanos()) {
            String prompt = InputWait.prompt(recent.toString());
            if (prompt != null) {
                return new VpsException(VpsException.Kind.TIMEOUT, "waiting for input: " + SecretRedactor.redact(prompt, secrets)
                        + " (no output for " + Durations.human(inputWait) + " after it; the command was stopped)",
                        "answer it with --expect REGEX --send TEXT, or use the program's non-interactive flag (-y, --batch,"
                                + " --non-interactive, ...); a conversation belongs in a session (session open); --input-wait DUR waits longer", false, null);
            }
        }
        return null;
    }

    private String lastLineSaid() {
        String line = Heartbeat.lastLine(SecretRedactor.redact(recent.toString(), secrets));
        return line.isEmpty() ? "; it printed nothing" : "; last output line: " + line;
    }

    /** The run has ended: held output is written, and the stdin feed ends (the channel's pump thread returns). */
    void finish() {
        finished = true;
        ready.countDown();
        typed.add(END);
        List<SecretRedactor> all;
        byte[] notToken;
        synchronized (this) {
            all = List.copyOf(redactors);
            notToken = maybeToken.toByteArray();
            maybeToken.reset();
            readyToken = null;
        }
        if (notToken.length > 0 && stdoutRedactor != null) {
            try {
                stdoutRedactor.write(notToken);
            } catch (IOException ignored) {
                // the sink is gone
            }
        }
        for (SecretRedactor r : all) {
            try {
                r.release();
            } catch (IOException ignored) {
                // the sink is gone; nothing more to show
            }
        }
    }

    private String decode(byte[] b, int off, int len) {
        ByteBuffer in = ByteBuffer.allocate(undecoded.length + len);
        in.put(undecoded).put(b, off, len).flip();
        CharBuffer out = CharBuffer.allocate(in.remaining() + 1);
        decoder.decode(in, out, false);
        undecoded = new byte[in.remaining()];
        in.get(undecoded);
        return out.flip().toString();
    }

    private static void append(StringBuilder into, String text, int keep) {
        into.append(text);
        if (into.length() > keep) {
            into.delete(0, into.length() - keep);
        }
    }

    private static byte[] stripNewline(byte[] answer) {
        return java.util.Arrays.copyOf(answer, answer.length - 1);
    }

    /** The answers, in the order the rules matched; ends at {@link #END}. Read by the channel's own thread. */
    private final class Typed extends InputStream {
        private byte[] current = new byte[0];
        private int pos;
        private boolean ended;

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        private boolean started;

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (!started) {
                started = true;
                ended = !awaitReady();
            }
            while (!ended && pos == current.length) {
                try {
                    current = typed.take();
                    pos = 0;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    current = END;
                }
                if (current == END) {
                    ended = true;
                    inputEnded = !pty;
                }
            }
            if (ended) {
                return -1;
            }
            int n = Math.min(len, current.length - pos);
            System.arraycopy(current, pos, b, off, n);
            pos += n;
            return n;
        }
    }

    /**
     * The caller's stdin, noting its end: after it the command gets EOF and cannot wait for more. A
     * terminal gets it once cooked, and its end as Ctrl-D (twice after a partial line: the first ends the line).
     */
    private final class EndWatch extends InputStream {
        private final InputStream in;
        private boolean started;
        private int last = '\n';
        private int eofsToType = -1;

        EndWatch(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (!started) {
                started = true;
                if (!awaitReady()) {
                    eofsToType = 0;
                }
            }
            if (eofsToType < 0) {
                int n = in.read(b, off, len);
                if (n > 0) {
                    last = b[off + n - 1];
                    return n;
                }
                eofsToType = pty && len > 0 && n < 0 ? (last == '\n' ? 1 : 2) : 0;
                if (n == 0) {
                    eofsToType = -1;
                    return 0;
                }
            }
            if (eofsToType > 0) {
                eofsToType--;
                b[off] = Terminal.EOF;
                return 1;
            }
            inputEnded = true;
            return -1;
        }
    }
}
