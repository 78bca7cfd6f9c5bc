package dev.offload.loadtests;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** The statistics every benchmark reports, computed one way. */
final class Figures {
  private Figures() {}

  /** The median; the mean of the two middle values for an even count; NaN for none. */
  static double median(List<Double> values) {
    if (values.isEmpty()) return Double.NaN;
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  /** The nearest-rank quantile (0.99 for p99) of values already sorted; NaN for none. */
  static double quantile(List<? extends Number> sorted, double quantile) {
    if (sorted.isEmpty()) return Double.NaN;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, (int) Math.ceil(quantile * sorted.size()) - 1)))
        .doubleValue();
  }

  /** The nearest-rank quantile of values in any order. */
  static double quantileOf(List<Double> values, double quantile) {
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    return quantile(sorted, quantile);
  }

  /** A progress line on standard error, which run.sh keeps in the target's log. */
  static void log(String format, Object... args) {
    System.err.printf(format + "%n", args);
  }
}
