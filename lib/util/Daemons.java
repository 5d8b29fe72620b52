import java.util.concurrent.ThreadFactory;

/** Background threads that never keep the JVM alive: the call's main thread decides when it ends. */
final class Daemons {
    private Daemons() {}

    /** A daemon thread named NAME running R, not started yet. */
    static Thread thread(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** A daemon thread named NAME running R, started. */
    static Thread start(String name, Runnable r) {
        Thread t = thread(name, r);
        t.start();
        return t;
    }

    /** For an executor: each of its threads a daemon named NAME. */
    static ThreadFactory named(String name) {
        return r -> thread(name, r);
    }
}
