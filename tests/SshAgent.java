import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** A real OpenSSH ssh-agent on a private socket, holding the given keys; stopped on close. */
final class SshAgent implements AutoCloseable {
    private final Process process;
    final Path socket;

    SshAgent(Path dir, Path... keys) throws IOException, InterruptedException {
        socket = dir.resolve("agent.sock");
        process = new ProcessBuilder("ssh-agent", "-D", "-a", socket.toString()).redirectErrorStream(true).start();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!Files.exists(socket) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        for (Path key : keys) {
            ProcessBuilder add = new ProcessBuilder("ssh-add", key.toString()).redirectErrorStream(true);
            add.environment().put("SSH_AUTH_SOCK", socket.toString());
            Process p = add.start();
            String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                close();
                throw new IllegalStateException("ssh-add " + key + " failed: " + said);
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        Processes.stop(process.toHandle(), Duration.ofSeconds(5));
    }
}
