import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A loopback TCP proxy for fault injection: forwards to a port and can cut every connection. */
final class TcpProxy implements AutoCloseable {
    private final ServerSocket server;
    private final int targetPort;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile boolean silent;
    /** Bytes per second per direction, 0 for no limit: makes a loopback transfer slow enough to interrupt. */
    volatile long bytesPerSecond;

    TcpProxy(int targetPort) throws IOException {
        this.targetPort = targetPort;
        this.server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
        Thread acceptor = new Thread(this::acceptLoop, "proxy-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** A proxy that accepts connections and never answers: a silent server. */
    static TcpProxy silent() throws IOException {
        TcpProxy p = new TcpProxy(0);
        p.silent = true;
        return p;
    }

    int port() {
        return server.getLocalPort();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                sockets.add(client);
                if (silent) {
                    continue;
                }
                Socket upstream = new Socket(InetAddress.getByName("127.0.0.1"), targetPort);
                sockets.add(upstream);
                pipe(client, upstream);
                pipe(upstream, client);
            } catch (IOException e) {
                return;
            }
        }
    }

    private void pipe(Socket from, Socket to) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16 * 1024];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                long start = System.nanoTime();
                long total = 0;
                while ((n = in.read(buf)) >= 0) {
                    out.write(buf, 0, n);
                    total += n;
                    long limit = bytesPerSecond;
                    if (limit > 0) {
                        long dueNanos = total * 1_000_000_000L / limit - (System.nanoTime() - start);
                        if (dueNanos > 0) {
                            Thread.sleep(dueNanos / 1_000_000, (int) (dueNanos % 1_000_000));
                        }
                    }
                }
            } catch (IOException | InterruptedException ignored) {
                // cut: the other pipe notices on its own
            } finally {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, "proxy-pipe");
        t.setDaemon(true);
        t.start();
    }

    /** Drops every open connection at once, as a network failure would. */
    void cutAll() {
        sockets.forEach(TcpProxy::closeQuietly);
        sockets.clear();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        cutAll();
    }
}
