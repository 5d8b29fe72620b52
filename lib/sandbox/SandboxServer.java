import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.server.Environment;
import org.apache.sshd.server.ExitCallback;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.apache.sshd.server.config.keys.AuthorizedKeysAuthenticator;
import org.apache.sshd.server.keyprovider.SimpleGeneratorHostKeyProvider;
import org.apache.sshd.sftp.server.SftpSubsystemFactory;

/**
 * The sandbox's SSH server process (Apache MINA SSHD): 127.0.0.1, an ephemeral port, public-key
 * login for the current user only, commands run by /bin/sh in the sandbox home, SFTP. It writes
 * its keys and known_hosts into the state folder, then server.json with its port and pid.
 */
final class SandboxServer {
    private SandboxServer() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1 || !Path.of(args[0]).isAbsolute()) {
            System.err.println("usage: SandboxServer ABSOLUTE_STATE_FOLDER (it is started by the sandbox command, not by hand)");
            System.exit(2);
        }
        Path state = Path.of(args[0]);
        Path home = LocalFolders.privateDir(state.resolve("home"));
        String user = System.getProperty("user.name");
        ensureClientKey(state);

        SimpleGeneratorHostKeyProvider hostKeys = new SimpleGeneratorHostKeyProvider(state.resolve("host_key"));
        hostKeys.setAlgorithm(KeyUtils.EC_ALGORITHM);
        hostKeys.setKeySize(256);

        SshServer server = SshServer.setUpDefaultServer();
        server.setHost("127.0.0.1");
        server.setPort(0);
        server.setKeyPairProvider(hostKeys);
        AuthorizedKeysAuthenticator authorized = new AuthorizedKeysAuthenticator(state.resolve("client_key.pub"));
        server.setPublickeyAuthenticator((name, key, session) -> name.equals(user) && authorized.authenticate(name, key, session));
        server.setPasswordAuthenticator(null);
        server.setKeyboardInteractiveAuthenticator(null);
        server.setCommandFactory((channel, command) -> new ShellCommand(command, home));
        server.setSubsystemFactories(List.of(new SftpSubsystemFactory()));
        server.start();

        String hostKey = PublicKeyEntry.toString(hostKeys.loadKeys(null).iterator().next().getPublic());
        writeAtomically(state.resolve("known_hosts"), "[127.0.0.1]:" + server.getPort() + " " + hostKey + "\n");
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("pid", ProcessHandle.current().pid());
        info.put("port", server.getPort());
        info.put("user", user);
        writeAtomically(state.resolve("server.json"), Json.write(info));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.stop(true);
            } catch (IOException ignored) {
                // exiting anyway
            }
        }));
        Thread.currentThread().join();
    }

    private static void ensureClientKey(Path state) throws Exception {
        Path key = state.resolve("client_key");
        if (Files.isRegularFile(key) && Files.isRegularFile(state.resolve("client_key.pub"))) {
            return;
        }
        KeyFiles.generate(key, "vps-toolkit-sandbox");
    }

    static void writeAtomically(Path file, String text) throws IOException {
        LocalFolders.writePrivate(file, text);
    }

    /** One exec request: /bin/sh -c COMMAND in the sandbox home, streams pumped both ways. */
    static final class ShellCommand implements Command {
        private final String command;
        private final Path home;
        private InputStream in;
        private OutputStream out;
        private OutputStream err;
        private ExitCallback exit;
        private Process process;

        ShellCommand(String command, Path home) {
            this.command = command;
            this.home = home;
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
        public void start(ChannelSession channel, Environment env) throws IOException {
            ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", command).directory(home.toFile());
            pb.environment().put("HOME", home.toString());
            pb.environment().put("SHELL", "/bin/sh");
            process = pb.start();
            Thread stdin = pump(in, process.getOutputStream(), "stdin");
            Thread stdout = pump(process.getInputStream(), out, "stdout");
            Thread stderr = pump(process.getErrorStream(), err, "stderr");
            Thread waiter = Daemons.start("sandbox-wait", () -> {
                try {
                    int code = process.waitFor();
                    stdout.join();
                    stderr.join();
                    stdin.interrupt();
                    exit.onExit(code);
                } catch (InterruptedException e) {
                    exit.onExit(255);
                }
            });
        }

        @Override
        public void destroy(ChannelSession channel) {
            if (process != null && process.isAlive()) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
            }
        }

        private static Thread pump(InputStream from, OutputStream to, String name) {
            return Daemons.start("sandbox-" + name, () -> {
                byte[] buf = new byte[32 * 1024];
                try (from; to) {
                    int n;
                    while ((n = from.read(buf)) >= 0) {
                        to.write(buf, 0, n);
                        to.flush();
                    }
                } catch (IOException ignored) {
                    // the other side went away: nothing left to copy
                }
            });
        }
    }
}
