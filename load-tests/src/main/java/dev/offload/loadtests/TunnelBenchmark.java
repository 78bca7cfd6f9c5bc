package dev.offload.loadtests;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Tunnel benchmarks P6 (bulk throughput) and P7 (1-byte round trip) of quality.md. It runs the
 * TCP echo server every path ends at, waits until {@code load-tests/run.sh} has started the paths
 * to it (OpenSSH's {@code ssh -L} and Offload's full tunnel), then measures the three paths
 * alternately in the same run: direct to the echo server, through {@code ssh -L}, through Offload.
 *
 * <pre>
 * TunnelBenchmark free-ports N
 * TunnelBenchmark run --sink-port-file F --ready-file R --out DIR [--targets p6,p7]
 *                     [--rounds 3] [--bulk-mib 256] [--round-timeout 12] [--pings 2000] [--warmup 200]
 * </pre>
 *
 * The ready file holds {@code ssh=PORT} and {@code offload=PORT} lines. Nothing here runs during
 * the build.
 */
public final class TunnelBenchmark {

  private static final int CHUNK = 64 * 1024;
  private static final int PATTERN = 1024 * 1024;

  private TunnelBenchmark() {}

  public static void main(String[] args) throws Exception {
    if (args.length >= 1 && args[0].equals("free-ports")) {
      freePorts(args.length > 1 ? Integer.parseInt(args[1]) : 1);
      return;
    }
    if (args.length < 1 || !args[0].equals("run")) {
      System.err.println("usage: TunnelBenchmark free-ports N | run --sink-port-file F --ready-file R --out DIR [--targets p6,p7] [--rounds N] [--bulk-mib N] [--round-timeout S] [--pings N] [--warmup N]");
      System.exit(2);
    }
    Map<String, String> options = options(Arrays.copyOfRange(args, 1, args.length));
    new Run(options).execute();
  }

  private static void freePorts(int count) throws IOException {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < count; i++) {
        ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        sockets.add(socket);
        System.out.println(socket.getLocalPort());
      }
    } finally {
      for (ServerSocket socket : sockets) socket.close();
    }
  }

  private static Map<String, String> options(String[] args) {
    Map<String, String> options = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("expected --name value, got " + args[i]);
      }
      options.put(args[i].substring(2), args[++i]);
    }
    return options;
  }

  /** The three ways to reach the echo server. */
  record Target(String name, int port) {}

  /** One bulk round: bytes echoed back (each direction carries them once) and the time taken. */
  record Bulk(String path, int round, long bytes, double seconds, boolean complete) {
    double mbPerSecond() {
      return bytes / seconds / 1e6;
    }
  }

  /** One ping-pong round: the round-trip times in nanoseconds. */
  record Pings(String path, int round, long[] nanos) {
    double medianMicros() {
      return percentile(nanos, 50) / 1e3;
    }

    double p99Micros() {
      return percentile(nanos, 99) / 1e3;
    }
  }

  static final class Run {
    private final Path sinkPortFile;
    private final Path readyFile;
    private final Path out;
    private final List<String> targets;
    private final int rounds;
    private final long bulkBytes;
    private final Duration roundTimeout;
    private final int pings;
    private final int warmup;
    private final byte[] pattern = new byte[PATTERN];
    private double measuredSeconds;

    Run(Map<String, String> options) {
      sinkPortFile = Path.of(required(options, "sink-port-file"));
      readyFile = Path.of(required(options, "ready-file"));
      out = Path.of(required(options, "out"));
      targets = Arrays.asList(options.getOrDefault("targets", "p6,p7").split(","));
      rounds = Integer.parseInt(options.getOrDefault("rounds", "3"));
      bulkBytes = Long.parseLong(options.getOrDefault("bulk-mib", "256")) * 1024 * 1024;
      roundTimeout = Duration.ofSeconds(Long.parseLong(options.getOrDefault("round-timeout", "12")));
      pings = Integer.parseInt(options.getOrDefault("pings", "2000"));
      warmup = Integer.parseInt(options.getOrDefault("warmup", "200"));
      new Random(42).nextBytes(pattern);
    }

    private static String required(Map<String, String> options, String name) {
      String value = options.get(name);
      if (value == null) throw new IllegalArgumentException("--" + name + " is required");
      return value;
    }

    void execute() throws Exception {
      try (EchoServer echo = new EchoServer()) {
        Path tmp = sinkPortFile.resolveSibling(sinkPortFile.getFileName() + ".tmp");
        Files.writeString(tmp, Integer.toString(echo.port()) + "\n");
        Files.move(tmp, sinkPortFile, StandardCopyOption.ATOMIC_MOVE);
        System.err.println("echo server on 127.0.0.1:" + echo.port() + "; waiting for the paths to it");
        Map<String, String> ready = awaitReady();
        List<Target> paths = List.of(
            new Target("direct", echo.port()),
            new Target("ssh -L", Integer.parseInt(ready.get("ssh"))),
            new Target("offload", Integer.parseInt(ready.get("offload"))));
        Files.createDirectories(out);

        long started = System.nanoTime();
        List<Bulk> bulks = new ArrayList<>();
        List<Pings> pingRounds = new ArrayList<>();
        if (targets.contains("p6")) bulks = bulk(paths);
        if (targets.contains("p7")) pingRounds = pingPong(paths);
        measuredSeconds = (System.nanoTime() - started) / 1e9;
        String table = Report.write(out, this, bulks, pingRounds);
        System.out.println(table);
      }
    }

    private Map<String, String> awaitReady() throws IOException, InterruptedException {
      long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
      while (!Files.exists(readyFile)) {
        if (System.nanoTime() > deadline) throw new IOException("the paths never became ready");
        Thread.sleep(100);
      }
      Map<String, String> ready = new HashMap<>();
      for (String line : Files.readAllLines(readyFile)) {
        int eq = line.indexOf('=');
        if (eq > 0) ready.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
      }
      return ready;
    }

    /** Rotates the order of the paths each round, so none always runs first or last. */
    private static List<Target> order(List<Target> paths, int round) {
      List<Target> ordered = new ArrayList<>();
      for (int i = 0; i < paths.size(); i++) ordered.add(paths.get((i + round) % paths.size()));
      return ordered;
    }

    private List<Bulk> bulk(List<Target> paths) throws Exception {
      List<Bulk> results = new ArrayList<>();
      for (Target path : paths) {
        Bulk warm = echoBulk(path, 0, Math.min(bulkBytes, 64L * 1024 * 1024));
        System.err.printf(Locale.ROOT, "p6 warm-up %-8s %8.1f MB/s%n", path.name(), warm.mbPerSecond());
      }
      for (int round = 1; round <= rounds; round++) {
        for (Target path : order(paths, round)) {
          Bulk bulk = echoBulk(path, round, bulkBytes);
          results.add(bulk);
          System.err.printf(Locale.ROOT, "p6 round %d %-8s %8.1f MB/s (%d MiB in %.2f s%s)%n", round,
              path.name(), bulk.mbPerSecond(), bulk.bytes() >> 20, bulk.seconds(),
              bulk.complete() ? "" : ", stopped at the round timeout");
        }
      }
      return results;
    }

    /**
     * Writes {@code total} bytes and reads their echo at the same time, checking every byte; the
     * figure is bytes echoed per second of wall time, first write to last byte back. A path too
     * slow to finish within the round timeout is measured on what came back until then.
     */
    private Bulk echoBulk(Target path, int round, long total) throws Exception {
      try (Socket socket = connect(path)) {
        socket.setSoTimeout(1000);
        AtomicReference<Throwable> writeFailure = new AtomicReference<>();
        OutputStream output = socket.getOutputStream();
        long start = System.nanoTime();
        long deadline = start + roundTimeout.toNanos();
        Thread writer = new Thread(() -> {
          try {
            long sent = 0;
            while (sent < total && System.nanoTime() < deadline) {
              int offset = (int) (sent % PATTERN);
              int length = (int) Math.min(Math.min(CHUNK, PATTERN - offset), total - sent);
              output.write(pattern, offset, length);
              sent += length;
            }
            output.flush();
            socket.shutdownOutput();
          } catch (IOException e) {
            if (System.nanoTime() < deadline) writeFailure.set(e);
          }
        }, "bulk-writer");
        writer.setDaemon(true);
        writer.start();
        InputStream input = socket.getInputStream();
        byte[] buffer = new byte[CHUNK];
        long received = 0;
        boolean complete = false;
        while (true) {
          if (received >= total) {
            complete = true;
            break;
          }
          if (System.nanoTime() > deadline) break;
          int read;
          try {
            read = input.read(buffer);
          } catch (SocketTimeoutException e) {
            continue;
          }
          if (read < 0) {
            if (writeFailure.get() != null) throw new IOException("bulk write via " + path.name() + " failed", writeFailure.get());
            throw new IOException("the echo via " + path.name() + " ended after " + received + " of " + total + " bytes");
          }
          check(path, buffer, read, received);
          received += read;
        }
        long end = System.nanoTime();
        socket.close();
        writer.join(5000);
        return new Bulk(path.name(), round, received, (end - start) / 1e9, complete);
      }
    }

    /** The echo must be the bytes sent, in order: a tunnel that loses or reorders bytes fails the run. */
    private void check(Target path, byte[] buffer, int length, long position) throws IOException {
      int done = 0;
      while (done < length) {
        int offset = (int) ((position + done) % PATTERN);
        int n = Math.min(length - done, PATTERN - offset);
        if (Arrays.mismatch(buffer, done, done + n, pattern, offset, offset + n) >= 0) {
          throw new IOException("the echo via " + path.name() + " differs from what was sent near byte " + (position + done));
        }
        done += n;
      }
    }

    private List<Pings> pingPong(List<Target> paths) throws Exception {
      List<Pings> results = new ArrayList<>();
      for (int round = 1; round <= rounds; round++) {
        for (Target path : order(paths, round)) {
          Pings result = pingPong(path, round);
          results.add(result);
          System.err.printf(Locale.ROOT, "p7 round %d %-8s median %8.1f µs, p99 %8.1f µs%n", round,
              path.name(), result.medianMicros(), result.p99Micros());
        }
      }
      return results;
    }

    /** One connection: {@code warmup} untimed round trips, then {@code pings} timed ones of 1 byte each way. */
    private Pings pingPong(Target path, int round) throws IOException {
      try (Socket socket = connect(path)) {
        socket.setSoTimeout((int) roundTimeout.toMillis());
        OutputStream output = socket.getOutputStream();
        InputStream input = socket.getInputStream();
        long[] nanos = new long[pings];
        for (int i = -warmup; i < pings; i++) {
          byte sent = (byte) i;
          long start = System.nanoTime();
          output.write(sent);
          int read = input.read();
          long end = System.nanoTime();
          if (read < 0) throw new IOException("the echo via " + path.name() + " closed during the ping-pong");
          if ((byte) read != sent) throw new IOException("the echo via " + path.name() + " answered a wrong byte");
          if (i >= 0) nanos[i] = end - start;
        }
        return new Pings(path.name(), round, nanos);
      }
    }

    private static Socket connect(Target path) throws IOException {
      Socket socket = new Socket();
      socket.setTcpNoDelay(true);
      socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), path.port()), 10_000);
      return socket;
    }

    String describe() {
      return String.format(Locale.ROOT,
          "rounds %d; bulk: %d MiB echoed per round (each byte travels to the echo server and back; "
              + "figure = bytes echoed ÷ wall time), round timeout %d s, one 64 MiB warm-up per path; "
              + "ping-pong: %d timed 1-byte round trips per round after %d warm-up ones, one connection per round; "
              + "measuring took %.0f s",
          rounds, bulkBytes >> 20, roundTimeout.toSeconds(), pings, warmup, measuredSeconds);
    }
  }

  /** The nearest-rank percentile of the values. */
  static double percentile(long[] values, double percentile) {
    long[] sorted = values.clone();
    Arrays.sort(sorted);
    int rank = (int) Math.ceil(percentile / 100.0 * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }

  /** The Markdown table and the raw numbers. */
  static final class Report {
    private Report() {}

    static String write(Path out, Run run, List<Bulk> bulks, List<Pings> pingRounds) throws IOException {
      StringBuilder md = new StringBuilder();
      md.append("| id | figure | Offload | `ssh -L` (baseline) | direct | ratio | target | holds |\n");
      md.append("|---|---|---|---|---|---|---|---|\n");
      if (!bulks.isEmpty()) {
        Map<String, Double> mbs = new LinkedHashMap<>();
        for (String path : List.of("direct", "ssh -L", "offload")) {
          mbs.put(path, Figures.median(bulks.stream().filter(b -> b.path().equals(path)).map(Bulk::mbPerSecond).toList()));
        }
        double ratio = mbs.get("offload") / mbs.get("ssh -L");
        md.append(String.format(Locale.ROOT,
            "| P6 | bulk throughput, MB/s echoed (median of %d) | %.1f | %.1f | %.1f | %.2f | ≥ 1.0 | %s |\n",
            run.rounds, mbs.get("offload"), mbs.get("ssh -L"), mbs.get("direct"), ratio, ratio >= 1.0 ? "yes" : "**no**"));
      }
      if (!pingRounds.isEmpty()) {
        Map<String, Double> med = new LinkedHashMap<>();
        Map<String, Double> p99 = new LinkedHashMap<>();
        for (String path : List.of("direct", "ssh -L", "offload")) {
          med.put(path, Figures.median(pingRounds.stream().filter(p -> p.path().equals(path)).map(Pings::medianMicros).toList()));
          p99.put(path, Figures.median(pingRounds.stream().filter(p -> p.path().equals(path)).map(Pings::p99Micros).toList()));
        }
        double offloadAdded = med.get("offload") - med.get("direct");
        double sshAdded = med.get("ssh -L") - med.get("direct");
        double ratio = offloadAdded / sshAdded;
        md.append(String.format(Locale.ROOT,
            "| P7 | 1-byte round trip, median µs (median of %d rounds) | %.1f | %.1f | %.1f | | | |\n",
            run.rounds, med.get("offload"), med.get("ssh -L"), med.get("direct")));
        md.append(String.format(Locale.ROOT,
            "| P7 | 1-byte round trip, p99 µs (median of %d rounds) | %.1f | %.1f | %.1f | | | |\n",
            run.rounds, p99.get("offload"), p99.get("ssh -L"), p99.get("direct")));
        md.append(String.format(Locale.ROOT,
            "| P7 | added latency over direct, median µs | %.1f | %.1f | 0 | %.2f | ≤ 2.0 | %s |\n",
            offloadAdded, sshAdded, ratio, ratio <= 2.0 ? "yes" : "**no**"));
      }
      String table = md.toString();

      StringBuilder raw = new StringBuilder("figure,path,round,value,unit,detail\n");
      for (Bulk b : bulks) {
        raw.append(String.format(Locale.ROOT, "p6,%s,%d,%.3f,MB/s,%d bytes in %.4f s%s%n", b.path(), b.round(),
            b.mbPerSecond(), b.bytes(), b.seconds(), b.complete() ? "" : " (round timeout)"));
      }
      StringBuilder samples = new StringBuilder("path,round,i,nanos\n");
      for (Pings p : pingRounds) {
        raw.append(String.format(Locale.ROOT, "p7-median,%s,%d,%.3f,µs,%n", p.path(), p.round(), p.medianMicros()));
        raw.append(String.format(Locale.ROOT, "p7-p99,%s,%d,%.3f,µs,%n", p.path(), p.round(), p.p99Micros()));
        for (int i = 0; i < p.nanos().length; i++) {
          samples.append(p.path()).append(',').append(p.round()).append(',').append(i).append(',').append(p.nanos()[i]).append('\n');
        }
      }
      String header = "# Tunnel benchmark (P6, P7)\n\n" + run.describe() + ".\n\n";
      write(out.resolve("results.md"), header + table);
      write(out.resolve("raw.csv"), raw.toString());
      if (!pingRounds.isEmpty()) write(out.resolve("pings.csv"), samples.toString());
      return table;
    }

    private static void write(Path file, String text) {
      try {
        Files.writeString(file, text, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /** Echoes every byte on every connection, one thread per connection. */
  static final class EchoServer implements AutoCloseable {
    private final ServerSocket server;

    EchoServer() throws IOException {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      Thread acceptor = new Thread(this::accept, "echo-accept");
      acceptor.setDaemon(true);
      acceptor.start();
    }

    int port() {
      return server.getLocalPort();
    }

    private void accept() {
      while (!server.isClosed()) {
        try {
          Socket socket = server.accept();
          socket.setTcpNoDelay(true);
          Thread thread = new Thread(() -> echo(socket), "echo-" + socket.getPort());
          thread.setDaemon(true);
          thread.start();
        } catch (IOException e) {
          if (!server.isClosed()) System.err.println("echo server: " + e);
        }
      }
    }

    private static void echo(Socket socket) {
      try (socket) {
        InputStream input = socket.getInputStream();
        OutputStream output = socket.getOutputStream();
        byte[] buffer = new byte[CHUNK];
        int read;
        while ((read = input.read(buffer)) >= 0) output.write(buffer, 0, read);
        socket.shutdownOutput();
      } catch (IOException e) {
        // The client went away: nothing to echo any more.
      }
    }

    @Override
    public void close() throws IOException {
      server.close();
    }
  }
}
