package dev.offload.loadtests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.stream.Stream;

/** The few calls of the API the P3 and P5 benchmarks make, and their command-line options. */
final class NodeClient {
  static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);

  private final String url;
  private final String operatorToken;
  private final HttpClient http;

  NodeClient(String url, String operatorToken) {
    this.url = url;
    this.operatorToken = operatorToken;
    this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).executor(Executors.newFixedThreadPool(8)).build();
  }

  String url() {
    return url;
  }

  HttpClient http() {
    return http;
  }

  JsonNode operator(String method, String path, String body) throws IOException, InterruptedException {
    return send(operatorToken, method, path, body);
  }

  JsonNode send(String token, String method, String path, String body) throws IOException, InterruptedException {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url + path))
        .header("Authorization", "Bearer " + token).timeout(REQUEST_TIMEOUT);
    if (body != null) request.header("Content-Type", "application/json");
    request.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() >= 300) {
      throw new IllegalStateException(method + " " + path + " answered " + response.statusCode() + ": " + response.body());
    }
    return response.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(response.body());
  }

  /** {@link #startSession(String, String)} with an empty request. */
  String startSession(String token) throws IOException, InterruptedException {
    return startSession(token, "{}");
  }

  /**
   * Starts a session and returns its id once its runner is verified (active, or already
   * grace-period, since a session without tunnel traffic leaves active at once), waiting on the
   * session's event stream as {@code offload start} does.
   */
  String startSession(String token, String body) throws IOException, InterruptedException {
    JsonNode session = send(token, "POST", "/v1/sessions", body);
    String id = session.path("id").asText();
    if (session.path("state").asText().equals("provisioning")) {
      try {
        session = firstStateAfterProvisioning(token, id);
      } catch (IllegalStateException e) {
        // The session exists: a stream the node could not open in time is followed by polling it.
        session = pollWhileProvisioning(token, id);
      }
    }
    if (session.path("state").asText().equals("terminated")) {
      throw new IllegalStateException("session " + id + " ended while provisioning: " + session.path("terminationReason").asText());
    }
    return id;
  }

  private JsonNode pollWhileProvisioning(String token, String id) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + REQUEST_TIMEOUT.toNanos();
    while (true) {
      try {
        JsonNode session = send(token, "GET", "/v1/sessions/" + id, null);
        if (!session.path("state").asText().equals("provisioning")) return session;
      } catch (IllegalStateException e) {
        if (System.nanoTime() > deadline) throw e;
      }
      if (System.nanoTime() > deadline) throw new IllegalStateException("session " + id + " still provisioning after " + REQUEST_TIMEOUT.toSeconds() + " s");
      Thread.sleep(200);
    }
  }

  private JsonNode firstStateAfterProvisioning(String token, String id) throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(URI.create(url + "/v1/sessions/" + id + "/events"))
        .header("Authorization", "Bearer " + token).timeout(REQUEST_TIMEOUT).GET().build();
    HttpResponse<Stream<String>> response = http.send(request, HttpResponse.BodyHandlers.ofLines());
    // The stream sends a heartbeat every 15 s, so a stream that says nothing else ends here too.
    long deadline = System.nanoTime() + REQUEST_TIMEOUT.toNanos();
    try (Stream<String> lines = response.body()) {
      if (response.statusCode() != 200) throw new IllegalStateException("events of " + id + " answered " + response.statusCode());
      for (String line : (Iterable<String>) lines::iterator) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("the event stream of " + id + " showed no state after provisioning within " + REQUEST_TIMEOUT.toSeconds() + " s");
        }
        if (!line.startsWith("data:{\"id\"")) continue;
        JsonNode state = JSON.readTree(line.substring("data:".length()));
        if (!state.path("state").asText().equals("provisioning")) return state;
      }
    }
    throw new IllegalStateException("the event stream of " + id + " ended while it was provisioning");
  }

  Duration waitForWarmPool(int size, Duration timeout) throws IOException, InterruptedException {
    long started = System.nanoTime();
    long deadline = started + timeout.toNanos();
    int warm = 0;
    while (System.nanoTime() < deadline) {
      warm = operator("GET", "/v1/runners?state=warm", null).path("runners").size();
      if (warm >= size) return Duration.ofNanos(System.nanoTime() - started);
      Thread.sleep(100);
    }
    throw new IllegalStateException("only " + warm + " of " + size + " runners warm after " + timeout.toSeconds() + " s");
  }

  interface Benchmark {
    void run() throws Exception;
  }

  /** Exits with the outcome: the HTTP clients' threads would otherwise keep a failed run's JVM alive. */
  static void exitWhenDone(Benchmark benchmark) {
    try {
      benchmark.run();
    } catch (Throwable e) {
      e.printStackTrace();
      System.exit(1);
    }
    System.exit(0);
  }

  static Map<String, String> options(String[] args) {
    Map<String, String> options = new TreeMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (!args[i].startsWith("--")) throw new IllegalArgumentException("expected --name value, got " + args[i]);
      options.put(args[i].substring(2), args[i + 1]);
    }
    return options;
  }

  static String required(Map<String, String> options, String name) {
    String value = options.get(name);
    if (value == null) throw new IllegalArgumentException("missing --" + name);
    return value;
  }

  static int number(Map<String, String> options, String name, int fallback) {
    return Integer.parseInt(options.getOrDefault(name, Integer.toString(fallback)));
  }
}
