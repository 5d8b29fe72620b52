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
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * One SFTP v3 channel writing files through handles it opened itself: WRITE requests at any
 * offset, pipelined up to a cap, telling when every request of a piece of work has been
 * acknowledged. It creates a partial file the only safe way, exclusively (CREAT|EXCL) with mode
 * 0600 in the OPEN itself, so that it is private from its first byte and nothing planted at its
 * name is written through; it reopens an existing one only to check (FSTAT) that it is the file
 * expected; and it sets a finished file's mode, owner and times on that handle (FSETSTAT), never
 * by name, so no link put at the name is followed. Hand-written (a few hundred lines of the protocol) because JSch's ChannelSftp offers
 * neither EXCL nor attributes at OPEN, writes a handle only sequentially from where it opened it,
 * and reports no acknowledged progress. Not thread-safe: one writer per thread.
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
    /** A partial file's mode from its creation until it is complete. */
    static final int PRIVATE = 0600;

    private static final int INIT = 1, VERSION = 2, OPEN = 3, CLOSE = 4, WRITE = 6, FSTAT = 8, FSETSTAT = 10;
    private static final int STATUS = 101, HANDLE = 102, ATTRS = 105;
    private static final int WRITE_FLAG = 0x02, CREAT_FLAG = 0x08, EXCL_FLAG = 0x20;
    private static final int ATTR_SIZE = 0x1, ATTR_UIDGID = 0x2, ATTR_PERMISSIONS = 0x4, ATTR_ACMODTIME = 0x8;

    /** What FSTAT tells of an open file (MODE: st_mode, type bits included); ATIME -1: not to be compared. */
    record Attrs(long size, int uid, int mode, long atime, long mtime) {
        /** Whether the server told everything matches compares (some servers leave out owner or times). */
        boolean complete() {
            return size >= 0 && uid >= 0 && mode != 0 && atime >= 0 && mtime >= 0;
        }

        /** Whether these attributes are EXPECTED's: the same file, unchanged, with the expectation's atime unless it has none. */
        boolean matches(Attrs expected) {
            return size == expected.size && uid == expected.uid && mode == expected.mode && mtime == expected.mtime
                    && (expected.atime < 0 || atime == expected.atime);
        }

        Attrs withAtime(long newAtime) {
            return new Attrs(size, uid, mode, newAtime, mtime);
        }
    }

    /**
     * What a complete file gets on its handle just before the CLOSE: its MODE (permission bits), its owner (UID and GID;
     * -1: not asked for) and its times (seconds; -1: left as they are).
     */
    record Final(int mode, int uid, int gid, long atime, long mtime) {}

    /** The file opened at a partial's name is not the partial expected (something else was put there): nothing was written to it. */
    static final class NotOurs extends IOException {
        final String path;

        NotOurs(String path) {
            super("the file at " + path + " is not the partial file it should be");
            this.path = path;
        }
    }

    private final ChannelSubsystem channel;
    private final DataOutputStream out;
    private final DataInputStream in;
    private byte[] handle;
    private final int inFlight;
    private int nextId = 1;
    /** Request id -> the piece of work (its tag) it belongs to; and how many requests each tag still waits for. */
    private final Map<Integer, Long> tagOf = new HashMap<>();
    private final Map<Long, Integer> openPerTag = new HashMap<>();

    interface Done {
        void done(long tag);
    }

    /** For writes whose acknowledgements nobody follows. */
    static final Done NOBODY = tag -> {};

    private SftpWriter(ChannelSubsystem channel, InputStream in, int inFlight) throws IOException {
        this.channel = channel;
        this.inFlight = inFlight;
        this.out = new DataOutputStream(channel.getOutputStream());
        this.in = new DataInputStream(in);
    }

    /** A new SFTP channel, with IN_FLIGHT write requests at most; open a file on it with create or openExisting. */
    static SftpWriter connect(VpsConnection connection, int inFlight) throws IOException {
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
        SftpWriter w = new SftpWriter(channel, in, inFlight);
        try {
            w.handshake();
            return w;
        } catch (IOException | RuntimeException e) {
            channel.disconnect();
            throw e;
        }
    }

    private void handshake() throws IOException {
        out.writeInt(5);
        out.writeByte(INIT);
        out.writeInt(3);
        out.flush();
        int length = in.readInt();
        if (in.readUnsignedByte() != VERSION) {
            throw new IOException("the server's SFTP subsystem did not answer INIT");
        }
        in.skipNBytes(length - 1);   // version and extensions: v3 is all this writer speaks
    }

    /**
     * Creates PATH for writing, failing when anything (a file, a link) is already there, with mode 0600
     * from its creation (a umask can only take bits away).
     */
    void create(String path) throws IOException, SftpException {
        open(path, WRITE_FLAG | CREAT_FLAG | EXCL_FLAG, PRIVATE);
    }

    /** Opens the existing file at PATH for writing, neither creating nor truncating it; check it with fstat before writing. */
    void openExisting(String path) throws IOException, SftpException {
        open(path, WRITE_FLAG, -1);
    }

    /**
     * Opens the partial at PATH: creates it when EXPECTED is null, else reopens it if it still is the file
     * EXPECTED describes (else NotOurs, nothing written). Returns what FSTAT tells of it.
     */
    Attrs openPartial(String path, Attrs expected) throws IOException, SftpException {
        if (expected == null) {
            create(path);
            return fstat();
        }
        try {
            openExisting(path);
        } catch (SftpException gone) {
            throw new NotOurs(path);
        }
        Attrs found = fstat();
        if (!found.matches(expected)) {
            throw new NotOurs(path);
        }
        return found;
    }

    private void open(String path, int flags, int permissions) throws IOException, SftpException {
        byte[] name = path.getBytes(StandardCharsets.UTF_8);
        DataInputStream reply = call(OPEN, d -> {
            d.writeInt(name.length);
            d.write(name);
            d.writeInt(flags);
            if (permissions < 0) {
                d.writeInt(0);   // no attributes
            } else {
                d.writeInt(ATTR_PERMISSIONS);
                d.writeInt(permissions);
            }
        }, HANDLE);
        handle = new byte[reply.readInt()];
        reply.readFully(handle);
    }

    /** The open file's attributes, as the server sees the file the handle refers to. */
    Attrs fstat() throws IOException, SftpException {
        DataInputStream a = call(FSTAT, this::writeHandle, ATTRS);
        int flags = a.readInt();
        long size = (flags & ATTR_SIZE) != 0 ? a.readLong() : -1;
        int uid = -1;
        if ((flags & ATTR_UIDGID) != 0) {
            uid = a.readInt();
            a.readInt();   // gid
        }
        int mode = (flags & ATTR_PERMISSIONS) != 0 ? a.readInt() : 0;
        long atime = -1, mtime = -1;
        if ((flags & ATTR_ACMODTIME) != 0) {
            atime = Integer.toUnsignedLong(a.readInt());
            mtime = Integer.toUnsignedLong(a.readInt());
        }
        return new Attrs(size, uid, mode, atime, mtime);
    }

    /** Sets the open file's access and modification times (seconds). */
    void setTimes(long atime, long mtime) throws IOException, SftpException {
        expectOk(call(FSETSTAT, d -> {
            writeHandle(d);
            d.writeInt(ATTR_ACMODTIME);
            d.writeInt((int) atime);
            d.writeInt((int) mtime);
        }, STATUS));
    }

    private interface Body {
        void write(DataOutputStream d) throws IOException;
    }

    /**
     * Sends one request of TYPE and reads its answer (nothing else may be in flight), returning the rest
     * of a reply of type WANTED; a STATUS in its place is thrown as the server's error.
     */
    private DataInputStream call(int type, Body body, int wanted) throws IOException, SftpException {
        int id = send(type, body);
        out.flush();
        int length = in.readInt();
        int replyType = in.readUnsignedByte();
        if (in.readInt() != id) {
            throw new IOException("SFTP reply to another request than " + id);
        }
        byte[] rest = new byte[length - 5];
        in.readFully(rest);
        DataInputStream reply = new DataInputStream(new java.io.ByteArrayInputStream(rest));
        if (replyType == STATUS && wanted != STATUS) {
            SftpException failed = status(reply, rest.length);
            if (failed != null) {
                throw failed;
            }
            throw new IOException("the server answered OK without the reply expected (" + wanted + ")");
        }
        if (replyType != wanted) {
            throw new IOException("unexpected SFTP reply " + replyType + " to request " + type);
        }
        return reply;
    }

    /** Buffers one request of TYPE (sent with the next flush) and returns its id. */
    private int send(int type, Body body) throws IOException {
        java.io.ByteArrayOutputStream packet = new java.io.ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(packet);
        int id = nextId++;
        d.writeByte(type);
        d.writeInt(id);
        body.write(d);
        out.writeInt(packet.size());
        packet.writeTo(out);
        return id;
    }

    private static void expectOk(DataInputStream statusReply) throws IOException, SftpException {
        SftpException failed = status(statusReply, statusReply.available());
        if (failed != null) {
            throw failed;
        }
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
        readStatus(done, Set.of(), null);
    }

    /** Reads one STATUS reply: a WRITE's (its failure thrown), or that of a request in AWAITED (then removed), whose failure is kept in FAILURES. */
    private void readStatus(Done done, Set<Integer> awaited, Map<Integer, SftpException> failures) throws IOException, SftpException {
        int length = in.readInt();
        int type = in.readUnsignedByte();
        int id = in.readInt();
        if (type != STATUS) {
            throw new IOException("unexpected SFTP reply " + type + " to WRITE");
        }
        SftpException failed = status(in, length - 5);
        if (awaited.contains(id)) {
            awaited.remove(id);
            if (failed != null) {
                failures.put(id, failed);
            }
            return;
        }
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

    /** Reads the rest of a STATUS reply from SRC (the LENGTH bytes after its type and id): null when it says OK. */
    private static SftpException status(DataInputStream src, int length) throws IOException {
        int code = src.readInt();
        String message = "";
        if (length >= 8) {
            byte[] text = new byte[src.readInt()];
            src.readFully(text);
            message = new String(text, StandardCharsets.UTF_8);
            src.skipNBytes(length - 8 - text.length);   // language tag
        }
        return code == ChannelSftp.SSH_FX_OK ? null : new SftpException(code, message.isEmpty() ? "status " + code : message);
    }

    /** Closes the handle and waits until every write and the close were acknowledged (see the other finish). */
    void finish(Done done) throws IOException, SftpException {
        finish(done, null);
    }

    /**
     * Sets LAST (null: nothing) on the file through its handle, then closes the handle, and waits until every write,
     * those settings and the close were acknowledged (an error closing is the server's last word on the data). Set
     * on the handle, not by name: a link put at the file's name meanwhile is never followed to another file. The
     * owner goes first (a change of owner clears set-user-ID bits) and alone: only root may give a file away, so
     * its refusal (or a server that cannot change owners) is no failure; any other failure is. These requests go right behind the writes (a server acts on one handle's
     * requests in the order sent, as OpenSSH's does): no round trip of their own. The channel stays open for the
     * next file.
     */
    void finish(Done done, Final last) throws IOException, SftpException {
        Set<Integer> awaited = new HashSet<>();
        int ownerId = -1, modeId = -1;
        if (last != null && last.uid() >= 0) {
            ownerId = send(FSETSTAT, d -> {
                writeHandle(d);
                d.writeInt(ATTR_UIDGID);
                d.writeInt(last.uid());
                d.writeInt(last.gid());
            });
            awaited.add(ownerId);
        }
        if (last != null) {
            boolean times = last.mtime() >= 0;
            modeId = send(FSETSTAT, d -> {
                writeHandle(d);
                d.writeInt(ATTR_PERMISSIONS | (times ? ATTR_ACMODTIME : 0));
                d.writeInt(last.mode());
                if (times) {
                    d.writeInt((int) last.atime());
                    d.writeInt((int) last.mtime());
                }
            });
            awaited.add(modeId);
        }
        int closeId = send(CLOSE, this::writeHandle);
        awaited.add(closeId);
        out.flush();
        Map<Integer, SftpException> failures = new HashMap<>();
        while (!tagOf.isEmpty() || !awaited.isEmpty()) {
            readStatus(done, awaited, failures);
        }
        handle = null;
        SftpException owner = failures.get(ownerId);
        if (owner != null && owner.id != ChannelSftp.SSH_FX_PERMISSION_DENIED && owner.id != ChannelSftp.SSH_FX_OP_UNSUPPORTED) {
            throw owner;
        }
        for (int id : new int[] {modeId, closeId}) {
            if (failures.containsKey(id)) {
                throw failures.get(id);
            }
        }
    }

    private void writeHandle(DataOutputStream d) throws IOException {
        d.writeInt(handle.length);
        d.write(handle);
    }

    @Override
    public void close() {
        channel.disconnect();
    }
}
