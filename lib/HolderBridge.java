import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.session.SessionListener;

/**
 * The holder's Unix socket, bridged to its SSH server (MINA SSHD has no Unix-socket acceptor) on
 * a loopback TCP port. The socket's private folder decides who may connect; the server, as this
 * listener, ends every session whose TCP connection the bridge did not make itself, so no other
 * local user reaches it through the port. (MINA's accept hook could refuse it earlier, but it
 * leaves the refused socket open.)
 */
final class HolderBridge implements SessionListener {
    private final Set<Integer> ports = ConcurrentHashMap.newKeySet();
    private final PrintStream log;
    private ServerSocketChannel socket;

    HolderBridge(PrintStream log) {
        this.log = log;
    }

    /** Listens on PATH (mode 0600, replacing a stale socket) and bridges each client to SSH_PORT. */
    void open(Path path, int sshPort) throws IOException {
        Files.deleteIfExists(path);
        socket = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        socket.bind(UnixDomainSocketAddress.of(path), 1024);
        try {
            Files.setPosixFilePermissions(path, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException windows) {
            // the folder is private already
        }
        HolderRelay.daemon(() -> acceptLoop(sshPort), "holder-accept");
    }

    /** Takes no more clients; those connected stay. */
    void close() throws IOException {
        if (socket != null) {
            socket.close();
        }
    }

    @Override
    public void sessionCreated(Session session) {
        SocketAddress remote = session.getIoSession().getRemoteAddress();
        if (!(remote instanceof InetSocketAddress r) || !ports.remove(r.getPort())) {
            log.println(java.time.Instant.now() + " turned away " + remote + ": not through the holder's socket");
            session.close(true);
        }
    }

    private void acceptLoop(int sshPort) {
        while (socket.isOpen()) {
            try {
                SocketChannel client = socket.accept();
                Socket tcp = new Socket();
                tcp.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                ports.add(tcp.getLocalPort());
                tcp.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), sshPort), 5000);
                tcp.setTcpNoDelay(true);
                HolderRelay.daemon(() -> copy(client, tcp), "holder-bridge-in");
                HolderRelay.daemon(() -> copy(tcp, client), "holder-bridge-out");
            } catch (IOException e) {
                if (socket.isOpen()) {
                    log.println(java.time.Instant.now() + " accept failed: " + e);
                }
            }
        }
    }

    private static void copy(SocketChannel from, Socket to) {
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        try (from; to; OutputStream out = to.getOutputStream()) {
            while (from.read(buf) >= 0) {
                out.write(buf.array(), 0, buf.position());
                buf.clear();
            }
        } catch (IOException ignored) {
            // either end closed: both are closed now
        }
    }

    private static void copy(Socket from, SocketChannel to) {
        byte[] buf = new byte[64 * 1024];
        try (from; to; InputStream in = from.getInputStream()) {
            int n;
            while ((n = in.read(buf)) >= 0) {
                ByteBuffer b = ByteBuffer.wrap(buf, 0, n);
                while (b.hasRemaining()) {
                    to.write(b);
                }
            }
        } catch (IOException ignored) {
            // either end closed: both are closed now
        }
    }
}
