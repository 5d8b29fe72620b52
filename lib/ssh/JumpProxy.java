import com.jcraft.jsch.ChannelDirectTCPIP;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.Proxy;
import com.jcraft.jsch.Session;
import com.jcraft.jsch.SocketFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;

/**
 * A ProxyJump hop: the next SSH connection runs inside a direct-tcpip channel of the previous
 * session, so no local port is opened and the next host key is still checked end to end.
 */
final class JumpProxy implements Proxy {
    private final Session via;
    private ChannelDirectTCPIP channel;
    private InputStream in;
    private OutputStream out;

    JumpProxy(Session via) {
        this.via = via;
    }

    @Override
    public void connect(SocketFactory factory, String host, int port, int timeout) throws JSchException {
        channel = (ChannelDirectTCPIP) via.openChannel("direct-tcpip");
        channel.setHost(host);
        channel.setPort(port);
        try {
            in = channel.getInputStream();
            out = channel.getOutputStream();
        } catch (IOException e) {
            throw new JSchException("jump channel: " + e.getMessage(), e);
        }
        try {
            channel.connect(timeout);
        } catch (JSchException e) {
            throw new JSchException(FAILURE + via.getHost() + ":" + via.getPort() + " could not open a connection to "
                    + host + ":" + port + " (" + e.getMessage() + ")", e);
        }
    }

    static final String FAILURE = "jump host ";

    @Override
    public InputStream getInputStream() {
        return in;
    }

    @Override
    public OutputStream getOutputStream() {
        return out;
    }

    @Override
    public Socket getSocket() {
        return null;
    }

    @Override
    public void close() {
        if (channel != null) {
            channel.disconnect();
        }
    }
}
