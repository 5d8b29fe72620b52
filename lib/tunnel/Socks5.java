import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;

/**
 * The server side of a SOCKS5 CONNECT (RFC 1928), no authentication, for -D: the client names its
 * target (a domain name, IPv4 or IPv6 address) and the tunnel opens a direct-tcpip channel to it, so a
 * name resolves on the server (curl --socks5-hostname). Hand-written: no small, well-kept Java library
 * offers only this handshake (Netty's codec would bring a network stack for forty lines).
 */
final class Socks5 {
    static final int VERSION = 5;
    static final int NO_AUTH = 0;
    static final int NO_ACCEPTABLE_METHOD = 0xFF;
    static final int CONNECT = 1;
    /** Reply codes. */
    static final int SUCCEEDED = 0, GENERAL_FAILURE = 1, NOT_ALLOWED = 2, HOST_UNREACHABLE = 4, REFUSED = 5,
            COMMAND_NOT_SUPPORTED = 7, ADDRESS_NOT_SUPPORTED = 8;

    private Socks5() {}

    /** A client's target. */
    record Request(String host, int port) {}

    /** Not a SOCKS5 CONNECT we serve: the reply has been sent, the connection is to be closed. */
    static final class Refused extends IOException {
        Refused(String why) {
            super(why);
        }
    }

    /** Reads the greeting and the request from IN, answering the greeting on OUT; returns the target. */
    static Request handshake(InputStream in, OutputStream out) throws IOException {
        DataInputStream data = new DataInputStream(in);
        if (data.readUnsignedByte() != VERSION) {
            throw new Refused("not a SOCKS5 client");
        }
        byte[] methods = new byte[data.readUnsignedByte()];
        data.readFully(methods);
        boolean noAuth = false;
        for (byte m : methods) {
            noAuth |= m == NO_AUTH;
        }
        out.write(new byte[] {VERSION, (byte) (noAuth ? NO_AUTH : NO_ACCEPTABLE_METHOD)});
        out.flush();
        if (!noAuth) {
            throw new Refused("the SOCKS5 client offered no 'no authentication' method");
        }
        int version = data.readUnsignedByte();
        int command = data.readUnsignedByte();
        data.readUnsignedByte();   // reserved
        int type = data.readUnsignedByte();
        String host = switch (type) {
            case 1 -> address(data, 4);
            case 3 -> {
                byte[] name = new byte[data.readUnsignedByte()];
                data.readFully(name);
                yield new String(name, StandardCharsets.US_ASCII);
            }
            case 4 -> address(data, 16);
            default -> null;
        };
        if (host == null) {
            reply(out, ADDRESS_NOT_SUPPORTED);
            throw new Refused("SOCKS5 address type " + type + " is not supported");
        }
        int port = data.readUnsignedShort();
        if (version != VERSION || command != CONNECT) {
            reply(out, COMMAND_NOT_SUPPORTED);
            throw new Refused("only SOCKS5 CONNECT is supported");
        }
        return new Request(host, port);
    }

    private static String address(DataInputStream data, int length) throws IOException {
        byte[] a = new byte[length];
        data.readFully(a);
        return InetAddress.getByAddress(a).getHostAddress();
    }

    /** The reply to the request: CODE, with an unspecified bound address (clients ignore it). */
    static byte[] replyBytes(int code) {
        return new byte[] {VERSION, (byte) code, 0, 1, 0, 0, 0, 0, 0, 0};
    }

    static void reply(OutputStream out, int code) throws IOException {
        out.write(replyBytes(code));
        out.flush();
    }
}
