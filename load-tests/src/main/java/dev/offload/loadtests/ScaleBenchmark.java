package dev.offload.loadtests;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValueFactory;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.ToDoubleFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;

/**
 * P5 of quality.md: the scale curve of one node. Live sessions are ramped step by step (1k, 2k,
 * 5k, 10k by default); at each step, once it has settled: the node's heap used right after a full
 * GC ({@code jcmd GC.run}, then {@code GC.heap_info}), its live threads and resident memory
 * ({@code /proc/<pid>/status}), and the API's latency: {@code GET /v1/sessions/{id}} over random
 * live sessions at a modest constant rate, from each request's due time, and every user's
 * {@code GET /v1/sessions} list. Writes p5.md (the table), p5.csv and p5.png (the plot).
 *
 * <p>A step the node cannot reach (creations failing, the node gone) ends the curve: the table
 * says how far it got and why.
 *
 * <p>{@code ScaleBenchmark run --url U --operator-token T --node-pid PID --out DIR [--steps
 * 1000,2000,5000,10000] [--get-rate 200] [--get-seconds 15] [--get-warmup 5] [--settle 10]
 * [--parallel 16] [--warm N] [--max-seconds 1800]}
 *
 * <p>{@code ScaleBenchmark static-config --from runners.conf --runners N --min-warm W --to FILE}:
 * the node's runner configuration, N {@code static} runners spread over the few SSH servers of
 * {@code bin/offload-runner-host}'s runners.conf.
 */
public final class ScaleBenchmark {
  /** The API's caps (SettingsRules): 100 live sessions per user; ten users to an organisation. */
  private static final int PER_USER = 100;
  private static final int USERS_PER_ORG = 10;
  private static final Pattern HEAP_USED = Pattern.compile("heap\\s+total \\d+K, used (\\d+)K");

  private final Map<String, String> options;
  private final NodeClient node;
  private final long nodePid;
  private final Path out;
  private final String run = Long.toString(System.currentTimeMillis() % 100_000, 36);
  private final List<String> userTokens = new ArrayList<>();
  /** Live session id → its user's token. */
  private final Map<String, String> live = new ConcurrentHashMap<>();
  /** Creations answered 503 and tried again, over the whole ramp. */
  private final AtomicLong retried = new AtomicLong();

  private ScaleBenchmark(Map<String, String> options) {
    this.options = options;
    this.node = new NodeClient(NodeClient.required(options, "url"), NodeClient.required(options, "operator-token"));
    this.nodePid = Long.parseLong(NodeClient.required(options, "node-pid"));
    this.out = Path.of(NodeClient.required(options, "out"));
  }

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("static-config")) {
      Map<String, String> options = NodeClient.options(java.util.Arrays.copyOfRange(args, 1, args.length));
      staticConfig(Path.of(NodeClient.required(options, "from")), NodeClient.number(options, "runners", 1),
          NodeClient.number(options, "min-warm", 1), Path.of(NodeClient.required(options, "to")));
      return;
    }
    if (args.length == 0 || !args[0].equals("run")) throw new IllegalArgumentException("ScaleBenchmark run|static-config --name value...");
    NodeClient.exitWhenDone(() -> new ScaleBenchmark(NodeClient.options(java.util.Arrays.copyOfRange(args, 1, args.length))).run());
  }

  /** N static runners, runner i on SSH server i mod K (each entry keeps its server's pinned host key). */
  static void staticConfig(Path from, int runners, int minWarm, Path to) throws IOException {
    Config served = ConfigFactory.parseFile(from.toFile());
    List<? extends Config> servers = served.getConfigList("offload.runners.static.hosts");
    String runnerClass = servers.get(0).getString("class");
    List<Map<String, Object>> hosts = new ArrayList<>();
    for (int i = 0; i < runners; i++) {
      Map<String, Object> host = new LinkedHashMap<>(servers.get(i % servers.size()).root().unwrapped());
      host.put("id", String.format("scale-%05d", i));
      hosts.add(host);
    }
    Map<String, Object> sizes = new LinkedHashMap<>();
    sizes.put("provider", "static");
    sizes.put("min-warm", Math.min(minWarm, runners));
    sizes.put("max", runners);
    Config config = ConfigFactory.empty()
        .withValue("offload.runners.ssh.identity", served.getValue("offload.runners.ssh.identity"))
        .withValue("offload.runners.static.hosts", ConfigValueFactory.fromIterable(hosts))
        .withValue("offload.runners.classes." + runnerClass, ConfigValueFactory.fromMap(sizes));
    Files.writeString(to, "# " + runners + " static runners over the " + servers.size() + " SSH servers of " + from + "\n"
        + config.root().render(ConfigRenderOptions.concise().setFormatted(true).setJson(false)));
  }

  record Step(int target, int live, String stopped, double createdPerSecond, long retried, double heapMb, long threads, double rssMb,
      double getP50, double getP99, double getMax, long getErrors, double listP99, long listErrors) {}

  private void run() throws Exception {
    List<Integer> steps = new ArrayList<>();
    for (String step : options.getOrDefault("steps", "1000,2000,5000,10000").split(",")) steps.add(Integer.parseInt(step.trim()));
    int getRate = NodeClient.number(options, "get-rate", 200);
    int getSeconds = NodeClient.number(options, "get-seconds", 15);
    int settle = NodeClient.number(options, "settle", 10);
    int parallel = NodeClient.number(options, "parallel", 16);
    getWarmup = NodeClient.number(options, "get-warmup", 5);
    budgetEnds = System.nanoTime() + TimeUnit.SECONDS.toNanos(NodeClient.number(options, "max-seconds", 1800));
    Files.createDirectories(out);
    node.waitForWarmPool(NodeClient.number(options, "warm", 1), Duration.ofMinutes(10));

    List<Step> curve = new ArrayList<>();
    Step baseline = measure(0, null, 0, getRate, getSeconds);
    Figures.log("0 live sessions: heap %.0f MB after GC, %d threads, RSS %.0f MB", baseline.heapMb(), baseline.threads(), baseline.rssMb());
    curve.add(baseline);
    for (int target : steps) {
      long started = System.nanoTime();
      int before = live.size();
      String stopped = ramp(target, parallel);
      double perSecond = (live.size() - before) / ((System.nanoTime() - started) / 1e9);
      if (!alive()) {
        stopped = (stopped == null ? "" : stopped + "; ") + "the node's process is gone";
        curve.add(new Step(target, live.size(), stopped, perSecond, retried.get(), Double.NaN, 0, Double.NaN, Double.NaN, Double.NaN,
            Double.NaN, 0, Double.NaN, 0));
        Figures.log("step %d: %s", target, stopped);
        break;
      }
      Figures.log("step %d: %d live (%.1f created/s)%s; settling %d s", target, live.size(), perSecond,
          stopped == null ? "" : ", stopped: " + stopped, settle);
      Thread.sleep(TimeUnit.SECONDS.toMillis(settle));
      Step step;
      try {
        step = measure(target, stopped, perSecond, getRate, getSeconds);
      } catch (Exception e) {
        String why = "measuring failed: " + e.getClass().getSimpleName() + ": " + e.getMessage();
        curve.add(new Step(target, live.size(), stopped == null ? why : stopped + "; " + why, perSecond, retried.get(),
            Double.NaN, 0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, 0, Double.NaN, 0));
        Figures.log("step %d: %s", target, why);
        break;
      }
      curve.add(step);
      Figures.log("step %d: %d live, heap %.0f MB after GC, %d threads, RSS %.0f MB, GET p50 %.1f ms p99 %.1f ms (%d errors), list p99 %.1f ms",
          target, step.live(), step.heapMb(), step.threads(), step.rssMb(), step.getP50(), step.getP99(), step.getErrors(), step.listP99());
      if (stopped != null) break;
    }
    write(curve, getRate, getSeconds);
  }

  /** Creates sessions until {@code target} are live; the first failure's message if it could not. */
  private String ramp(int target, int parallel) throws Exception {
    int needed = target - live.size();
    if (needed <= 0) return null;
    while (userTokens.size() * PER_USER < target) addUser();
    AtomicReference<String> failure = new AtomicReference<>();
    AtomicLong next = new AtomicLong(live.size());
    ExecutorService creators = Executors.newFixedThreadPool(parallel);
    List<Future<?>> work = new ArrayList<>();
    for (int i = 0; i < parallel; i++) {
      work.add(creators.submit(() -> {
        for (long n; failure.get() == null && (n = next.getAndIncrement()) < target; ) {
          if (System.nanoTime() > budgetEnds) {
            failure.compareAndSet(null, "the run's time budget (--max-seconds) was spent while ramping");
            break;
          }
          String token = userTokens.get((int) (n / PER_USER));
          for (int attempt = 1; ; attempt++) {
            try {
              live.put(node.startSession(token, "{\"idleTimeoutSeconds\":3600}"), token);
              break;
            } catch (Exception e) {
              // A 503 asks the client to retry in a few seconds, as the CLI would; three in a row,
              // or any other failure, end the curve.
              String message = e.getClass().getSimpleName() + ": " + e.getMessage();
              if (attempt < 3 && String.valueOf(e.getMessage()).contains(" answered 503")) {
                retried.incrementAndGet();
                Figures.log("  creating session %d answered 503 (attempt %d), retrying in 2 s: %s", n, attempt, e.getMessage());
                try {
                  Thread.sleep(2000);
                } catch (InterruptedException interrupted) {
                  Thread.currentThread().interrupt();
                  return null;
                }
                continue;
              }
              failure.compareAndSet(null, "session " + n + ", attempt " + attempt + ": " + message);
              break;
            }
          }
        }
        return null;
      }));
    }
    for (Future<?> f : work) f.get();
    creators.shutdown();
    return failure.get();
  }

  /** One more member; a new organisation every ten, which may hold ten users' worth of sessions. */
  private void addUser() throws IOException, InterruptedException {
    int index = userTokens.size();
    String org = "scale-" + run + "-" + (index / USERS_PER_ORG);
    if (index % USERS_PER_ORG == 0) {
      node.operator("POST", "/v1/orgs", "{\"id\":\"" + org + "\"}");
      String owner = node.operator("POST", "/v1/orgs/" + org + "/tokens", "{\"user\":\"owner\",\"role\":\"owner\"}")
          .path("token").asText();
      node.send(owner, "PUT", "/v1/orgs/" + org + "/settings",
          "{\"maxSessionsPerUser\":" + PER_USER + ",\"maxLiveSessions\":" + PER_USER * USERS_PER_ORG + "}");
    }
    userTokens.add(node.operator("POST", "/v1/orgs/" + org + "/tokens", "{\"user\":\"u" + index + "\",\"role\":\"member\"}")
        .path("token").asText());
  }

  /** The run is bounded: past this, the ramp stops where it is and the curve ends there. */
  private long budgetEnds;

  /** Not counted, before each step's GETs: the connections opened and the path warm again after the ramp. */
  private int getWarmup;

  private Step measure(int target, String stopped, double perSecond, int getRate, int getSeconds) throws Exception {
    double[] list = listAll();
    double[] get = {Double.NaN, Double.NaN, Double.NaN, 0};
    if (!live.isEmpty()) {
      constantRateGets(getRate, getWarmup);
      get = constantRateGets(getRate, getSeconds);
    }
    double heap = heapAfterGc();
    Map<String, String> status = procStatus();
    long threads = Long.parseLong(status.getOrDefault("Threads", "0").trim());
    double rss = Long.parseLong(status.getOrDefault("VmRSS", "0 kB").trim().split("\\s+")[0]) / 1024.0;
    return new Step(target, (int) list[2], stopped, perSecond, retried.get(), heap, threads, rss, get[0], get[1], get[2], (long) get[3],
        list[0], (long) list[1]);
  }

  /** Every user's list of sessions: p99 ms, errors, and the live sessions they hold. */
  private double[] listAll() {
    List<Long> latencies = new ArrayList<>();
    long errors = 0;
    int counted = 0;
    for (String token : userTokens) {
      long started = System.nanoTime();
      try {
        JsonNode sessions = node.send(token, "GET", "/v1/sessions?limit=500", null).path("sessions");
        latencies.add(System.nanoTime() - started);
        for (JsonNode session : sessions) {
          if (session.path("state").asText().equals("terminated")) live.remove(session.path("id").asText());
          else counted++;
        }
      } catch (Exception e) {
        errors++;
      }
    }
    Collections.sort(latencies);
    return new double[] {Figures.quantile(latencies, 0.99) / 1e6, errors, counted};
  }

  /**
   * {@code perSecond} GETs a second of random live sessions, each with its owner's token, on 16
   * kept-alive connections; latency counts from each request's due time (as ApiBenchmark's P4).
   */
  private double[] constantRateGets(int perSecond, int seconds) throws Exception {
    List<Map.Entry<String, String>> sessions = new ArrayList<>(live.entrySet());
    long intervalNanos = 1_000_000_000L / perSecond;
    int total = perSecond * seconds;
    long first = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
    long[] latencies = new long[total];
    long giveUp = first + TimeUnit.SECONDS.toNanos(seconds + 30L);
    AtomicLong next = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    ExecutorService senders = Executors.newFixedThreadPool(16);
    for (int i = 0; i < 16; i++) {
      senders.execute(() -> {
        for (long n; (n = next.getAndIncrement()) < total; ) {
          var session = sessions.get(ThreadLocalRandom.current().nextInt(sessions.size()));
          HttpRequest request = HttpRequest.newBuilder(URI.create(node.url() + "/v1/sessions/" + session.getKey()))
              .header("Authorization", "Bearer " + session.getValue()).timeout(Duration.ofSeconds(10)).GET().build();
          long due = first + n * intervalNanos;
          if (System.nanoTime() > giveUp) {
            // The node fell this far behind: a request never sent counts as failed, waiting since it was due.
            latencies[(int) n] = System.nanoTime() - due;
            errors.incrementAndGet();
            continue;
          }
          long left;
          while ((left = due - System.nanoTime()) > 0) LockSupport.parkNanos(left);
          boolean ok;
          try {
            ok = client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
          } catch (IOException e) {
            ok = false;
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
          latencies[(int) n] = System.nanoTime() - due;
          if (!ok) errors.incrementAndGet();
        }
      });
    }
    senders.shutdown();
    // Requests in flight at give-up time end within their 10 s timeout.
    if (!senders.awaitTermination(seconds + 60L, TimeUnit.SECONDS)) senders.shutdownNow();
    List<Long> sorted = new ArrayList<>(total);
    for (long latency : latencies) sorted.add(latency);
    Collections.sort(sorted);
    return new double[] {Figures.quantile(sorted, 0.50) / 1e6, Figures.quantile(sorted, 0.99) / 1e6, sorted.get(sorted.size() - 1) / 1e6, errors.get()};
  }

  // ---- the node's process ----

  private boolean alive() {
    return Files.exists(Path.of("/proc/" + nodePid));
  }

  private double heapAfterGc() throws IOException, InterruptedException {
    jcmd("GC.run");
    Matcher used = HEAP_USED.matcher(jcmd("GC.heap_info"));
    return used.find() ? Long.parseLong(used.group(1)) / 1024.0 : Double.NaN;
  }

  private String jcmd(String command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder("jcmd", Long.toString(nodePid), command).redirectErrorStream(true).start();
    String said = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    process.waitFor(120, TimeUnit.SECONDS);
    return said;
  }

  private Map<String, String> procStatus() throws IOException {
    Map<String, String> fields = new LinkedHashMap<>();
    for (String line : Files.readAllLines(Path.of("/proc/" + nodePid + "/status"))) {
      int colon = line.indexOf(':');
      if (colon > 0) fields.put(line.substring(0, colon), line.substring(colon + 1));
    }
    return fields;
  }

  // ---- results ----

  private void write(List<Step> curve, int getRate, int getSeconds) throws IOException {
    StringBuilder table = new StringBuilder()
        .append("| live sessions (step) | live, counted | created /s | 503s retried, so far | heap MB after GC | threads | RSS MB | GET p50 ms | GET p99 ms | GET max ms | GET errors | list p99 ms | stopped by |\n")
        .append("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    StringBuilder csv = new StringBuilder("step,live,created_per_s,retried_503,heap_mb,threads,rss_mb,get_p50_ms,get_p99_ms,get_max_ms,get_errors,list_p99_ms,list_errors,stopped\n");
    Step best = null;
    for (Step s : curve) {
      table.append(String.format("| %,d | %,d | %s | %d | %s | %d | %s | %s | %s | %s | %d | %s | %s |%n", s.target(), s.live(),
          s.target() == 0 ? "—" : String.format("%.1f", s.createdPerSecond()), s.retried(), f(s.heapMb(), 0), s.threads(), f(s.rssMb(), 0),
          f(s.getP50(), 1), f(s.getP99(), 1), f(s.getMax(), 1), s.getErrors(), f(s.listP99(), 1),
          s.stopped() == null ? "" : s.stopped().replace('|', '/').replace('\n', ' ')));
      csv.append(String.format("%d,%d,%.2f,%d,%.1f,%d,%.1f,%.2f,%.2f,%.2f,%d,%.2f,%d,\"%s\"%n", s.target(), s.live(), s.createdPerSecond(),
          s.retried(), s.heapMb(), s.threads(), s.rssMb(), s.getP50(), s.getP99(), s.getMax(), s.getErrors(), s.listP99(), s.listErrors(),
          s.stopped() == null ? "" : s.stopped().replace('"', '\'')));
      if (s.live() > 0 && s.getP99() <= 50 && s.getErrors() == 0 && (best == null || s.live() > best.live())) best = s;
    }
    Step last = curve.get(curve.size() - 1);
    String summary = "| target | what | figure | target | result |\n|---|---|---|---|---|\n"
        + String.format("| P5 | most live sessions on one node with `GET /v1/sessions/{id}` p99 ≤ 50 ms (%d req/s for %d s) | %s | ≥ 5,000 live sessions, p99 ≤ 50 ms | %s |%n",
            getRate, getSeconds,
            best == null ? "none (largest step: " + String.format("%,d", last.live()) + " live)"
                : String.format("%,d live (p99 %.1f ms, heap %.0f MB after GC, %d threads)", best.live(), best.getP99(), best.heapMb(), best.threads()),
            best != null && best.live() >= 5000 ? "holds" : "missed");
    String text = summary + "\n" + table + "\nHeap used right after a full GC (jcmd GC.run, GC.heap_info); threads and RSS from /proc;"
        + " GET latency from each request's due time over random live sessions; list: every user's `GET /v1/sessions`."
        + " Plot: p5.png.\n";
    Files.writeString(out.resolve("p5.md"), text);
    Files.writeString(out.resolve("p5.csv"), csv.toString());
    plot(curve, out.resolve("p5.png"));
    System.out.print(text);
  }

  private static String f(double value, int decimals) {
    return Double.isNaN(value) ? "—" : String.format("%,." + decimals + "f", value);
  }

  /** Three stacked line charts sharing the x axis (live sessions): heap MB, threads, GET p99 ms. */
  static void plot(List<Step> curve, Path file) throws IOException {
    int width = 900, panelHeight = 220, left = 90, right = 30, top = 50, gap = 50;
    List<String> titles = List.of("heap used after GC (MB)", "live threads", "GET /v1/sessions/{id} p99 (ms)");
    List<ToDoubleFunction<Step>> series = List.of(Step::heapMb, s -> s.threads(), Step::getP99);
    List<Color> colours = List.of(new Color(0x1f77b4), new Color(0x2ca02c), new Color(0xd62728));
    int height = top + titles.size() * (panelHeight + gap) + 20;
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, width, height);
    g.setColor(Color.BLACK);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
    g.drawString("P5: one node against live sessions", left, 28);
    double maxX = niceCeiling(Math.max(1, curve.stream().mapToDouble(Step::live).max().orElse(1)));
    for (int p = 0; p < titles.size(); p++) {
      int y0 = top + p * (panelHeight + gap);
      int plotWidth = width - left - right, plotBottom = y0 + panelHeight;
      List<double[]> points = new ArrayList<>();
      for (Step s : curve) {
        double value = series.get(p).applyAsDouble(s);
        if (!Double.isNaN(value)) points.add(new double[] {s.live(), value});
      }
      double maxY = niceCeiling(Math.max(points.stream().mapToDouble(pt -> pt[1]).max().orElse(1), p == 2 ? 50 : 1));
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
      for (int tick = 0; tick <= 5; tick++) {
        int y = plotBottom - tick * panelHeight / 5;
        g.setColor(new Color(0xe0e0e0));
        g.drawLine(left, y, left + plotWidth, y);
        g.setColor(Color.DARK_GRAY);
        String label = f(maxY * tick / 5, maxY >= 10 ? 0 : 1);
        g.drawString(label, left - 8 - g.getFontMetrics().stringWidth(label), y + 4);
      }
      for (int tick = 0; tick <= 5; tick++) {
        int x = left + tick * plotWidth / 5;
        String label = String.format("%,.0f", maxX * tick / 5);
        g.drawLine(x, plotBottom, x, plotBottom + 4);
        g.drawString(label, x - g.getFontMetrics().stringWidth(label) / 2, plotBottom + 17);
      }
      g.setColor(Color.BLACK);
      g.drawLine(left, y0, left, plotBottom);
      g.drawLine(left, plotBottom, left + plotWidth, plotBottom);
      g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
      g.drawString(titles.get(p), left + 6, y0 - 6);
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
      g.drawString("live sessions", left + plotWidth - g.getFontMetrics().stringWidth("live sessions"), plotBottom + 32);
      if (p == 2) {
        int y = plotBottom - (int) Math.round(50 / maxY * panelHeight);
        g.setColor(Color.GRAY);
        g.setStroke(new BasicStroke(1, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10, new float[] {6, 4}, 0));
        g.drawLine(left, y, left + plotWidth, y);
        g.drawString("target: p99 ≤ 50 ms", left + plotWidth - 130, y - 4);
      }
      g.setColor(colours.get(p));
      g.setStroke(new BasicStroke(2.2f));
      int[] previous = null;
      for (double[] pt : points) {
        int x = left + (int) Math.round(pt[0] / maxX * plotWidth);
        int y = plotBottom - (int) Math.round(pt[1] / maxY * panelHeight);
        if (previous != null) g.drawLine(previous[0], previous[1], x, y);
        g.fillOval(x - 4, y - 4, 8, 8);
        previous = new int[] {x, y};
      }
      g.setStroke(new BasicStroke(1));
    }
    g.dispose();
    ImageIO.write(image, "png", file.toFile());
  }

  /** 1, 2 or 5 times a power of ten, at least {@code value}. */
  private static double niceCeiling(double value) {
    double power = Math.pow(10, Math.floor(Math.log10(value)));
    for (double m : new double[] {1, 2, 5, 10}) if (m * power >= value) return m * power;
    return 10 * power;
  }
}
