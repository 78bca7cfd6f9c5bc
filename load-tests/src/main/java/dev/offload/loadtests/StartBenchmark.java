package dev.offload.loadtests;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * P3 of quality.md: {@code offload start} → active with a warm pool, the wall time a user sees,
 * measured with the real client ({@code bin/offload start --detach}) against a running node,
 * next to what explains it, all in the same run:
 *
 * <ul>
 *   <li>the figure: from launching {@code bin/offload start --detach} to the line in which it
 *       reports the session active (or already grace-period / idle, as it accepts those);
 *   <li>its exit: the same command once its background bridge is up and it has returned;
 *   <li>the client's start-up: {@code bin/offload --version} launched to exit (the script, the
 *       JVM and picocli, no network), the floor of any command;
 *   <li>the server's part: {@code POST /v1/sessions} until its event stream leaves provisioning,
 *       from a warm JVM, as ApiBenchmark's P2 measures it.
 * </ul>
 *
 * <p>Between two starts the session is stopped ({@code bin/offload stop}, or {@code DELETE} for
 * the server's part) and the benchmark waits until the whole pool is warm again, so every start
 * finds a warm runner.
 *
 * <p>{@code StartBenchmark --url U --operator-token T --offload bin/offload --work DIR --out DIR
 * [--rounds 3] [--starts 20] [--pool N]}
 */
public final class StartBenchmark {
  /** The lines in which {@code offload start} reports the runner ready (StartCommand's RUNNING). */
  private static final Pattern ACTIVE = Pattern.compile("^Session \\S+( \\([^)]*\\))?: (active|grace-period|idle)$");

  private final Map<String, String> options;
  private final NodeClient node;
  private final Path offload;
  private final Path work;
  private final Path out;

  private StartBenchmark(Map<String, String> options) {
    this.options = options;
    this.node = new NodeClient(NodeClient.required(options, "url"), NodeClient.required(options, "operator-token"));
    this.offload = Path.of(NodeClient.required(options, "offload"));
    this.work = Path.of(NodeClient.required(options, "work"));
    this.out = Path.of(NodeClient.required(options, "out"));
  }

  public static void main(String[] args) throws Exception {
    NodeClient.exitWhenDone(() -> new StartBenchmark(NodeClient.options(args)).run());
  }

  record Timed(double activeMillis, double exitMillis) {}

  private void run() throws Exception {
    int rounds = NodeClient.number(options, "rounds", 3);
    int starts = NodeClient.number(options, "starts", 20);
    int pool = NodeClient.number(options, "pool", 1);
    Files.createDirectories(out);
    for (String dir : List.of("config", "home", "docker")) Files.createDirectories(work.resolve(dir));

    String run = Long.toString(System.currentTimeMillis() % 100_000, 36);
    String org = "p3-" + run;
    node.operator("POST", "/v1/orgs", "{\"id\":\"" + org + "\"}");
    String token = node.operator("POST", "/v1/orgs/" + org + "/tokens", "{\"user\":\"starter\",\"role\":\"member\"}")
        .path("token").asText();
    cli("login", "--server", node.url(), "--token", token);
    node.waitForWarmPool(pool, Duration.ofMinutes(5));

    // One of each first, not counted: the page cache and the node's JIT see the path once.
    cli("--version");
    startWithCli();
    stopWithCli(pool);
    node.send(token, "DELETE", "/v1/sessions/" + node.startSession(token), null);
    node.waitForWarmPool(pool, Duration.ofMinutes(2));

    StringBuilder raw = new StringBuilder("round,start,kind,ms\n");
    List<Double> activeP50 = new ArrayList<>(), activeP99 = new ArrayList<>(), exitP50 = new ArrayList<>(),
        exitP99 = new ArrayList<>(), versionP50 = new ArrayList<>(), versionP99 = new ArrayList<>(),
        serverP50 = new ArrayList<>(), serverP99 = new ArrayList<>();
    for (int round = 1; round <= rounds; round++) {
      List<Double> active = new ArrayList<>(), exit = new ArrayList<>(), version = new ArrayList<>(), server = new ArrayList<>();
      for (int i = 1; i <= starts; i++) {
        long launched = System.nanoTime();
        cli("--version");
        version.add((System.nanoTime() - launched) / 1e6);
        Timed cli = startWithCli();
        active.add(cli.activeMillis());
        exit.add(cli.exitMillis());
        stopWithCli(pool);
        long posted = System.nanoTime();
        String id = node.startSession(token);
        server.add((System.nanoTime() - posted) / 1e6);
        node.send(token, "DELETE", "/v1/sessions/" + id, null);
        node.waitForWarmPool(pool, Duration.ofMinutes(2));
        raw.append(String.format("%d,%d,cli_active,%.1f%n%d,%d,cli_exit,%.1f%n%d,%d,cli_version,%.1f%n%d,%d,server_active,%.1f%n",
            round, i, cli.activeMillis(), round, i, cli.exitMillis(), round, i, version.get(i - 1), round, i, server.get(i - 1)));
      }
      Figures.log("round %d: offload start → active p50 %.0f ms p99 %.0f ms; its exit p50 %.0f ms; offload --version p50 %.0f ms; POST → active p50 %.0f ms p99 %.0f ms",
          round, Figures.quantileOf(active, 0.5), Figures.quantileOf(active, 0.99), Figures.quantileOf(exit, 0.5), Figures.quantileOf(version, 0.5), Figures.quantileOf(server, 0.5), Figures.quantileOf(server, 0.99));
      activeP50.add(Figures.quantileOf(active, 0.5)); activeP99.add(Figures.quantileOf(active, 0.99));
      exitP50.add(Figures.quantileOf(exit, 0.5)); exitP99.add(Figures.quantileOf(exit, 0.99));
      versionP50.add(Figures.quantileOf(version, 0.5)); versionP99.add(Figures.quantileOf(version, 0.99));
      serverP50.add(Figures.quantileOf(server, 0.5)); serverP99.add(Figures.quantileOf(server, 0.99));
    }
    double p50 = Figures.median(activeP50), p99 = Figures.median(activeP99);
    String table = "| target | what | p50 ms | p99 ms | target | result |\n|---|---|---|---|---|---|\n"
        + String.format("| P3 | `bin/offload start --detach` launched → it prints the session active, warm pool of %d, %d starts per round | %.0f | %.0f | p50 ≤ 300 ms, p99 ≤ 1 s | %s |%n",
            pool, starts, p50, p99, p50 <= 300 && p99 <= 1000 ? "holds" : "missed")
        + String.format("| P3 exit | the same command launched → it exits, its background bridge up | %.0f | %.0f | — | — |%n",
            Figures.median(exitP50), Figures.median(exitP99))
        + String.format("| P3 client start-up | `bin/offload --version` launched → exit (script, JVM, picocli; no network) | %.0f | %.0f | — | — |%n",
            Figures.median(versionP50), Figures.median(versionP99))
        + String.format("| P3 server | `POST /v1/sessions` → its event stream leaves provisioning, from a warm JVM | %.0f | %.0f | — | — |%n",
            Figures.median(serverP50), Figures.median(serverP99))
        + "\nMedian of " + rounds + " rounds' p50 and p99; every start and stop found the whole pool warm.\n";
    Files.writeString(out.resolve("p3.md"), table);
    Files.writeString(out.resolve("p3.csv"), raw.toString());
    System.out.print(table);
  }

  /** Launches {@code offload start --detach}; the active time is when its line arrives on stderr. */
  private Timed startWithCli() throws IOException, InterruptedException {
    long launched = System.nanoTime();
    Process process = client("start", "--detach").redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    long active = -1;
    StringBuilder said = new StringBuilder();
    try (BufferedReader err = new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = err.readLine()) != null; ) {
        if (active < 0 && ACTIVE.matcher(line).matches()) active = System.nanoTime();
        said.append(line).append('\n');
      }
    }
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new IllegalStateException("offload start did not exit within 60 s:\n" + said);
    }
    long exited = System.nanoTime();
    if (process.exitValue() != 0 || active < 0) {
      throw new IllegalStateException("offload start exited with " + process.exitValue() + " without reporting the session active:\n" + said);
    }
    return new Timed((active - launched) / 1e6, (exited - launched) / 1e6);
  }

  private void stopWithCli(int pool) throws IOException, InterruptedException {
    cli("stop");
    node.waitForWarmPool(pool, Duration.ofMinutes(2));
  }

  private void cli(String... args) throws IOException, InterruptedException {
    Process process = client(args).redirectErrorStream(true).start();
    String said = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
      process.destroyForcibly();
      throw new IllegalStateException("offload " + String.join(" ", args) + " failed:\n" + said);
    }
  }

  /** The client as run.sh runs it: its own configuration, home and Docker configuration. */
  private ProcessBuilder client(String... args) {
    List<String> command = new ArrayList<>(List.of(offload.toString()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectInput(new File("/dev/null"));
    Map<String, String> env = builder.environment();
    env.put("XDG_CONFIG_HOME", work.resolve("config").toString());
    env.put("HOME", work.resolve("home").toString());
    env.put("DOCKER_CONFIG", work.resolve("docker").toString());
    return builder;
  }
}
