package dev.offload.gatling;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Markdown rows from a Gatling report: one per request name (and "All Requests"), with the count,
 * failures, throughput and response-time percentiles, labelled with the set-up that produced it.
 *
 * <p>{@code GatlingSummary <results folder of one run> <label>}
 */
public final class GatlingSummary {
  private static final Pattern REQUEST = Pattern.compile(
      "\"name\": \"([^\"]+)\",\\s*\"numberOfRequests\": \\{\\s*\"total\": \"(\\d+)\",\\s*\"ok\": \"(\\d+)\",\\s*\"ko\": \"(\\d+)\"");

  public static void main(String[] args) throws IOException {
    Path report;
    try (Stream<Path> runs = Files.list(Path.of(args[0]))) {
      report = runs.filter(dir -> Files.exists(dir.resolve("js/stats.js"))).findFirst()
          .orElseThrow(() -> new IllegalStateException("no Gatling report under " + args[0]));
    }
    String stats = Files.readString(report.resolve("js/stats.js"));
    Matcher request = REQUEST.matcher(stats);
    StringBuilder rows = new StringBuilder();
    while (request.find()) {
      String rest = stats.substring(request.end());
      rows.append(String.format("| %s | %s | %s | %s | %s | %s | %s | %s |%n", args[1], request.group(1),
          request.group(2), request.group(4), value(rest, "meanNumberOfRequestsPerSecond"),
          value(rest, "percentiles1"), value(rest, "percentiles3"), value(rest, "percentiles4")));
    }
    if (rows.isEmpty()) throw new IllegalStateException("no request statistics in " + report);
    System.out.print(rows);
  }

  /** The "total" of the first statistic of that name after the request's own name. */
  private static String value(String text, String statistic) {
    Matcher m = Pattern.compile("\"" + statistic + "\": \\{\\s*\"total\": \"([^\"]+)\"").matcher(text);
    return m.find() ? m.group(1) : "-";
  }
}
