package dev.offload.billing;

import com.typesafe.config.Config;
import java.util.Map;
import java.util.TreeMap;

/**
 * Prices per runner class, in integer micro-dollars per charged second, and how much of a
 * committed grant one of its seconds uses (billing.md: a gpu second may weigh 4).
 */
public record Rates(Map<String, Long> microsPerSecond, Map<String, Long> committedWeight) {

  public static Rates fromConfig(Config config) {
    Map<String, Long> rates = new TreeMap<>();
    Map<String, Long> weights = new TreeMap<>();
    Config classes = config.getConfig("offload.billing.rates");
    for (String runnerClass : classes.root().keySet()) {
      Config c = classes.getConfig(runnerClass);
      rates.put(runnerClass, c.getLong("micros-per-second"));
      weights.put(runnerClass, c.hasPath("committed-weight") ? c.getLong("committed-weight") : 1L);
    }
    return new Rates(Map.copyOf(rates), Map.copyOf(weights));
  }

  /** A class without a configured rate costs nothing rather than failing a journal replay. */
  public long of(String runnerClass) {
    return microsPerSecond.getOrDefault(runnerClass, 0L);
  }

  public long weightOf(String runnerClass) {
    return committedWeight.getOrDefault(runnerClass, 1L);
  }
}
