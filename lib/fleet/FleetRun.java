import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * Runs one piece of work on every host of a set (issue 19): at most FleetPlan.forks hosts at once,
 * batch by batch, skipping every host after a batch that failed beyond --max-fail. Each host's run
 * is its own {@link Interrupts.Scope}: an interrupt of the caller's scope (Ctrl-C, an engine call
 * cancelled) interrupts every running host, so each one stops its remote command as it would alone,
 * and hosts not yet started are skipped.
 */
final class FleetRun {
    private final Set<Interrupts.Scope> running = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean stopped = new AtomicBoolean();

    private FleetRun() {}

    /** Runs PER_HOST for each host: at most plan.forks at once, batch by batch; skipped hosts are not run. Ctrl-C stops all. */
    static FleetResult run(List<FleetHost> hosts, FleetPlan plan, Function<FleetHost, HostResult> perHost) {
        return new FleetRun().runAll(hosts, plan, perHost);
    }

    private FleetResult runAll(List<FleetHost> hosts, FleetPlan plan, Function<FleetHost, HostResult> perHost) {
        List<HostResult> results = new ArrayList<>(hosts.size());
        try (Interrupts.Registration onInterrupt = Interrupts.stopping(this::stopAll)) {
            boolean halted = false;
            for (List<FleetHost> batch : plan.batches(hosts)) {
                if (batch.isEmpty()) {
                    continue;
                }
                if (halted || stopped.get()) {
                    batch.forEach(h -> results.add(HostResult.skipped(h)));
                    continue;
                }
                List<HostResult> done = runBatch(batch, plan.forks(), perHost);
                results.addAll(done);
                long failures = done.stream().filter(r -> r.outcome() == HostResult.Outcome.FAILED
                        || r.outcome() == HostResult.Outcome.UNREACHABLE).count();
                halted = plan.stopsAfter((int) failures, batch.size());
            }
        }
        return new FleetResult(results);
    }

    private void stopAll() {
        stopped.set(true);
        running.forEach(Interrupts.Scope::interrupt);
    }

    private List<HostResult> runBatch(List<FleetHost> batch, int forks, Function<FleetHost, HostResult> perHost) {
        // Threads made here inherit the caller's call environment (the engine's per-call one).
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(forks, batch.size()), Daemons.named("vps-fleet"));
        try {
            List<Future<HostResult>> futures = new ArrayList<>();
            for (FleetHost host : batch) {
                futures.add(pool.submit(() -> runOne(host, perHost)));
            }
            List<HostResult> done = new ArrayList<>();
            for (int i = 0; i < batch.size(); i++) {
                done.add(outcome(batch.get(i), futures.get(i)));
            }
            return done;
        } finally {
            pool.shutdownNow();
        }
    }

    private HostResult runOne(FleetHost host, Function<FleetHost, HostResult> perHost) {
        if (stopped.get()) {
            return HostResult.skipped(host);
        }
        Interrupts.Scope scope = Interrupts.newScope();
        running.add(scope);
        if (stopped.get()) {
            scope.interrupt();   // stopAll may have run between the check and the add
        }
        try (Interrupts.Registration entered = Interrupts.enter(scope)) {
            return perHost.apply(host);
        } catch (RuntimeException e) {
            return HostResult.thrown(host, e);
        } finally {
            running.remove(scope);
        }
    }

    private static HostResult outcome(FleetHost host, Future<HostResult> future) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return HostResult.thrown(host, new IllegalStateException("interrupted while waiting for the host"));
        } catch (ExecutionException e) {
            return HostResult.thrown(host, e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause()));
        }
    }
}
