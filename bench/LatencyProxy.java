///usr/bin/env jbang "$0" "$@" ; exit $?
// A loopback TCP proxy that delays every byte by a fixed one-way latency without limiting
// throughput (a delay line, not stop-and-wait): LatencyProxy LISTEN_PORT TARGET_PORT ONE_WAY_MS.
// The kernel here has no netem, so the benchmarks bring their own.
//JAVA 17+

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.concurrent.LinkedBlockingQueue;

public class LatencyProxy {
    record Chunk(long dueNanos, byte[] data) {}

    public static void main(String... args) throws Exception {
        int listen = Integer.parseInt(args[0]);
        int target = Integer.parseInt(args[1]);
        long delayNanos = Long.parseLong(args[2]) * 1_000_000L;
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        try (ServerSocket server = new ServerSocket(listen, 50, loopback)) {
            System.out.println("listening on " + server.getLocalPort());
            while (true) {
                Socket client = server.accept();
                Socket upstream = new Socket(loopback, target);
                client.setTcpNoDelay(true);
                upstream.setTcpNoDelay(true);
                pipe(client, upstream, delayNanos);
                pipe(upstream, client, delayNanos);
            }
        }
    }

    static void pipe(Socket from, Socket to, long delayNanos) {
        LinkedBlockingQueue<Chunk> line = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            byte[] buf = new byte[64 * 1024];
            try (InputStream in = from.getInputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    line.put(new Chunk(System.nanoTime() + delayNanos, Arrays.copyOf(buf, n)));
                }
            } catch (Exception ignored) {
                // closed
            }
            line.add(new Chunk(System.nanoTime() + delayNanos, null));
        });
        Thread writer = new Thread(() -> {
            try (OutputStream out = to.getOutputStream()) {
                while (true) {
                    Chunk c = line.take();
                    long wait = c.dueNanos() - System.nanoTime();
                    if (wait > 0) {
                        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    }
                    if (c.data() == null) {
                        break;
                    }
                    out.write(c.data());
                }
            } catch (Exception ignored) {
                // closed
            } finally {
                try {
                    from.close();
                    to.close();
                } catch (Exception ignored) {
                    // done
                }
            }
        });
        reader.setDaemon(true);
        writer.setDaemon(true);
        reader.start();
        writer.start();
    }
}
