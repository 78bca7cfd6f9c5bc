package dev.offload.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

/** Human output: aligned columns, instants to the second, durations as 4m 05s. */
final class Table {
  private final List<String[]> rows = new ArrayList<>();

  Table(String... header) {
    rows.add(header);
  }

  Table row(String... cells) {
    rows.add(cells);
    return this;
  }

  void print(PrintWriter out) {
    int[] widths = new int[rows.get(0).length];
    for (String[] row : rows) {
      for (int i = 0; i < row.length; i++) widths[i] = Math.max(widths[i], row[i].length());
    }
    for (String[] row : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < row.length; i++) {
        line.append(row[i]);
        if (i < row.length - 1) line.append(" ".repeat(widths[i] - row[i].length() + 2));
      }
      out.println(line.toString().stripTrailing());
    }
    out.flush();
  }

  /** The server's JSON for {@code --json}, as the server sent it, one document per line. */
  static void json(PrintWriter out, JsonNode json) {
    try {
      out.println(ConfigStore.JSON.writeValueAsString(json));
      out.flush();
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  static String text(JsonNode node) {
    return node == null || node.isNull() || node.isMissingNode() ? "-" : node.asText();
  }

  static String instant(JsonNode node) {
    if (node == null || node.isNull() || node.isMissingNode()) return "-";
    return Instant.parse(node.asText()).truncatedTo(ChronoUnit.SECONDS).toString();
  }

  static String duration(Duration d) {
    long s = Math.max(0, d.toSeconds());
    if (s >= 3600) return String.format("%dh %02dm", s / 3600, s % 3600 / 60);
    if (s >= 60) return String.format("%dm %02ds", s / 60, s % 60);
    return s + "s";
  }
}
