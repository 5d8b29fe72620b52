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
import org.apache.sshd.common.io.IoAcceptor;
import org.apache.sshd.common.io.IoServiceEventListener;

/**
 * The holder's Unix socket, bridged to its SSH server (MINA SSHD has no Unix-socket acceptor) on
 * a loopback TCP port. The socket's private folder decides who may connect; the server, as this
 * listener, lets in only the TCP connections the bridge itself made, so no other local user
 * reaches it through the port.
 */
final class HolderBridge implements IoServiceEventListener {
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
    public void connectionAccepted(IoAcceptor acceptor, SocketAddress local, SocketAddress remote, SocketAddress service) throws IOException {
        if (!(remote instanceof InetSocketAddress r) || !ports.remove(r.getPort())) {
            throw new IOException("not a connection from the holder's own socket: " + remote);
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
