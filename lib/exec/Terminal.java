import com.jcraft.jsch.ChannelExec;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.time.Duration;

/**
 * The terminal a --pty command gets. The bootstrap's header (the scripts with the values) reaches the
 * server through the channel's stdin, which with a pty is the terminal: its line discipline would echo
 * the header into the output and cook it (^C, ^D, ^U, CR to NL). So the pty request itself asks for a
 * raw terminal (the RFC 4254 terminal modes below: sshd applies them before the login shell starts, so
 * there is no moment in which a byte of the header meets a cooked terminal and no ready marker to wait
 * for), and the last script turns it into an ordinary one ({@link #restore}) just before the
 * command runs, then prints {@link #readyToken}: input the caller forwards (--stdin, --expect answers)
 * is typed only after it, into a cooked terminal, so that a Ctrl-D at its end is an end of file.
 * Values stay off argv and off disk as without a terminal.
 */
final class Terminal {
    static final int DEFAULT_COLUMNS = 120;
    static final int DEFAULT_ROWS = 40;
    static final String DEFAULT_TYPE = "xterm-256color";

    /** Ctrl-D: typed at the end of forwarded input, as a person ends theirs. */
    static final byte EOF = 4;

    /**
     * Run by the last script of run RUN_ID, after the header is read: echo, lines, signals and CR/NL
     * mapping as in any terminal; then the token that says so (no newline, which the terminal would turn into CR NL).
     */
    static String restore(String runId) {
        return "stty sane 2>/dev/null\nprintf %s " + readyToken(runId) + "\n";
    }

    /** Dropped from the output by {@link Interaction}. */
    static String readyToken(String runId) {
        return "vps-toolkit-tty-" + runId + ".";
    }

    // RFC 4254 section 8 opcodes, each followed by a uint32 value; 0 ends the list.
    private static final int ICRNL = 36;
    private static final int IXON = 38;
    private static final int ISIG = 50;
    private static final int ICANON = 51;
    private static final int ECHO = 53;
    private static final int IEXTEN = 59;
    private static final int OPOST = 70;
    private static final int CS8 = 91;

    private Terminal() {}

    /** Asks for a pty on CHANNEL: the caller's TERM and size when known, raw until {@link #restore}. */
    static void request(ChannelExec channel) {
        int[] size = size();
        channel.setPty(true);
        channel.setPtyType(type(), size[0], size[1], 0, 0);
        channel.setTerminalMode(rawModes());
    }

    static byte[] rawModes() {
        ByteArrayOutputStream modes = new ByteArrayOutputStream();
        for (int off : new int[] {ICRNL, IXON, ISIG, ICANON, ECHO, IEXTEN, OPOST}) {
            mode(modes, off, 0);
        }
        mode(modes, CS8, 1);
        modes.write(0);
        return modes.toByteArray();
    }

    private static void mode(ByteArrayOutputStream out, int opcode, int value) {
        out.write(opcode);
        out.writeBytes(new byte[] {(byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8), (byte) value});
    }

    private static String type() {
        String term = Environment.get("TERM");
        return term == null || term.equals("dumb") || !term.matches("[A-Za-z0-9._+-]{1,64}") ? DEFAULT_TYPE : term;
    }

    /**
     * Columns and rows: COLUMNS and LINES when the caller exported them, else the caller's own terminal
     * (only a cold call can ask it: in the engine the client's size is not known), else 120x40.
     */
    static int[] size() {
        Integer cols = positive(Environment.get("COLUMNS"));
        Integer rows = positive(Environment.get("LINES"));
        if ((cols == null || rows == null) && !Environment.inCall() && Environment.terminals().stdin()) {
            int[] asked = askTerminal();
            if (asked != null) {
                cols = cols != null ? cols : asked[0];
                rows = rows != null ? rows : asked[1];
            }
        }
        return new int[] {cols != null ? cols : DEFAULT_COLUMNS, rows != null ? rows : DEFAULT_ROWS};
    }

    /** `stty size` on the controlling terminal: "ROWS COLUMNS"; null where there is none (or no stty: Windows). */
    private static int[] askTerminal() {
        try {
            Process p = new ProcessBuilder("stty", "size").redirectInput(new File("/dev/tty")).redirectErrorStream(true).start();
            if (!Processes.waitOrKill(p, Duration.ofSeconds(2))) {
                return null;
            }
            String[] words = new String(p.getInputStream().readAllBytes()).trim().split("\\s+");
            Integer rows = words.length == 2 ? positive(words[0]) : null;
            Integer cols = words.length == 2 ? positive(words[1]) : null;
            return p.exitValue() == 0 && rows != null && cols != null ? new int[] {cols, rows} : null;
        } catch (Exception e) {
            return null;
        } 
    }

    private static Integer positive(String text) {
        try {
            int n = text == null ? 0 : Integer.parseInt(text.trim());
            return n > 0 && n < 10_000 ? n : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
