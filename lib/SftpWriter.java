import com.jcraft.jsch.ChannelSftp;
import com.jcraft.jsch.ChannelSubsystem;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.SftpException;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * One SFTP v3 write handle on its own channel, taking WRITE requests at any offset, pipelined up
 * to a cap, and telling when every request of a piece of work has been acknowledged.
 * Hand-written (about a hundred lines of the protocol) because JSch's ChannelSftp writes a handle
 * only sequentially from where it opened it and reports no acknowledged progress, and both are
 * what striping one file over several channels needs. Not thread-safe: one writer per thread.
 */
final class SftpWriter implements AutoCloseable {
    /** Data per WRITE request: the size every SFTP server must accept (OpenSSH's client uses it too). */
    static final int PIECE = 32 * 1024;
    /**
     * Requests in flight per channel, sized to the link's round trip: enough for about 64 MiB/s a
     * channel, between 16 (512 KiB) and 64 (2 MiB, the window OpenSSH's sshd gives a session
     * channel). Deeper is not free: with 64 in flight sshd spent twice the CPU per byte on
     * loopback (2.2 s against 1.1 s for 256 MiB), and on a fast link that CPU is the limit.
     */
    static final int MIN_IN_FLIGHT = 16;
    static final int MAX_IN_FLIGHT = 64;

    private static final int INIT = 1, VERSION = 2, OPEN = 3, CLOSE = 4, WRITE = 6, STATUS = 101, HANDLE = 102;
    private static final int WRITE_FLAG = 0x02, CREAT_FLAG = 0x08;

    private final ChannelSubsystem channel;
    private final DataOutputStream out;
    private final DataInputStream in;
    private final String path;
    private byte[] handle;
    private final int inFlight;
    private int nextId = 1;
    /** Request id -> the piece of work (its tag) it belongs to; and how many requests each tag still waits for. */
    private final Map<Integer, Long> tagOf = new HashMap<>();
    private final Map<Long, Integer> openPerTag = new HashMap<>();

    interface Done {
        void done(long tag);
    }

    private SftpWriter(ChannelSubsystem channel, InputStream in, String path, int inFlight) throws IOException {
        this.channel = channel;
        this.inFlight = inFlight;
        this.out = new DataOutputStream(channel.getOutputStream());
        this.in = new DataInputStream(in);
        this.path = path;
    }

    /** Opens PATH for writing without truncating it (created if missing) on a new channel; IN_FLIGHT requests at most. */
    static SftpWriter open(VpsConnection connection, String path, int inFlight) throws IOException, SftpException {
        ChannelSubsystem channel;
        InputStream in;
        try {
            channel = (ChannelSubsystem) connection.openChannel("subsystem");
            channel.setSubsystem("sftp");
            channel.setWantReply(true);
            in = channel.getInputStream();
            channel.connect(connection.channelTimeoutMs());
        } catch (JSchException e) {
            throw new IOException("cannot open an SFTP channel: " + e.getMessage(), e);
        }
        SftpWriter w = new SftpWriter(channel, in, path, inFlight);
        try {
            w.handshake();
            return w;
        } catch (IOException | SftpException | RuntimeException e) {
            channel.disconnect();
            throw e;
        }
    }

    private void handshake() throws IOException, SftpException {
        out.writeInt(5);
        out.writeByte(INIT);
        out.writeInt(3);
        out.flush();
        int length = in.readInt();
        if (in.readUnsignedByte() != VERSION) {
            throw new IOException("the server's SFTP subsystem did not answer INIT");
        }
        in.skipNBytes(length - 1);   // version and extensions: v3 is all this writer speaks
        byte[] name = path.getBytes(StandardCharsets.UTF_8);
        int id = nextId++;
        out.writeInt(1 + 4 + 4 + name.length + 4 + 4);
        out.writeByte(OPEN);
        out.writeInt(id);
        out.writeInt(name.length);
        out.write(name);
        out.writeInt(WRITE_FLAG | CREAT_FLAG);
        out.writeInt(0);   // no attributes
        out.flush();
        length = in.readInt();
        int type = in.readUnsignedByte();
        in.readInt();   // id: only one request was open
        if (type == STATUS) {
            SftpException failed = status(length - 5);
            if (failed != null) {
                throw failed;
            }
            throw new IOException("the server answered OPEN without a handle");
        }
        if (type != HANDLE) {
            throw new IOException("unexpected SFTP reply " + type + " to OPEN");
        }
        handle = new byte[in.readInt()];
        in.readFully(handle);
    }

    /** Sends DATA to be written at OFFSET under TAG, waiting for acknowledgements while the cap is reached. */
    void write(long tag, long offset, byte[] data, int off, int len, Done done) throws IOException, SftpException {
        for (int at = 0; at < len; at += PIECE) {
            int n = Math.min(PIECE, len - at);
            while (tagOf.size() >= inFlight) {
                out.flush();
                readAck(done);
            }
            int id = nextId++;
            out.writeInt(1 + 4 + 4 + handle.length + 8 + 4 + n);
            out.writeByte(WRITE);
            out.writeInt(id);
            out.writeInt(handle.length);
            out.write(handle);
            out.writeLong(offset + at);
            out.writeInt(n);
            out.write(data, off + at, n);
            tagOf.put(id, tag);
            openPerTag.merge(tag, 1, Integer::sum);
        }
    }

    /** Two requests per millisecond of round trip (32 KiB each: 64 MiB/s); the most when it is not known (-1). */
    static int inFlightFor(long roundTripNanos) {
        if (roundTripNanos < 0) {
            return MAX_IN_FLIGHT;
        }
        long perMs = 2 * roundTripNanos / 1_000_000;
        return (int) Math.max(MIN_IN_FLIGHT, Math.min(MAX_IN_FLIGHT, perMs));
    }

    /** Whether requests are still waiting for their acknowledgement. */
    boolean waiting() {
        return !tagOf.isEmpty();
    }

    /** Sends what is buffered and waits for the next acknowledgement (call only while waiting()). */
    void awaitAck(Done done) throws IOException, SftpException {
        out.flush();
        readAck(done);
    }

    /** Waits for every request sent so far. */
    void drain(Done done) throws IOException, SftpException {
        out.flush();
        while (!tagOf.isEmpty()) {
            readAck(done);
        }
    }

    private void readAck(Done done) throws IOException, SftpException {
        int length = in.readInt();
        int type = in.readUnsignedByte();
        int id = in.readInt();
        if (type != STATUS) {
            throw new IOException("unexpected SFTP reply " + type + " to WRITE");
        }
        SftpException failed = status(length - 5);
        if (failed != null) {
            throw failed;
        }
        Long tag = tagOf.remove(id);
        if (tag == null) {
            throw new IOException("SFTP reply to a request never sent (id " + id + ")");
        }
        if (openPerTag.merge(tag, -1, Integer::sum) == 0) {
            openPerTag.remove(tag);
            done.done(tag);
        }
    }

    /** Reads the rest of a STATUS reply (the LENGTH bytes after its type and id): null when it says OK. */
    private SftpException status(int length) throws IOException {
        int code = in.readInt();
        String message = "";
        if (length >= 8) {
            byte[] text = new byte[in.readInt()];
            in.readFully(text);
            message = new String(text, StandardCharsets.UTF_8);
            in.skipNBytes(length - 8 - text.length);   // language tag
        }
        return code == ChannelSftp.SSH_FX_OK ? null : new SftpException(code, message.isEmpty() ? "status " + code : message);
    }

    /** Closes the handle after every write was acknowledged; an error closing is the server's last word on the data. */
    void finish(Done done) throws IOException, SftpException {
        drain(done);
        int id = nextId++;
        out.writeInt(1 + 4 + 4 + handle.length);
        out.writeByte(CLOSE);
        out.writeInt(id);
        out.writeInt(handle.length);
        out.write(handle);
        out.flush();
        int length = in.readInt();
        in.readUnsignedByte();
        in.readInt();
        SftpException failed = status(length - 5);
        if (failed != null) {
            throw failed;
        }
    }

    @Override
    public void close() {
        channel.disconnect();
    }
}
