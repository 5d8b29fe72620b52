import com.jcraft.jsch.Channel;
import com.jcraft.jsch.JSchException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * The holder's one authenticated session to the target. It reconnects (with backoff, bounded) when
 * the link died, and opens channels within the server's MaxSessions: when the server refuses a
 * channel while the session is alive, the limit is learned and later opens wait in line for a
 * channel to close instead of failing.
 */
final class HolderUpstream {
    /** How long a channel may wait in line for a free session slot. */
    static final Duration QUEUE_MAX = Duration.ofMinutes(5);

    /** Opens one kind of channel (exec, subsystem) on a session. */
    interface ChannelMaker {
        Channel make(VpsConnection connection) throws JSchException;
    }

    private final Target target;
    final PrintStream log;
    private final Consumer<HolderUpstream> onChange;
    private VpsConnection connection;
    /** Channels open or being opened (what waits in line is not counted). */
    private int inUse;
    /** Channels the server confirmed and that have not closed yet. */
    private int opened;
    private int limit = Integer.MAX_VALUE;
    /** The most channels the server has let us have at once: the limit never drops below it. */
    private int mostAllowed;
    /**
     * The server frees a slot a moment after a channel closed, so a refusal can undershoot its
     * limit: every few seconds one channel beyond the learned limit is tried, to find it again.
     */
    private long lastProbe = System.nanoTime();
    volatile int reconnects;
    /** Channels the server refused (its MaxSessions), each then waited in line and was tried again. */
    volatile int refusals;
    volatile VpsException lastError;

    HolderUpstream(Target target, VpsConnection first, PrintStream log, Consumer<HolderUpstream> onChange) {
        this.target = target;
        this.connection = first;
        this.log = log;
        this.onChange = onChange;
    }

    synchronized boolean connected() {
        return connection != null && connection.isConnected();
    }

    /** A live session: the current one, or a new login after a bounded number of tries with backoff. */
    VpsConnection live() {
        synchronized (this) {
            if (connection != null && connection.isConnected()) {
                return connection;
            }
            if (connection != null) {
                connection.close();
                connection = null;
                log.println(java.time.Instant.now() + " link to " + target.display() + " is down; reconnecting");
            }
        }
        try {
            VpsConnection fresh = Reconnect.withBackoff(() -> VpsConnection.open(target, null), Reconnect.HOLDER);
            synchronized (this) {
                connection = fresh;
                limit = Integer.MAX_VALUE;
                reconnects++;
                lastError = null;
            }
            log.println(java.time.Instant.now() + " reconnected to " + target.display());
            onChange.accept(this);
            return fresh;
        } catch (VpsException e) {
            lastError = e;
            log.println(java.time.Instant.now() + " reconnect failed: " + e.getMessage());
            onChange.accept(this);
            throw e;
        }
    }

    /**
     * Opens and connects a channel, waiting in line while the server is at its MaxSessions. Call
     * {@link #release()} once the channel has closed.
     */
    Channel open(ChannelMaker maker, Consumer<Channel> wire) throws InterruptedException {
        long deadline = System.nanoTime() + QUEUE_MAX.toNanos();
        int connectMs = (int) Math.max(1000, target.connectTimeout().toMillis());
        int relogins = 0;
        while (true) {
            acquire(deadline);
            VpsConnection c;
            try {
                c = live();
            } catch (VpsException e) {
                giveBack();
                throw e;
            }
            Channel channel;
            long tried = System.nanoTime();
            try {
                channel = maker.make(c);
                wire.accept(channel);
                channel.connect(connectMs);
                allowed();
                return channel;
            } catch (JSchException e) {
                if (!c.isConnected() || System.nanoTime() - tried >= (connectMs - 100) * 1_000_000L) {
                    // No answer at all is a dead link, not a refusal: log in again (a few times).
                    c.close();
                    giveBack();
                    if (++relogins > 2) {
                        throw new VpsException(VpsException.Kind.NETWORK, "the link to " + target.display() + " keeps dropping (" + e.getMessage() + ")",
                                "check the network; it is safe to run the command again", true, e);
                    }
                    continue;
                }
                refused();
                if (System.nanoTime() > deadline) {
                    throw new VpsException(VpsException.Kind.REMOTE, "the server refused a new channel for " + Durations.format(QUEUE_MAX)
                            + " (" + e.getMessage() + ")", "fewer commands at once, or raise MaxSessions in the server's sshd_config", false, e);
                }
            }
        }
    }

    private synchronized void acquire(long deadline) throws InterruptedException {
        while (inUse >= limit) {
            if (System.nanoTime() - lastProbe > 2_000_000_000L) {
                lastProbe = System.nanoTime();
                break;
            }
            long waitMs = (deadline - System.nanoTime()) / 1_000_000;
            if (waitMs <= 0) {
                throw new VpsException(VpsException.Kind.REMOTE, "no free session slot on " + target.display() + " for "
                        + Durations.format(QUEUE_MAX) + " (MaxSessions " + limit + ")",
                        "fewer commands at once, or raise MaxSessions in the server's sshd_config", false, null);
            }
            wait(Math.min(waitMs, 1000));
        }
        inUse++;
    }

    private synchronized void allowed() {
        opened++;
        mostAllowed = Math.max(mostAllowed, opened);
        limit = Math.max(limit, mostAllowed);
    }

    /** An attempt that did not open a channel gives its place back. */
    private synchronized void giveBack() {
        inUse--;
        notifyAll();
    }

    /**
     * The server refused a channel while the others were open: that many is its limit (a refusal
     * that raced with a closing channel must not lower it below what the server allowed before).
     */
    private synchronized void refused() throws InterruptedException {
        refusals++;
        inUse--;
        limit = Math.max(1, Math.max(opened, mostAllowed));
        wait(50);
        notifyAll();
    }

    /** Something a client asked for could not be done: keep the reason for the client and for status. */
    void failed(VpsException e) {
        lastError = e;
        onChange.accept(this);
    }

    /** A channel that {@link #open} returned has closed. */
    synchronized void release() {
        inUse--;
        opened--;
        notifyAll();
    }

    synchronized int inUse() {
        return inUse;
    }

    /** The session limit learned from refusals, or null while none was seen. */
    synchronized Integer sessionLimit() {
        return limit == Integer.MAX_VALUE ? null : limit;
    }

    synchronized void close() {
        if (connection != null) {
            connection.close();
        }
    }
}
