package dev.offload.runner;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigObject;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;

/**
 * The pool's rules from {@code offload.runners}: the classes it offers and how it wipes and checks
 * runners.
 *
 * @param classes by class name, in name order
 */
public record FleetSettings(
    Map<String, RunnerClass> classes,
    String wipeCommand,
    Duration wipeTimeout,
    String healthCommand,
    Duration healthInterval,
    Duration runnerLostAfter) {

  /** A class of runners: which provider makes them, how many to keep warm, how many at most. */
  public record RunnerClass(String name, String provider, int minWarm, int max) {
    public RunnerClass {
      if (minWarm < 0 || max < 1 || minWarm > max) {
        throw new IllegalArgumentException(
            "runner class " + name + " needs 0 <= min-warm <= max and max >= 1, has min-warm "
                + minWarm + " and max " + max);
      }
    }
  }

  public FleetSettings {
    classes = Map.copyOf(classes);
  }

  public static FleetSettings fromConfig(Config config) {
    Config runners = config.getConfig("offload.runners");
    ConfigObject classes = runners.getObject("classes");
    Map<String, RunnerClass> byName = new TreeMap<>();
    for (String name : classes.keySet()) {
      Config c = classes.toConfig().getConfig("\"" + name + "\"");
      byName.put(name, new RunnerClass(name, c.getString("provider"), c.getInt("min-warm"), c.getInt("max")));
    }
    return new FleetSettings(byName, runners.getString("wipe-command"), runners.getDuration("wipe-timeout"),
        runners.getString("health-command"), runners.getDuration("health-interval"),
        runners.getDuration("runner-lost-after"));
  }
}
