package dev.offload.loadtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keeps the benchmark harness from rotting: runs {@code load-tests/run.sh} for a few seconds per
 * target and checks that each produced a table row with figures. It asserts nothing about the
 * figures themselves: timings belong to docs/performance.md, not to the build.
 */
class HarnessSmokeIT {
  private static final Path HOME = Path.of(System.getProperty("user.dir")).getParent();
  private static final Pattern FIGURE = Pattern.compile("\\d");

  /** Each target's row: "| P2 | what | figure | …". */
  private static String row(String table, String target) {
    return table.lines().filter(line -> line.startsWith("| " + target + " |")).findFirst()
        .orElseThrow(() -> new AssertionError("no row for " + target + " in:\n" + table));
  }

  private static void assertFigures(String table, String... targets) {
    for (String target : targets) {
      String figure = row(table, target).split("\\|")[3];
      assertTrue(FIGURE.matcher(figure).find(), target + " has no figure: " + row(table, target));
    }
  }

  @Test
  void apiAuditAndGatlingTargetsProduceFigures(@TempDir Path results) throws Exception {
    run(results, Map.ofEntries(Map.entry("BENCH_POOL", "4"), Map.entry("BENCH_WORKERS", "2"),
        Map.entry("BENCH_SECONDS", "3"), Map.entry("BENCH_WARMUP_SECONDS", "1"), Map.entry("BENCH_GET_RATE", "50"),
        Map.entry("BENCH_JOURNAL_WRITERS", "50"), Map.entry("BENCH_JOURNAL_SECONDS", "1"),
        Map.entry("BENCH_AUDIT_SESSIONS", "200"), Map.entry("BENCH_GATLING_USERS", "2"),
        Map.entry("BENCH_GATLING_SECONDS", "3"), Map.entry("BENCH_GATLING_CLUSTER", "0")),
        "p1", "p2", "p4", "p10", "p8", "gatling");
    assertFigures(Files.readString(results.resolve("api.md")), "P2", "P4", "P10");
    assertFigures(Files.readString(results.resolve("p1.md")), "P1");
    assertFigures(Files.readString(results.resolve("gatling.md")), "1 node");
    assertFigures(Files.readString(results.resolve("p8.md")), "P8");
  }

  @Test
  void startAndScaleTargetsProduceFigures(@TempDir Path results) throws Exception {
    run(results, Map.of("BENCH_POOL", "2", "BENCH_P3_STARTS", "2",
        "BENCH_SCALE_STEPS", "5,10", "BENCH_SCALE_WARM", "2", "BENCH_SCALE_SSH_SERVERS", "2",
        "BENCH_SCALE_GET_RATE", "50", "BENCH_SCALE_GET_SECONDS", "2", "BENCH_SCALE_GET_WARMUP", "1",
        "BENCH_SCALE_SETTLE", "1"),
        "p3", "p5");
    assertFigures(Files.readString(results.resolve("p3.md")), "P3", "P3 client start-up", "P3 server");
    String curve = Files.readString(results.resolve("p5.md"));
    assertFigures(curve, "P5");
    // A row per step, the ramp's two included, each with the heap and the thread count measured.
    for (String step : List.of("0", "5", "10")) {
      String[] cells = row(curve, step).split("\\|");
      assertTrue(FIGURE.matcher(cells[5]).find() && FIGURE.matcher(cells[6]).find(), "step " + step + " lacks figures: " + row(curve, step));
    }
    assertTrue(Files.size(results.resolve("p5.png")) > 0, "no plot");
  }

  @Test
  void tunnelTargetsProduceFigures(@TempDir Path results) throws Exception {
    boolean openSsh = List.of("/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/ssh-keygen").stream()
        .allMatch(path -> Files.isExecutable(Path.of(path)));
    assumeTrue(openSsh, "OpenSSH (Debian packages openssh-server, openssh-client) is missing: the "
        + "tunnel benchmarks compare against ssh -L, skipping their smoke run");
    run(results, Map.of("BENCH_BULK_MIB", "2", "BENCH_PINGS", "50", "BENCH_WARMUP", "10"), "p6", "p7");
    assertFigures(Files.readString(results.resolve("table.md")), "P6", "P7");
  }

  private static void run(Path results, Map<String, String> settings, String... targets)
      throws IOException, InterruptedException {
    List<String> command = new java.util.ArrayList<>(List.of(HOME.resolve("load-tests/run.sh").toString()));
    command.addAll(List.of(targets));
    ProcessBuilder builder = new ProcessBuilder(command).directory(HOME.toFile())
        .redirectErrorStream(true).redirectOutput(results.resolve("run.log").toFile());
    Map<String, String> env = new HashMap<>(settings);
    env.put("BENCH_ROUNDS", "1");
    env.put("BENCH_RESULTS", results.toString());
    builder.environment().putAll(env);
    Process process = builder.start();
    boolean ended = process.waitFor(5, TimeUnit.MINUTES);
    if (!ended) process.destroyForcibly();
    assertTrue(ended, "run.sh did not finish within 5 minutes:\n" + Files.readString(results.resolve("run.log")));
    assertEquals(0, process.exitValue(), "run.sh failed:\n" + Files.readString(results.resolve("run.log")));
  }
}
