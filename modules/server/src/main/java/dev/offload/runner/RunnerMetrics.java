package dev.offload.runner;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** Runner figures for /metrics, from the pool of this node (the singleton runs on one node). */
final class RunnerMetrics {

  static final Histogram LEASE_WAIT =
      Histogram.builder()
          .name("offload_runner_lease_wait_seconds")
          .help("Time from a session's first lease request to its runner, by class")
          .labelNames("class")
          .register();

  static final Histogram WIPE_TIME =
      Histogram.builder()
          .name("offload_runner_wipe_seconds")
          .help("Time a released runner's wipe took, by class and outcome")
          .labelNames("class", "outcome")
          .register();

  static final Counter HEALTH_FAILURES =
      Counter.builder()
          .name("offload_runner_health_failures_total")
          .help("Failed runner health checks, by class")
          .labelNames("class")
          .register();

  private static volatile List<RunnerPool.RunnerStatus> runners = List.of();
  private static volatile Map<String, Integer> provisioning = Map.of();

  static {
    GaugeWithCallback.builder()
        .name("offload_runners")
        .help("Runners the pool tracks, by class and state")
        .labelNames("class", "state")
        .callback(callback -> {
          Map<List<String>, Long> counts = new HashMap<>(runners.stream()
              .collect(Collectors.groupingBy(r -> List.of(r.runnerClass(), r.state()), Collectors.counting())));
          // Creates in flight have no runner id yet, so they are counted apart from the statuses.
          provisioning.forEach((runnerClass, count) ->
              counts.merge(List.of(runnerClass, "provisioning"), (long) count, Long::sum));
          counts.forEach((labels, count) -> callback.call(count, labels.get(0), labels.get(1)));
        })
        .register();
  }

  private RunnerMetrics() {}

  static void runners(List<RunnerPool.RunnerStatus> statuses, Map<String, Integer> creating) {
    runners = List.copyOf(statuses);
    provisioning = Map.copyOf(creating);
  }
}
