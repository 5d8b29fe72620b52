import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.sshd.server.ExitCallback;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;

/**
 * One exec request to the engine. `SCRIPT` runs that script's command in-process; `interrupt ID`
 * interrupts the running call ID (the client's Ctrl-C), which then prints the same report and
 * exits as a cold call would. The caller's argv, folder, terminals, pid and sources arrive as
 * environment requests VPS_CALL_*, and the rest of its environment as itself.
 */
final class EngineCall implements Command {
    /** 128 + SIGINT, as a cold call interrupted by Ctrl-C. */
    static final int INTERRUPTED = Interrupts.EXIT;
    private static final long INTERRUPT_GRACE_MS = 5000;

    private final EngineServer engine;
    private final String request;
    String id;
    private InputStream in;
    private OutputStream out;
    private OutputStream err;
    private ExitCallback exit;
    private volatile Thread worker;
    private volatile Interrupts.Scope interrupts;
    private volatile ProcessHandle client;
    private volatile boolean finished;
    private volatile Thread stopper;
    private final long startedAt = System.nanoTime();

    EngineCall(EngineServer engine, String request) {
        this.engine = engine;
        this.request = request;
    }

    @Override
    public void setInputStream(InputStream in) {
        this.in = in;
    }

    @Override
    public void setOutputStream(OutputStream out) {
        this.out = out;
    }

    @Override
    public void setErrorStream(OutputStream err) {
        this.err = err;
    }

    @Override
    public void setExitCallback(ExitCallback callback) {
        this.exit = callback;
    }

    @Override
    public void start(ChannelSession channel, org.apache.sshd.server.Environment env) {
        Map<String, String> vars = new HashMap<>(env.getEnv());
        id = vars.getOrDefault("VPS_CALL_ID", "");
        if (request.startsWith("interrupt ")) {
            EngineCall target = engine.call(request.substring("interrupt ".length()).trim());
            if (target != null) {
                target.interrupt("Ctrl-C at the client");
            }
            exit.onExit(target != null ? 0 : 1);
            return;
        }
        if (!id.matches("[A-Za-z0-9_-]{1,64}")) {
            refuse("vps: CONFIG: the engine got a call without a valid VPS_CALL_ID", 2);
            return;
        }
        if (!engine.accepts(vars.get("VPS_CALL_SOURCES"))) {
            engine.files.mark(id, "retired");
            exit.onExit(255);
            return;
        }
        engine.files.mark(id, "started");
        engine.begin(this);
        client = parsePid(vars.get("VPS_CALL_PID"));
        worker = new Thread(() -> run(vars), "vps-call-" + id);
        worker.start();
    }

    private void run(Map<String, String> vars) {
        // JSch writes every channel's output on its one session thread: a client that reads slowly (or
        // not at all: a paused agent) must not make that write wait, or every call on the same warm
        // login would stall with it. Each stream goes through a buffer that never blocks its writer.
        Relay outRelay = new Relay(out, engine.files.spill(), "vps-call-out-" + id);
        Relay errRelay = new Relay(err, engine.files.spill(), "vps-call-err-" + id);
        PrintStream stdout = new PrintStream(outRelay.writer(), true, StandardCharsets.UTF_8);
        PrintStream stderr = new PrintStream(errRelay.writer(), true, StandardCharsets.UTF_8);
        int code;
        interrupts = Interrupts.newScope();
        try (Environment.Scope ignored = Environment.enter(callEnvironment(vars), Path.of(vars.getOrDefault("VPS_CALL_CWD", "/")),
                terminals(vars.get("VPS_CALL_TTY")));
             Interrupts.Registration scope = Interrupts.enter(interrupts)) {
            Object command = engine.commands.make(request, stdout, stderr, in);
            if (command == null) {
                stderr.println("vps: CONFIG: the engine has no command " + request);
                stderr.println("hint: vps exec|put|get|job|session|diagnose-auth|connection ...");
                code = 2;
            } else {
                code = Cli.commandLine(command, stdout, stderr).execute(argv(vars.getOrDefault("VPS_CALL_ARGV", "")).toArray(String[]::new));
            }
            if (code == ColdRun.EXIT) {
                stdout.close();
                stderr.close();
                outRelay.drain();
                errRelay.drain();
                finishNotRun();
                return;
            }
            if (Interrupts.happened()) {   // inside the call's scope: waits until its report is printed
                code = INTERRUPTED;
            }
        } catch (RuntimeException | Error e) {
            stderr.println("vps: CONFIG: the engine failed on this call: " + e);
            stderr.println("hint: run it cold with VPS_ENGINE=0, and report the engine's log (" + engine.files.dir().resolve("log") + ")");
            code = 2;
        }
        stdout.close();
        stderr.close();
        outRelay.drain();
        errRelay.drain();
        finish(code);
    }

    /** One stream of a call: the command writes into a {@link SpillBuffer}, a pump sends it to the client. */
    private static final class Relay {
        private final SpillBuffer buffer;
        private final Thread pump;

        Relay(OutputStream client, Path spillDir, String name) {
            buffer = new SpillBuffer(spillDir);
            pump = Daemons.start(name, () -> {
                byte[] chunk = new byte[32 * 1024];
                try (InputStream from = buffer.reader()) {
                    int n;
                    while ((n = from.read(chunk)) >= 0) {
                        client.write(chunk, 0, n);
                        client.flush();
                    }
                } catch (IOException clientGone) {
                    buffer.abandon();   // later writes are dropped, never waited on
                }
            });
        }

        OutputStream writer() {
            return buffer.writer();
        }

        /** Until the client has it all (or is gone): the exit status comes after the output. */
        void drain() {
            try {
                pump.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private synchronized void finish(int code) {
        if (finished) {
            return;
        }
        finished = true;
        // One line a call in the engine's log (no argv: it may carry values): what ran, how it ended.
        System.err.println("call " + id + " " + request + " exit " + code + " after " + (System.nanoTime() - startedAt) / 1_000_000 + " ms");
        // Kept until the engine's clock removes it: a client whose ssh lost the exit status reads it there.
        engine.files.mark(id, "done " + code);
        engine.end(this);
        exit.onExit(code);
    }

    /** The call must run in the client's own process (see {@link ColdRun}): "not run", which bin/vps answers with a cold run. */
    private synchronized void finishNotRun() {
        if (finished) {
            return;
        }
        finished = true;
        System.err.println("call " + id + " " + request + " runs cold at the client: it needs the client's terminal");
        engine.files.mark(id, "cold");
        engine.end(this);
        exit.onExit(255);
    }

    /** The client pressed Ctrl-C or went away: stop what the call started on the server and report, as a cold call does. */
    synchronized void interrupt(String why) {
        Interrupts.Scope scope = interrupts;
        Thread t = worker;
        if (scope == null || t == null || finished || stopper != null) {
            return;
        }
        System.err.println("vps-engine: call " + id + " interrupted: " + why);
        stopper = Daemons.start("vps-call-stop-" + id, () -> {
            scope.interrupt();
            try {
                t.join(INTERRUPT_GRACE_MS);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
            if (t.isAlive()) {
                t.interrupt();
                finish(INTERRUPTED);
            }
        });
    }

    /** Called every second: a client process that died without closing its channel (kill -9 of the bash client). */
    void checkClient() {
        ProcessHandle c = client;
        if (c != null && !c.isAlive()) {
            client = null;
            interrupt("its client process " + c.pid() + " ended");
        }
    }

    @Override
    public void destroy(ChannelSession channel) {
        if (!finished) {
            interrupt("its channel closed");
        }
    }

    private void refuse(String line, int code) {
        try {
            err.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            err.flush();
        } catch (IOException ignored) {
            // the client is gone
        }
        exit.onExit(code);
    }

    /** The call's environment is the caller's, as a cold call's would be (bin/vps sends all of it), without the call's own VPS_CALL_*. */
    static Map<String, String> callEnvironment(Map<String, String> sent) {
        Map<String, String> vars = new HashMap<>(sent);
        vars.keySet().removeIf(k -> k.startsWith("VPS_CALL_"));
        return vars;
    }

    static Environment.Terminals terminals(String flags) {
        String f = flags == null ? "000" : flags;
        return new Environment.Terminals(f.length() > 0 && f.charAt(0) == '1', f.length() > 1 && f.charAt(1) == '1',
                f.length() > 2 && f.charAt(2) == '1');
    }

    /** The client's encoding of argv: each argument as BYTE_LENGTH:BYTES (no NUL can occur in an argument). */
    static List<String> argv(String encoded) {
        byte[] bytes = encoded.getBytes(StandardCharsets.UTF_8);
        List<String> args = new ArrayList<>();
        int i = 0;
        while (i < bytes.length) {
            int colon = i;
            while (colon < bytes.length && bytes[colon] != ':') {
                colon++;
            }
            int length = Integer.parseInt(new String(bytes, i, colon - i, StandardCharsets.US_ASCII));
            args.add(new String(bytes, colon + 1, length, StandardCharsets.UTF_8));
            i = colon + 1 + length;
        }
        return args;
    }

    private static ProcessHandle parsePid(String pid) {
        try {
            return pid == null ? null : ProcessHandle.of(Long.parseLong(pid)).orElse(null);
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
