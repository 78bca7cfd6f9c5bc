package dev.offload.tunnel;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** Tunnel figures for /metrics, per node: each node counts the tunnels it bridges. */
final class TunnelMetrics {

  /** One per node; a test JVM may hold several nodes, and the gauges add them up. */
  private static final Set<TunnelRegistry> REGISTRIES = ConcurrentHashMap.newKeySet();

  static {
    GaugeWithCallback.builder()
        .name("offload_tunnels_open")
        .help("Tunnel connections this node bridges right now")
        .callback(callback -> callback.call(open()))
        .register();
    GaugeWithCallback.builder()
        .name("offload_tunnel_buffered_bytes")
        .help("Engine bytes held by this node for clients that have not taken them yet")
        .callback(callback -> callback.call(buffered()))
        .register();
  }

  /** {@code in} is towards the engine, {@code out} towards the client. */
  static final Counter BYTES =
      Counter.builder()
          .name("offload_tunnel_bytes_total")
          .help("Bytes bridged by tunnels, by direction (in: client to engine, out: engine to client)")
          .labelNames("direction")
          .register();

  /** From the upgrade request to the engine channel being open, resuming an idle session included. */
  static final Histogram OPEN_LATENCY =
      Histogram.builder()
          .name("offload_tunnel_open_duration_seconds")
          .help("Time from a tunnel request to its engine channel being open")
          .register();

  private TunnelMetrics() {}

  static void count(TunnelRegistry registry) {
    REGISTRIES.add(registry);
  }

  static void forget(TunnelRegistry registry) {
    REGISTRIES.remove(registry);
  }

  static long open() {
    return REGISTRIES.stream().mapToLong(TunnelRegistry::open).sum();
  }

  /** What slow clients cost: engine bytes received over SSH, not yet handed to their sockets. */
  static long buffered() {
    return REGISTRIES.stream().mapToLong(TunnelRegistry::buffered).sum();
  }
}
