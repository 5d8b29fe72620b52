// TEMP stub until the pool part lands: connects directly.
import java.io.PrintStream;
import java.util.List;
import java.util.Map;

final class SessionPool implements AutoCloseable {
    private static volatile SessionPool inProcess;

    SessionPool(PrintStream log) {}

    static SessionPool inProcess() {
        return inProcess;
    }

    static void useInProcess(SessionPool p) {
        inProcess = p;
    }

    VpsConnection lease(Target t, int channels, PrintStream verboseLog) {
        return VpsConnection.connect(t, verboseLog);
    }

    static String keyOf(Target t) {
        return t.user() + "@" + t.host() + ":" + t.port();
    }

    List<Map<String, Object>> status() {
        return List.of();
    }

    boolean drop(Target t) {
        return false;
    }

    int dropAll() {
        return 0;
    }

    @Override
    public void close() {}
}
