import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;

/**
 * Runs a script's command in-process with captured streams, as a user would from a shell; in the
 * suite's engine pass, through bin/vps and the warm engine instead ({@link EngineRuns}).
 */
final class Runs {
    record Result(int exit, byte[] stdoutBytes, String stderr, long millis) {
        String stdout() {
            return new String(stdoutBytes, StandardCharsets.UTF_8);
        }

        Map<?, ?> json() {
            return Json.read(stdout(), Map.class);
        }

        @Override
        public String toString() {
            return "exit " + exit + " after " + millis + " ms\n--- stdout\n" + abbreviate(stdout()) + "\n--- stderr\n" + abbreviate(stderr);
        }

        private static String abbreviate(String s) {
            return s.length() > 2000 ? s.substring(0, 2000) + "..." : s;
        }
    }

    private Runs() {}

    static Result exec(List<String> args) {
        return exec(args, new byte[0]);
    }

    static Result exec(List<String> args, byte[] stdin) {
        return run(args, stdin, (out, err, in) -> new ExecCommand(out, err, in));
    }

    static Result sandbox(String... args) {
        return run(List.of(args), new byte[0], (out, err, in) -> new SandboxCommand(out, err));
    }

    interface Factory {
        Object make(PrintStream out, PrintStream err, InputStream in);
    }

    static Result run(List<String> args, byte[] stdin, Factory factory) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream outStream = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream errStream = new PrintStream(err, true, StandardCharsets.UTF_8);
        long start = System.nanoTime();
        Cli.Made command = Cli.made(factory::make, outStream, errStream, new ByteArrayInputStream(stdin));
        String script = command.command().getClass().getAnnotation(Command.class).name();
        if (EngineRuns.serves(script)) {
            return EngineRuns.run(script, args, stdin);
        }
        int exit = Cli.commandLine(command, outStream, errStream).execute(args.toArray(String[]::new));
        long millis = (System.nanoTime() - start) / 1_000_000;
        return new Result(exit, out.toByteArray(), err.toString(StandardCharsets.UTF_8), millis);
    }
}
