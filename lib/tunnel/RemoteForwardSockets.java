import com.jcraft.jsch.SocketFactory;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The local connections of -R, which JSch makes itself (ChannelForwardedTCPIP): made through this factory they
 * are counted as -L's are (bytes both ways, connections open and in all), so status and the idle end see them.
 */
final class RemoteForwardSockets implements SocketFactory {
    /** What a -R connection tells its tunnel. */
    interface Counters {
        void opened();

        void closed();

        void toServer(long bytes);

        void fromServer(long bytes);

        void failed(String where, IOException e);
    }

    private static final int CONNECT_TIMEOUT_MS = 10_000;   // JSch's own for these connections
    private final Counters counters;

    RemoteForwardSockets(Counters counters) {
        this.counters = counters;
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
        Counted socket = new Counted();
        try {
            socket.connect(new InetSocketAddress(host, port), CONNECT_TIMEOUT_MS);
        } catch (IOException e) {
            counters.failed(host + ":" + port, e);
            socket.closeQuietly();
            throw e;
        }
        counters.opened();
        socket.counting = true;
        return socket;
    }

    @Override
    public InputStream getInputStream(Socket socket) throws IOException {
        return socket.getInputStream();
    }

    @Override
    public OutputStream getOutputStream(Socket socket) throws IOException {
        return socket.getOutputStream();
    }

    /** A socket whose streams count the bytes and whose first close (of it or of a stream) ends the connection once. */
    private final class Counted extends Socket {
        private final AtomicBoolean ended = new AtomicBoolean();
        private volatile boolean counting;

        @Override
        public InputStream getInputStream() throws IOException {
            return new FilterInputStream(super.getInputStream()) {
                @Override
                public int read() throws IOException {
                    int b = super.read();
                    if (b >= 0) {
                        counters.toServer(1);
                    }
                    return b;
                }

                @Override
                public int read(byte[] buffer, int offset, int length) throws IOException {
                    int n = super.read(buffer, offset, length);
                    if (n > 0) {
                        counters.toServer(n);
                    }
                    return n;
                }

                @Override
                public void close() throws IOException {
                    Counted.this.close();
                }
            };
        }

        @Override
        public OutputStream getOutputStream() throws IOException {
            return new FilterOutputStream(super.getOutputStream()) {
                @Override
                public void write(byte[] buffer, int offset, int length) throws IOException {
                    out.write(buffer, offset, length);   // FilterOutputStream's own would write a byte at a time
                    counters.fromServer(length);
                }

                @Override
                public void write(int b) throws IOException {
                    out.write(b);
                    counters.fromServer(1);
                }

                @Override
                public void close() throws IOException {
                    Counted.this.close();
                }
            };
        }

        @Override
        public synchronized void close() throws IOException {
            try {
                super.close();
            } finally {
                if (counting && ended.compareAndSet(false, true)) {
                    counters.closed();
                }
            }
        }

        void closeQuietly() {
            try {
                super.close();
            } catch (IOException ignored) {
                // it never connected
            }
        }
    }
}
