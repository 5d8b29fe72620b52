import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * What a server says before any key is involved: its identification line and the algorithm
 * lists of its first KEXINIT, read from a plain socket. Written by hand because no SSH library
 * exposes the server's raw proposal when negotiation fails, and that is when we need it.
 */
final class ServerProbe {
    record Result(String banner, List<String> kex, List<String> hostKeys, List<String> ciphers, List<String> macs) {}

    private ServerProbe() {}

    static Result probe(InetAddress address, int port, int timeoutMs) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(address, port), timeoutMs);
            s.setSoTimeout(timeoutMs);
            return probe(s.getInputStream(), s.getOutputStream());
        }
    }

    /** The probe over a connection that is already open (a jump host's tunnel); the caller bounds the time. */
    static Result probe(InputStream in, OutputStream out) throws IOException {
        // Sent first, as ssh does: a service that waits for its client (HTTP) then answers in its own protocol.
        out.write("SSH-2.0-vps_diagnose\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        String banner = readBanner(in);
        if (!banner.startsWith("SSH-")) {
            return new Result(banner, List.of(), List.of(), List.of(), List.of());
        }
        DataInputStream data = new DataInputStream(in);
        int length = data.readInt();
        int padding = data.readUnsignedByte();
        if (length < 17 || length > 256 * 1024 || padding >= length - 17) {
            throw new IOException("not an SSH packet (length " + length + ")");
        }
        byte[] payload = new byte[length - padding - 1];
        data.readFully(payload);
        if (payload[0] != 20) {
            throw new IOException("expected KEXINIT, got message " + payload[0]);
        }
        DataInputStream lists = new DataInputStream(new java.io.ByteArrayInputStream(payload, 17, payload.length - 17));
        List<String> kex = nameList(lists).stream().filter(k -> !isMarker(k)).toList();
        List<String> hostKeys = nameList(lists);
        List<String> ciphers = nameList(lists);
        nameList(lists);
        List<String> macs = nameList(lists);
        return new Result(banner, kex, hostKeys, ciphers, macs);
    }

    /** RFC 8308's ext-info and OpenSSH's strict-kex markers ride in the key exchange list but are no key exchange. */
    static boolean isMarker(String kexName) {
        return kexName.startsWith("ext-info-") || kexName.startsWith("kex-strict-");
    }

    /** The protocol a non-SSH first line belongs to ("HTTP", "SMTP or FTP"...), or null when it says nothing recognisable. */
    static String serviceOf(String firstLine) {
        if (firstLine.startsWith("HTTP/") || firstLine.startsWith("<")) {
            return "HTTP";
        }
        if (firstLine.startsWith("220")) {
            return "SMTP or FTP";
        }
        if (firstLine.startsWith("+OK")) {
            return "POP3";
        }
        if (firstLine.startsWith("* OK")) {
            return "IMAP";
        }
        return null;
    }

    /** "not an SSH server (it answered like HTTP)": what a port that answered FIRST_LINE is, for a person. */
    static String notSsh(String firstLine) {
        String service = serviceOf(firstLine);
        return "not an SSH server (it answered " + (service != null ? "like " + service : "'" + abbreviate(firstLine) + "'") + ")";
    }

    private static String abbreviate(String s) {
        return s.length() > 60 ? s.substring(0, 60) + "..." : s;
    }

    /** Lines before the identification are allowed by RFC 4253; a non-SSH service answers something else. */
    private static String readBanner(InputStream in) throws IOException {
        for (int lines = 0; lines < 20; lines++) {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int c;
            while ((c = in.read()) >= 0 && c != '\n' && line.size() < 255) {
                line.write(c);
            }
            String text = line.toString(StandardCharsets.UTF_8).replace("\r", "");
            if (text.startsWith("SSH-") || c < 0 || lines == 19 || !text.isEmpty() && !Character.isLetterOrDigit(text.charAt(0))) {
                return text;
            }
            if (!text.startsWith("SSH-") && lines == 0 && (text.startsWith("HTTP/") || text.startsWith("220") || text.startsWith("+OK"))) {
                return text;
            }
        }
        return "";
    }

    private static List<String> nameList(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > 64 * 1024) {
            throw new IOException("bad name-list length " + n);
        }
        byte[] b = new byte[n];
        in.readFully(b);
        List<String> names = new ArrayList<>();
        for (String s : new String(b, StandardCharsets.US_ASCII).split(",")) {
            if (!s.isEmpty()) {
                names.add(s);
            }
        }
        return names;
    }
}
