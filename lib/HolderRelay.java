import com.jcraft.jsch.Channel;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.server.Environment;
import org.apache.sshd.server.ExitCallback;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;

/**
 * One client channel of the holder relayed to one upstream channel of the same kind (exec or a
 * subsystem such as sftp): bytes both ways, then the upstream's exit status or exit signal. An
 * upstream that ended without either (the link died) closes the client channel without one, so
 * the client reports a lost connection, never a made-up exit code.
 */
final class HolderRelay implements Command {
    private final Channel upstream;
    private final SpillBuffer stdout;
    private final SpillBuffer stderr;
    private final Runnable releaseSlot;
    private final AtomicBoolean released = new AtomicBoolean();
    private InputStream in;
    private OutputStream out;
    private OutputStream err;
    private ExitCallback exit;

    HolderRelay(Channel upstream, SpillBuffer stdout, SpillBuffer stderr, Runnable releaseSlot) {
        this.upstream = upstream;
        this.stdout = stdout;
        this.stderr = stderr;
        this.releaseSlot = releaseSlot;
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
        OutputStream toServer = upstream.getOutputStream();
        Thread outPump = pump(stdout.reader(), out, "out");
        Thread errPump = pump(stderr.reader(), err, "err");
        daemon(() -> {
            byte[] buf = new byte[32 * 1024];
            try (toServer) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    toServer.write(buf, 0, n);
                    toServer.flush();
                }
            } catch (IOException ignored) {
                // either side closed: the server gets EOF (or the channel is gone anyway)
            }
        }, "holder-stdin");
        daemon(() -> {
            try {
                outPump.join();
                errPump.join();
                finish(channel);
            } catch (InterruptedException | IOException e) {
                channel.close(true);
            }
        }, "holder-exit");
    }

    /** Both streams ended, which JSch does only once the upstream channel has closed. */
    private void finish(ChannelSession channel) throws IOException {
        release();
        String signal = upstream instanceof com.jcraft.jsch.ChannelExec exec ? exec.getExitSignal() : null;
        int status = upstream.getExitStatus();
        if (signal != null && !signal.isEmpty()) {
            Buffer b = channel.getSession().createBuffer(SshConstants.SSH_MSG_CHANNEL_REQUEST, 64);
            b.putUInt(channel.getRecipient());
            b.putString("exit-signal");
            b.putBoolean(false);
            b.putString(signal);
            b.putBoolean(false);
            b.putString("");
            b.putString("");
            channel.writePacket(b);
            exit.onExit(status >= 0 ? status : 128, "signal " + signal, false);
        } else if (status >= 0) {
            exit.onExit(status);
        } else {
            channel.close(false);
        }
    }

    private void release() {
        if (released.compareAndSet(false, true)) {
            releaseSlot.run();
        }
    }

    /** The client went away: end the upstream channel too, and drop what was buffered for it. */
    @Override
    public void destroy(ChannelSession channel) {
        upstream.disconnect();
        stdout.abandon();
        stderr.abandon();
        release();
    }

    private static Thread pump(InputStream from, OutputStream to, String name) {
        return daemon(() -> {
            byte[] buf = new byte[32 * 1024];
            try {
                int n;
                while ((n = from.read(buf)) >= 0) {
                    to.write(buf, 0, n);
                    to.flush();
                }
            } catch (IOException ignored) {
                // the client channel closed: nobody is left to read
            }
        }, "holder-" + name);
    }

    static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }
}
