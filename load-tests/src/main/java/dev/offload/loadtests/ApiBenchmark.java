package dev.offload.loadtests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * The API and journal targets of quality.md, against a running node (started by run.sh with a
 * warm pool and its embedded PostgreSQL on a known port), each round measured in one run:
 *
 * <ul>
 *   <li>P2: full lifecycles per second (create → active → stop → terminated; the pool wipes the
 *       runner and warms it again before it is leased once more), closed loop, one user per
 *       worker, waiting for the runner on the session's event stream like {@code offload start};
 *   <li>P10: the node's own ledger-lag histogram (event → ledger row) over the same rounds (the
 *       journal rows written per second in each round are reported with P2);
 *   <li>P4: {@code GET /v1/sessions/{id}} at a constant request rate over a fixed number of
 *       connections, latency measured from the moment each request was due (so a stall counts
 *       against every request it delayed).
 * </ul>
 *
 * <p>{@code ApiBenchmark --url U --operator-token T --jdbc-url J --out DIR [--targets p2,p4,p10]
 * [--rounds 3] [--workers 100] [--seconds 60] [--warmup 10] [--get-rate 2000] [--pool 200]}
 */
public final class ApiBenchmark {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
  /** Connections the P4 load uses, like a fleet of clients with keep-alive. */
  private static final int GET_CONNECTIONS = 64;

  private final Map<String, String> options;
  private final NodeClient node;
  private final String url;
  private final Path out;

  private ApiBenchmark(Map<String, String> options) {
    this.options = options;
    this.node = new NodeClient(NodeClient.required(options, "url"), NodeClient.required(options, "operator-token"));
    this.url = node.url();
    this.out = Path.of(NodeClient.required(options, "out"));
  }

  public static void main(String[] args) {
    NodeClient.exitWhenDone(() -> new ApiBenchmark(NodeClient.options(args)).run());
  }

  private int number(String name, int fallback) {
    return NodeClient.number(options, name, fallback);
  }

  private void run() throws Exception {
    List<String> targets = List.of(options.getOrDefault("targets", "p2,p4,p10").split(","));
    int rounds = number("rounds", 3);
    int workers = number("workers", 100);
    int seconds = number("seconds", 60);
    int warmup = number("warmup", 10);
    int getRate = number("get-rate", 2000);
    int pool = number("pool", 200);
    Files.createDirectories(out);

    node.waitForWarmPool(pool, Duration.ofMinutes(5));
    List<String> tokens = users(workers);
    StringBuilder raw = new StringBuilder("target,round,figure,baseline,extra\n");
    List<String> rows = new ArrayList<>();

    boolean lifecycle = targets.contains("p2") || targets.contains("p10");
    if (lifecycle) {
      List<Double> rates = new ArrayList<>(), journalRates = new ArrayList<>();
      List<Long> errors = new ArrayList<>();
      Map<Double, Long> lagBefore = lagBuckets();
      for (int round = 1; round <= rounds; round++) {
        LifecycleRound result = lifecycles(tokens, warmup, seconds);
        Duration warmAgain = node.waitForWarmPool(pool, Duration.ofMinutes(2));
        Figures.log("round %d: %.1f lifecycles/s, %d errors, journal %.0f rows/s, start→active p50 %.0f ms p99 %.0f ms, pool warm again after %d ms",
            round, result.perSecond(), result.errors(), result.journalRowsPerSecond(),
            result.activeP50Millis(), result.activeP99Millis(), warmAgain.toMillis());
        rates.add(result.perSecond());
        errors.add(result.errors());
        journalRates.add(result.journalRowsPerSecond());
        raw.append(String.format("p2,%d,%.2f,,errors=%d;active_p50_ms=%.0f;active_p99_ms=%.0f;warm_again_ms=%d;journal_rows_per_s=%.0f%n",
            round, result.perSecond(), result.errors(), result.activeP50Millis(), result.activeP99Millis(), warmAgain.toMillis(),
            result.journalRowsPerSecond()));
      }
      Map<Double, Long> lag = subtract(lagBuckets(), lagBefore);
      long totalErrors = errors.stream().mapToLong(Long::longValue).sum();
      if (targets.contains("p2")) {
        double median = Figures.median(rates);
        rows.add(String.format("| P2 | full lifecycles/s, one node, %d workers, warm pool %d, %d s per round (journal: %,.0f rows/s) | %.1f /s, %d errors | ≥ 100 /s, 0 errors | %.2f | %s |",
            workers, pool, seconds, Figures.median(journalRates), median, totalErrors, median / 100,
            median >= 100 && totalErrors == 0 ? "holds" : "missed"));
      }
      if (targets.contains("p10")) {
        long count = lag.values().stream().mapToLong(Long::longValue).max().orElse(0);
        double p50 = bucketQuantile(lag, 0.50), p99 = bucketQuantile(lag, 0.99);
        rows.add(String.format("| P10 | ledger lag (event → ledger row) under the P2 load, %,d events, node histogram | p50 ≤ %s s, p99 ≤ %s s | p99 ≤ 2 s | — | %s |",
            count, bound(p50), bound(p99), p99 <= 2 ? "holds" : "missed"));
        raw.append(String.format("p10,all,%s,,count=%d;p50_bucket=%s%n", bound(p99), count, bound(p50)));
      }
    }
    if (targets.contains("p4")) {
      String session = node.startSession(tokens.get(0));
      List<Double> p99s = new ArrayList<>(), p50s = new ArrayList<>();
      long totalErrors = 0;
      for (int round = 1; round <= rounds; round++) {
        GetRound result = constantRateGets(tokens.get(0), session, getRate, warmup, seconds);
        Figures.log("round %d: GET at %d/s: p50 %.2f ms, p99 %.2f ms, max %.1f ms, %d errors, %d sent",
            round, getRate, result.p50Millis(), result.p99Millis(), result.maxMillis(), result.errors(), result.sent());
        p99s.add(result.p99Millis());
        p50s.add(result.p50Millis());
        totalErrors += result.errors();
        raw.append(String.format("p4,%d,%.2f,,p50_ms=%.2f;errors=%d;sent=%d%n", round, result.p99Millis(), result.p50Millis(), result.errors(), result.sent()));
      }
      double p99 = Figures.median(p99s);
      rows.add(String.format("| P4 | `GET /v1/sessions/{id}` at %,d req/s for %d s, latency from the due time | p99 %.1f ms (p50 %.1f ms), %d errors | p99 ≤ 20 ms, 0 errors | %.2f | %s |",
          getRate, seconds, p99, Figures.median(p50s), totalErrors, p99 / 20, p99 <= 20 && totalErrors == 0 ? "holds" : "missed"));
      node.send(tokens.get(0), "DELETE", "/v1/sessions/" + session, null);
    }

    String table = "| target | what | figure | baseline / target | ratio | result |\n|---|---|---|---|---|---|\n"
        + String.join("\n", rows) + "\n\nMedian of " + rounds + " rounds.\n";
    Files.writeString(out.resolve("api.md"), table);
    Files.writeString(out.resolve("api.csv"), raw.toString());
    System.out.print(table);
  }

  // ---- P2 (and the P10 figures taken during it) ----

  record LifecycleRound(double perSecond, long errors, double journalRowsPerSecond, double activeP50Millis, double activeP99Millis) {}

  /** Each worker runs lifecycles back to back; only those that end inside the window count. */
  private LifecycleRound lifecycles(List<String> tokens, int warmupSeconds, int seconds) throws Exception {
    long warmupEnds = System.nanoTime() + TimeUnit.SECONDS.toNanos(warmupSeconds);
    long windowEnds = warmupEnds + TimeUnit.SECONDS.toNanos(seconds);
    LongAdder completed = new LongAdder();
    LongAdder errors = new LongAdder();
    List<Long> activeNanos = Collections.synchronizedList(new ArrayList<>());
    Map<String, Long> errorKinds = new ConcurrentHashMap<>();
    ExecutorService pool = Executors.newFixedThreadPool(tokens.size());
    CountDownLatch done = new CountDownLatch(tokens.size());
    for (String token : tokens) {
      pool.execute(() -> {
        try {
          while (System.nanoTime() < windowEnds) {
            try {
              long started = System.nanoTime();
              String id = node.startSession(token);
              long active = System.nanoTime();
              String state = node.send(token, "DELETE", "/v1/sessions/" + id, null).path("state").asText();
              if (!state.equals("terminated")) throw new IllegalStateException("stop answered state " + state);
              long ended = System.nanoTime();
              if (started >= warmupEnds && ended <= windowEnds) {
                completed.increment();
                activeNanos.add(active - started);
              }
            } catch (Exception e) {
              if (System.nanoTime() >= warmupEnds) {
                errors.increment();
                errorKinds.merge(e.getClass().getSimpleName() + ": " + e.getMessage(), 1L, Long::sum);
              }
            }
          }
        } finally {
          done.countDown();
        }
      });
    }
    sleepUntil(warmupEnds);
    long journalAtStart = journalRows();
    sleepUntil(windowEnds);
    long journalRows = journalRows() - journalAtStart;
    done.await();
    pool.shutdown();
    errorKinds.forEach((kind, count) -> Figures.log("  error x%d: %s", count, kind));
    List<Long> sorted = new ArrayList<>(activeNanos);
    Collections.sort(sorted);
    return new LifecycleRound(completed.sum() / (double) seconds, errors.sum(), journalRows / (double) seconds,
        Figures.quantile(sorted, 0.50) / 1e6, Figures.quantile(sorted, 0.99) / 1e6);
  }

  // ---- P4 ----

  record GetRound(double p50Millis, double p99Millis, double maxMillis, long errors, long sent) {}

  /**
   * {@code perSecond} requests a second on {@value #GET_CONNECTIONS} kept-alive connections: each
   * request has a due time on a fixed schedule and its latency counts from then, so a stall is
   * charged to every request it delayed, not hidden by sending fewer (coordinated omission).
   */
  private GetRound constantRateGets(String token, String session, int perSecond, int warmupSeconds, int seconds) throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create(url + "/v1/sessions/" + session))
        .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(5)).GET().build();
    long intervalNanos = 1_000_000_000L / perSecond;
    long warmupRequests = (long) perSecond * warmupSeconds;
    long total = (long) perSecond * seconds;
    long first = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
    long[] latencies = new long[(int) total];
    AtomicLong next = new AtomicLong();
    LongAdder errors = new LongAdder();
    ExecutorService senders = Executors.newFixedThreadPool(GET_CONNECTIONS);
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();
    for (int i = 0; i < GET_CONNECTIONS; i++) {
      senders.execute(() -> {
        for (long n; (n = next.getAndIncrement()) < warmupRequests + total; ) {
          long due = first + n * intervalNanos;
          sleepUntil(due);
          boolean ok;
          try {
            ok = client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
          } catch (IOException e) {
            ok = false;
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
          if (n >= warmupRequests) {
            latencies[(int) (n - warmupRequests)] = System.nanoTime() - due;
            if (!ok) errors.increment();
          }
        }
      });
    }
    senders.shutdown();
    if (!senders.awaitTermination(warmupSeconds + seconds + 60L, TimeUnit.SECONDS)) {
      senders.shutdownNow();
      throw new IllegalStateException("GET round did not finish a minute after its schedule");
    }
    List<Long> sorted = new ArrayList<>(latencies.length);
    for (long latency : latencies) sorted.add(latency);
    Collections.sort(sorted);
    return new GetRound(Figures.quantile(sorted, 0.50) / 1e6, Figures.quantile(sorted, 0.99) / 1e6,
        sorted.get(sorted.size() - 1) / 1e6, errors.sum(), total);
  }

  // ---- the journal ----

  private Connection database() throws SQLException {
    return DriverManager.getConnection(NodeClient.required(options, "jdbc-url"), "postgres", "");
  }

  private long journalRows() {
    try (Connection c = database(); Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("SELECT coalesce(max(ordering), 0) FROM event_journal")) {
      rs.next();
      return rs.getLong(1);
    } catch (SQLException e) {
      throw new IllegalStateException("cannot read the journal: " + e.getMessage(), e);
    }
  }

  // ---- P10: the node's histogram ----

  /** Cumulative counts of offload_ledger_lag_seconds by upper bound, from /metrics. */
  private Map<Double, Long> lagBuckets() throws IOException, InterruptedException {
    HttpResponse<String> response = node.http().send(HttpRequest.newBuilder(URI.create(url + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString());
    Map<Double, Long> buckets = new TreeMap<>();
    for (String line : response.body().split("\n")) {
      if (!line.startsWith("offload_ledger_lag_seconds_bucket{")) continue;
      String le = line.substring(line.indexOf("le=\"") + 4, line.indexOf('"', line.indexOf("le=\"") + 4));
      double bound = le.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le);
      buckets.put(bound, (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
    }
    return buckets;
  }

  private static Map<Double, Long> subtract(Map<Double, Long> after, Map<Double, Long> before) {
    Map<Double, Long> delta = new TreeMap<>();
    after.forEach((bound, count) -> delta.put(bound, count - before.getOrDefault(bound, 0L)));
    return delta;
  }

  /** The smallest bucket bound under which at least the quantile of the observations fall. */
  static double bucketQuantile(Map<Double, Long> cumulative, double quantile) {
    long total = cumulative.getOrDefault(Double.POSITIVE_INFINITY, 0L);
    if (total == 0) return Double.NaN;
    for (Map.Entry<Double, Long> bucket : cumulative.entrySet()) {
      if (bucket.getValue() >= Math.ceil(quantile * total)) return bucket.getKey();
    }
    return Double.POSITIVE_INFINITY;
  }

  private static String bound(double seconds) {
    return Double.isNaN(seconds) ? "n/a" : Double.isInfinite(seconds) ? "∞" : String.valueOf(seconds);
  }

  // ---- set-up ----

  /** One user per worker (one live session each), 50 per organisation (the default cap is 100). */
  private List<String> users(int workers) throws IOException, InterruptedException {
    List<String> tokens = new ArrayList<>();
    String run = Long.toString(System.currentTimeMillis() % 100_000, 36);
    for (int i = 0; i < workers; i++) {
      String org = "bench-" + run + "-" + (i / 50);
      if (i % 50 == 0) node.operator("POST", "/v1/orgs", "{\"id\":\"" + org + "\"}");
      tokens.add(node.operator("POST", "/v1/orgs/" + org + "/tokens",
          "{\"user\":\"u" + i + "\",\"role\":\"member\"}").path("token").asText());
    }
    return tokens;
  }

  // ---- small helpers ----

  private static void sleepUntil(long nanoTime) {
    long left;
    while ((left = nanoTime - System.nanoTime()) > 0) {
      LockSupport.parkNanos(left);
    }
  }
}
