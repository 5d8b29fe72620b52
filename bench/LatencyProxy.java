///usr/bin/env jbang "$0" "$@" ; exit $?
// A loopback TCP proxy that delays every byte by a fixed one-way latency without limiting
// throughput (a delay line, not stop-and-wait): LatencyProxy LISTEN_PORT TARGET_PORT ONE_WAY_MS.
// The kernel here has no netem, so the benchmarks bring their own: the tests' TcpProxy.
//JAVA 17+
//SOURCES ../lib/Deps.java
//SOURCES ../lib/util/Daemons.java
//SOURCES ../tests/TcpProxy.java

public class LatencyProxy {
    public static void main(String... args) throws Exception {
        try (TcpProxy proxy = new TcpProxy(Integer.parseInt(args[0]), Integer.parseInt(args[1]), Long.parseLong(args[2]))) {
            System.out.println("listening on " + proxy.port());
            Thread.currentThread().join();   // until the benchmark kills it
        }
    }
}
