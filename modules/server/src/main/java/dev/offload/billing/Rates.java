package dev.offload.billing;

import com.typesafe.config.Config;
import java.util.Map;
import java.util.TreeMap;

/** Prices per runner class, in integer micro-dollars per charged second (billing.md). */
public record Rates(Map<String, Long> microsPerSecond) {

  public static Rates fromConfig(Config config) {
    Map<String, Long> rates = new TreeMap<>();
    Config classes = config.getConfig("offload.billing.rates");
    for (String runnerClass : classes.root().keySet()) {
      rates.put(runnerClass, classes.getConfig(runnerClass).getLong("micros-per-second"));
    }
    return new Rates(Map.copyOf(rates));
  }

  /** A class without a configured rate costs nothing rather than failing a journal replay. */
  public long of(String runnerClass) {
    return microsPerSecond.getOrDefault(runnerClass, 0L);
  }
}
