import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A loopback TCP proxy for fault injection: forwards to a port and can cut every connection,
 * stall (keep the connections but drop every byte, as a dead link does), add a fixed latency per
 * direction (a delay line), and count round trips (turns from client-to-server traffic to
 * server-to-client traffic). bench/LatencyProxy runs one as a delay line on a fixed port.
 */
final class TcpProxy implements AutoCloseable {
    private final ServerSocket server;
    private volatile int targetPort;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile boolean silent;
    /** Bytes per second per direction, 0 for no limit: makes a loopback transfer slow enough to interrupt. */
    volatile long bytesPerSecond;
    /** Drop everything in both directions while set; connections stay open. */
    volatile boolean stalled;
    /** One-way delay in milliseconds added to every byte (0: none). Set before connections are made. */
    volatile long delayMs;
    private final java.util.concurrent.atomic.AtomicInteger turns = new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean lastFromClient;

    TcpProxy(int targetPort) throws IOException {
        this(0, targetPort, 0);
    }

    /** A proxy on LISTENPORT (0: any free one) with DELAYMS of one-way delay from its first connection on. */
    TcpProxy(int listenPort, int targetPort, long delayMs) throws IOException {
        this.targetPort = targetPort;
        this.delayMs = delayMs;
        this.server = new ServerSocket(listenPort, 50, InetAddress.getByName("127.0.0.1"));
        Daemons.start("proxy-accept", this::acceptLoop);
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
                client.setTcpNoDelay(true);
                upstream.setTcpNoDelay(true);
                pipe(client, upstream, true);
                pipe(upstream, client, false);
            } catch (IOException e) {
                return;
            }
        }
    }

    /** New connections go to PORT from now on (a server replaced behind the same address); open ones stay. */
    void retarget(int port) {
        targetPort = port;
    }

    /** Round trips seen so far: each time the server answers after the client spoke. */
    int roundTrips() {
        return turns.get();
    }

    private void forwarded(boolean fromClient) {
        if (!fromClient && lastFromClient) {
            turns.incrementAndGet();
        }
        lastFromClient = fromClient;
    }

    /** Copies FROM to TO; at the end of FROM both are closed, after the delay when there is one (what was sent arrives first). */
    private void pipe(Socket from, Socket to, boolean fromClient) {
        Runnable cut = () -> {
            closeQuietly(from);
            closeQuietly(to);
        };
        Daemons.start("proxy-pipe", () -> {
            byte[] buf = new byte[16 * 1024];
            OutputStream out = null;
            try (InputStream in = from.getInputStream()) {
                out = delayMs > 0 ? new DelayLine(to.getOutputStream(), delayMs, cut) : to.getOutputStream();
                int n;
                long start = System.nanoTime();
                long total = 0;
                while ((n = in.read(buf)) >= 0) {
                    if (stalled) {
                        continue;
                    }
                    forwarded(fromClient);
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
                if (out instanceof DelayLine line) {
                    line.close();   // it cuts once the queued bytes are out
                } else {
                    cut.run();
                }
            }
        });
    }

    /** Writes each chunk DELAY ms after it was read, without limiting throughput (a delay line, not stop-and-wait). */
    private static final class DelayLine extends OutputStream {
        private record Chunk(long due, byte[] data) {}

        private final java.util.concurrent.LinkedBlockingQueue<Chunk> line = new java.util.concurrent.LinkedBlockingQueue<>();

        DelayLine(OutputStream out, long delayMs, Runnable atEnd) {
            Daemons.start("proxy-delay", () -> {
                try {
                    while (true) {
                        Chunk c = line.take();
                        long wait = c.due() - System.nanoTime();
                        if (wait > 0) {
                            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                        }
                        if (c.data() == null) {
                            return;
                        }
                        out.write(c.data());
                    }
                } catch (IOException | InterruptedException ignored) {
                    // closed
                } finally {
                    atEnd.run();
                }
            });
            this.delayNanos = delayMs * 1_000_000;
        }

        private final long delayNanos;

        @Override
        public void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            line.add(new Chunk(System.nanoTime() + delayNanos, java.util.Arrays.copyOfRange(b, off, off + len)));
        }

        @Override
        public void close() {
            line.add(new Chunk(System.nanoTime() + delayNanos, null));
        }
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
