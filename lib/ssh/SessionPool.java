import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * Warm SSH sessions, one per way of connecting (user, host, port, jumps, keys, agent, host keys,
 * password auth, algorithms), leased to calls so that a call costs a channel and not a login.
 * At most {@link #CHANNELS} channels are leased on a session at a time, under sshd's default
 * MaxSessions (10): excess leases wait their turn (bounded) instead of being refused by the server.
 * A session found dead at lease time, or while a lease opens a channel on it, is replaced by a new
 * login whose host key is verified again. Nothing here sends a command twice: only a channel whose
 * request never left is opened again (see {@link VpsConnection#reopenAfter}).
 * At most {@link #MAX_IDLE} sessions stay open unused (a fleet of hundreds of hosts keeps memory
 * and file descriptors bounded): past that, the least recently used idle one is closed.
 */
final class SessionPool implements AutoCloseable {
    static final int CHANNELS = 8;
    static final Duration QUEUE_WAIT = Duration.ofMinutes(5);
    static final Duration DEFAULT_IDLE = Duration.ofMinutes(10);
    static final int MAX_IDLE = 256;

    private static volatile SessionPool inProcess;

    /** Work on a leased connection. */
    interface Work<T> extends Function<VpsConnection, T> {}

    private final PrintStream log;
    private final Duration idleLimit;
    private final int maxIdle;
    private final Map<String, Entry> entries = new ConcurrentHashMap<>();
    private final ScheduledExecutorService evictor;

    SessionPool(PrintStream log) {
        this(log, DEFAULT_IDLE);
    }

    /** @param idleLimit a session no lease used for this long is closed */
    SessionPool(PrintStream log, Duration idleLimit) {
        this(log, idleLimit, MAX_IDLE);
    }

    /** @param maxIdle at most this many sessions stay open unused; the least recently used goes first */
    SessionPool(PrintStream log, Duration idleLimit, int maxIdle) {
        this.log = log;
        this.idleLimit = idleLimit;
        this.maxIdle = maxIdle;
        this.evictor = Executors.newSingleThreadScheduledExecutor(Daemons.named("vps-pool-evictor"));
        long everyMs = Math.max(100, Math.min(idleLimit.toMillis() / 2, 30_000));
        evictor.scheduleWithFixedDelay(this::evictIdle, everyMs, everyMs, TimeUnit.MILLISECONDS);
    }

    /** The pool of this process (the engine installs one), or null: then scripts connect directly. */
    static SessionPool inProcess() {
        return inProcess;
    }

    static void useInProcess(SessionPool pool) {
        inProcess = pool;
    }

    /**
     * A connection on T's warm session, for work that opens at most CHANNELS channels at once
     * (clamped to 1..{@link #CHANNELS}); its close() ends the lease, never the session. Logs in
     * when there is no live session, with VERBOSE_LOG as the protocol log (null: none).
     */
    VpsConnection lease(Target t, int channels, PrintStream verboseLog) {
        int permits = Math.max(1, Math.min(channels, CHANNELS));
        Entry e = enter(t);
        try {
            e.acquire(permits, t);
            try {
                VpsConnection session = e.live(t, verboseLog);
                return session.leased(t, e.lease(permits));
            } catch (RuntimeException x) {
                e.channels.release(permits);
                throw x;
            }
        } catch (RuntimeException x) {
            e.leave();
            throw x;
        }
    }

    /** Runs WORK on a lease of T. A command WORK runs is never run again here. */
    <T> T use(Target t, int channels, Work<T> work) {
        try (VpsConnection c = lease(t, channels, null)) {
            return work.apply(c);
        }
    }

    /**
     * Like {@link #use}, and again on a new lease when the link dropped during WORK, with the one
     * reconnect policy: only for work that is safe to repeat (reads, idempotent job calls, atomic
     * transfers).
     */
    <T> T useRepeatable(Target t, int channels, Work<T> work) {
        return Reconnect.repeatable(() -> lease(t, channels, null), work);
    }

    /** Whether T's way of connecting has a live session now. */
    boolean isConnected(Target t) {
        Entry e = entries.get(key(t));
        return e != null && e.isUp();
    }

    /** One map per session: target, since, idleSeconds, leases, connected. */
    List<Map<String, Object>> status() {
        List<Map<String, Object>> all = new ArrayList<>();
        for (Entry e : new TreeMap<>(entries).values()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("target", e.display);
            m.put("since", e.since == null ? null : e.since.toString());
            m.put("idleSeconds", e.users > 0 ? 0 : Duration.between(e.lastUsed, Instant.now()).toSeconds());
            m.put("leases", e.users);
            m.put("connected", e.isUp());
            m.put("reconnects", e.reconnects);
            all.add(m);
        }
        return all;
    }

    /** Ends T's session (leases on it fail as a dropped link would); true when there was one. */
    boolean drop(Target t) {
        Entry e = entries.remove(key(t));
        return e != null && e.retire();
    }

    /** Ends every session; how many were live. */
    int dropAll() {
        int live = 0;
        for (String k : List.copyOf(entries.keySet())) {
            Entry e = entries.remove(k);
            if (e != null && e.retire()) {
                live++;
            }
        }
        return live;
    }

    @Override
    public void close() {
        evictor.shutdownNow();
        dropAll();
    }

    private void evictIdle() {
        Instant before = Instant.now().minus(idleLimit);
        for (Map.Entry<String, Entry> me : entries.entrySet()) {
            Entry e = me.getValue();
            if (e.retireIfIdleSince(before)) {
                entries.remove(me.getKey(), e);
                log.println("vps: closed the warm connection to " + e.display + " after " + Durations.format(idleLimit) + " unused");
            }
        }
    }

    /** Closes the least recently used idle sessions while more than maxIdle are idle. */
    private synchronized void closeIdleBeyondBound() {
        List<Map.Entry<String, Entry>> idle = new ArrayList<>(entries.entrySet().stream().filter(me -> me.getValue().users == 0).toList());
        if (idle.size() <= maxIdle) {
            return;
        }
        idle.sort(java.util.Comparator.comparing(me -> me.getValue().lastUsed));
        for (Map.Entry<String, Entry> me : idle.subList(0, idle.size() - maxIdle)) {
            Entry e = me.getValue();
            if (e.retireIfIdleSince(Instant.MAX)) {
                entries.remove(me.getKey(), e);
            }
        }
    }

    /** T's entry with one more user counted, so that it is not retired under the caller. */
    private Entry enter(Target t) {
        String key = key(t);
        for (int i = 0; i < 100; i++) {
            Entry e = entries.computeIfAbsent(key, k -> new Entry(t.display()));
            if (e.join()) {
                return e;
            }
            entries.remove(key, e);   // retired between the lookup and the join: take the next one
        }
        throw new IllegalStateException("the session pool entry for " + t.display() + " kept being retired");
    }

    /** The whole way of connecting: another user, key, jump, host-key policy or algorithm is another session. */
    static String key(Target t) {
        StringBuilder key = new StringBuilder(t.user() + "@" + t.host() + ":" + t.port());
        for (Target j : t.jumps()) {
            key.append(" via ").append(j.user()).append('@').append(j.host()).append(':').append(j.port())
                    .append(" keys ").append(j.identities()).append(" hostkeys ").append(j.hostKeys());
        }
        key.append(" keys ").append(t.identities()).append(" agent ").append(t.useAgent()).append(' ').append(t.agentSocket())
                .append(" password ").append(t.passwordAuth()).append(" hostkeys ").append(t.hostKeys()).append(" algorithms ")
                .append(new TreeMap<>(t.algorithms())).append(" trust ").append(trustDigest(t));
        return key.toString();
    }

    /**
     * What a login checked that can change between calls with the same options: the known_hosts
     * files' lines, the key files, the passphrase and password. A warm session serves a call only when
     * a cold login with the call's settings would have been the same login: an edited known_hosts
     * (a key removed, revoked, a CA added), a wrong password or a key that now needs a passphrase
     * gets a login of its own, which verifies and fails exactly as a cold call does.
     */
    private static String trustDigest(Target t) {
        java.security.MessageDigest d = Sha256.digest();
        for (Target hop : concat(t.jumps(), t)) {
            feed(d, hop.hostKeys().knownHosts());
            hop.identities().forEach(i -> feed(d, i));
            update(d, hop.credentials().keyPassphrase());
            update(d, hop.credentials().password());
        }
        return Sha256.hex(d);
    }

    private static List<Target> concat(List<Target> jumps, Target last) {
        List<Target> all = new ArrayList<>(jumps);
        all.add(last);
        return all;
    }

    private static void feed(java.security.MessageDigest d, java.nio.file.Path file) {
        try {
            d.update(file == null ? new byte[0] : java.nio.file.Files.readAllBytes(file));
        } catch (java.io.IOException | RuntimeException unreadable) {
            d.update(("unreadable " + file).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        d.update((byte) 0);
    }

    private static void update(java.security.MessageDigest d, String secret) {
        d.update((secret == null ? "\u0000none" : secret).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        d.update((byte) 0);
    }

    /** One way of connecting: its session, replaced under the entry's lock so that concurrent leases log in once. */
    private final class Entry {
        final String display;
        final Semaphore channels = new Semaphore(CHANNELS, true);
        private volatile VpsConnection session;
        private volatile Instant since;
        private volatile Instant lastUsed = Instant.now();
        private volatile int users;
        private volatile int reconnects;
        private boolean retired;

        Entry(String display) {
            this.display = display;
        }

        synchronized boolean join() {
            if (retired) {
                return false;
            }
            users++;
            return true;
        }

        synchronized void leave() {
            users--;
            lastUsed = Instant.now();
        }

        void acquire(int permits, Target t) {
            try {
                if (!channels.tryAcquire(permits, QUEUE_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                    throw new VpsException(VpsException.Kind.TIMEOUT, "every channel to " + t.display() + " stayed busy for "
                            + Durations.format(QUEUE_WAIT) + "; this call was not started",
                            "wait for the running calls to end (or start long work as a job), then retry", true, null);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new VpsException(VpsException.Kind.NETWORK, "interrupted while waiting for a channel to " + t.display()
                        + "; this call was not started", "retry", true, e);
            }
        }

        VpsConnection.Lease lease(int permits) {
            AtomicBoolean released = new AtomicBoolean();
            return new VpsConnection.Lease() {
                @Override
                public VpsConnection replace(VpsConnection dead) {
                    return replaceDead(dead);
                }

                @Override
                public void release() {
                    if (released.compareAndSet(false, true)) {
                        channels.release(permits);
                        leave();
                        closeIdleBeyondBound();
                    }
                }
            };
        }

        /** The live session, logging in when there is none or it died; a retired entry's lease fails as a dropped link. */
        synchronized VpsConnection live(Target t, PrintStream verboseLog) {
            VpsConnection c = session;
            if (c != null && c.isConnected()) {
                return c;
            }
            if (retired) {
                throw new VpsException(VpsException.Kind.NETWORK, "the warm connection to " + display + " was stopped; this call was not started",
                        "retry", true, null);
            }
            if (c != null) {
                c.close();
                session = null;
                reconnects++;
                log.println("vps: the connection to " + display + " was lost; reconnecting (a new login, the host key checked again)");
            }
            session = Reconnect.login(() -> VpsConnection.open(t, verboseLog));
            since = Instant.now();
            return session;
        }

        /** A live session in place of DEAD's, for a lease that found its session dead before sending on it. */
        synchronized VpsConnection replaceDead(VpsConnection dead) {
            return live(dead.target, null);
        }

        boolean isUp() {
            VpsConnection c = session;
            return c != null && c.isConnected();
        }

        /** Closes the session for good; true when it was live. */
        synchronized boolean retire() {
            retired = true;
            VpsConnection c = session;
            session = null;
            if (c == null) {
                return false;
            }
            boolean live = c.isConnected();
            c.close();
            return live;
        }

        synchronized boolean retireIfIdleSince(Instant before) {
            if (users > 0 || lastUsed.isAfter(before)) {
                return false;
            }
            retire();
            return true;
        }
    }
}
