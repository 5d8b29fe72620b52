import com.jcraft.jsch.ChannelExec;
import com.jcraft.jsch.ChannelSubsystem;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import org.apache.sshd.common.channel.RequestHandler.Result;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.apache.sshd.server.channel.ChannelSession;

/**
 * A client's session channel in the holder. A transfer request runs in the holder itself
 * ({@link HolderTransfer}); any other exec or subsystem request is answered only once
 * the upstream channel is open: success, or failure when it could not be opened (link down and
 * no reconnect, no session slot in time), so the client knows for sure that nothing started.
 * The opening runs on its own thread because it takes network round trips (and may wait in line
 * for a session slot), and MINA's few I/O threads must never wait.
 */
final class HolderChannel extends ChannelSession {
    private final HolderUpstream upstream;
    private final Path spillDir;
    private final ExecutorService opener;

    HolderChannel(HolderUpstream upstream, Path spillDir, ExecutorService opener) {
        this.upstream = upstream;
        this.spillDir = spillDir;
        this.opener = opener;
    }

    @Override
    protected Result handleExec(String request, Buffer buffer, boolean wantReply) throws IOException {
        byte[] command = buffer.getBytes();
        relay(request, wantReply, c -> {
            ChannelExec exec = (ChannelExec) c.openChannel("exec");
            exec.setCommand(command);
            return exec;
        });
        return Result.Replied;
    }

    @Override
    protected Result handleSubsystem(String request, Buffer buffer, boolean wantReply) throws IOException {
        String name = buffer.getString();
        HolderTransfer transfer = HolderTransfer.forSubsystem(upstream, name, upstream.log);
        if (transfer != null) {
            type = request;
            commandInstance = transfer;
            respond(request, prepareChannelCommand(request, transfer), wantReply);
            return Result.Replied;
        }
        relay(request, wantReply, c -> {
            ChannelSubsystem sub = (ChannelSubsystem) c.openChannel("subsystem");
            sub.setSubsystem(name);
            return sub;
        });
        return Result.Replied;
    }

    private void relay(String request, boolean wantReply, HolderUpstream.ChannelMaker maker) {
        opener.execute(() -> {
            SpillBuffer out = new SpillBuffer(spillDir);
            SpillBuffer err = new SpillBuffer(spillDir);
            com.jcraft.jsch.Channel channel;
            try {
                channel = upstream.open(maker, c -> {
                    c.setOutputStream(out.writer(), false);
                    c.setExtOutputStream(err.writer(), false);
                });
            } catch (VpsException e) {
                upstream.failed(e);
                respond(request, Result.ReplyFailure, wantReply);
                close(false);
                return;
            } catch (InterruptedException e) {
                respond(request, Result.ReplyFailure, wantReply);
                close(false);
                return;
            }
            if (isClosing()) {
                channel.disconnect();
                upstream.release();
                return;
            }
            try {
                // What handleExecParsed does for a command it creates at once: sendResponse then starts it.
                type = request;
                commandInstance = new HolderRelay(channel, out, err, upstream::release);
                Result prepared = prepareChannelCommand(request, commandInstance);
                if (prepared != Result.ReplySuccess) {
                    channel.disconnect();
                    upstream.release();
                }
                respond(request, prepared, wantReply);
            } catch (IOException e) {
                channel.disconnect();
                close(true);
            }
        });
    }

    private void respond(String request, Result result, boolean wantReply) {
        try {
            sendResponse(new ByteArrayBuffer(), request, result, wantReply);
        } catch (IOException e) {
            close(true);
        }
    }
}
