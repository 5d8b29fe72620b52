import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Which local process listens on a TCP port, when the system can say (Linux ss); for a "port in use" error. */
final class PortHolder {
    private static final Pattern USER = Pattern.compile("users:\\(\\(\"([^\"]+)\",pid=(\\d+)");

    private PortHolder() {}

    /** "NAME pid PID", or null when unknown (no ss, or the holder belongs to another user). */
    static String describe(int port) {
        if (port == 0) {
            return null;
        }
        try {
            Process p = new ProcessBuilder("ss", "-Hltnp", "sport = :" + port).redirectErrorStream(true).start();
            if (!p.waitFor(2, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return null;
            }
            Matcher m = USER.matcher(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            return m.find() ? m.group(1) + " pid " + m.group(2) : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
