package dev.offload.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.api.ApiClient;
import dev.offload.api.ApiClient.Response;
import dev.offload.testing.Await;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A cluster run by {@code deploy/local/cluster.sh} in a directory of its own, seen from outside
 * as a client and an operator see it: the nodes' APIs, their management routes, their pids.
 */
final class LocalCluster implements AutoCloseable {

  /** A session and its user's token. */
  record Started(String id, String token) {}

  private final Path dir;
  private final Map<String, String> env;
  private final int base;
  private final int size;
  private final String operator;

  private LocalCluster(Path dir, Map<String, String> env, int base, int size) throws IOException {
    this.dir = dir;
    this.env = env;
    this.base = base;
    this.size = size;
    this.operator = Files.readString(dir.resolve("operator-token")).trim();
  }

  /**
   * {@code cluster.sh start size} on free ports, with runners forwarding to {@code engineTarget},
   * no Docker needed (health checks and wipes succeed) and {@code javaOptions} for every node.
   */
  static LocalCluster start(int size, int runners, String engineTarget, String javaOptions) throws Exception {
    Assumptions.assumeTrue(new ProcessBuilder("sh", "-c", "command -v curl").start().waitFor() == 0,
        "deploy/local/cluster.sh needs curl (apt-get install curl)");
    Path dir = Files.createTempDirectory("offload-cluster-it");
    int base = freeBase();
    Map<String, String> env = new HashMap<>(Map.of(
        "OFFLOAD_LOCAL_CLUSTER_DIR", dir.toString(),
        "OFFLOAD_LOCAL_ENGINE", engineTarget,
        "OFFLOAD_RUNNER_HEALTH_COMMAND", "true",
        "OFFLOAD_RUNNER_WIPE_COMMAND", "true",
        "JAVA_OPTS", String.join(" ", "-Xmx256m", "-XX:+UseSerialGC",
            // The nodes start within seconds of each other here: form the cluster quickly.
            "-Dakka.management.cluster.bootstrap.contact-point-discovery.stable-margin=1s",
            "-Dakka.management.cluster.bootstrap.contact-point-discovery.interval=500ms",
            javaOptions)));
    long starting = System.nanoTime();
    run(dir, env, "start", String.valueOf(size), "--base-port", String.valueOf(base), "--runners", String.valueOf(runners));
    System.out.printf("cluster.sh start %d: %d s%n", size, (System.nanoTime() - starting) / 1_000_000_000);
    return new LocalCluster(dir, env, base, size);
  }

  int size() {
    return size;
  }

  ApiClient node(int index) {
    return new ApiClient("http://127.0.0.1:" + httpPort(index));
  }

  int httpPort(int index) {
    return base + index;
  }

  String operator() {
    return operator;
  }

  /** The embedded PostgreSQL the nodes share. */
  String jdbcUrl() {
    return "jdbc:postgresql://127.0.0.1:" + (base + 300) + "/postgres";
  }

  /** Node {@code index} leaves gracefully and starts again, as one step of a rolling restart. */
  void restart(int index) throws Exception {
    run(dir, env, "restart", String.valueOf(index + 1));
  }

  void kill(int index) throws Exception {
    new ProcessBuilder("kill", "-KILL", String.valueOf(pid(index))).start().waitFor();
  }

  /** From Akka Management's read-only cluster routes: the oldest member hosts the singletons. */
  int oldest(int asking) {
    JsonNode members = management(asking, "/cluster/members");
    String oldest = members.path("oldest").asText();
    for (int i = 0; i < size; i++) {
      if (oldest.endsWith(":" + (base + 100 + i))) return i;
    }
    throw new IllegalStateException("no node is the oldest member " + members);
  }

  /** The shards of sessions node {@code index} holds. */
  Set<String> shardsOn(int index) {
    Set<String> shards = new HashSet<>();
    for (JsonNode region : management(index, "/cluster/shards/Session").path("regions")) {
      shards.add(region.path("shardId").asText());
    }
    return shards;
  }

  /** Session entities per node. */
  Map<Integer, Integer> distribution(Set<Integer> nodes) {
    Map<Integer, Integer> counts = new HashMap<>();
    for (int i : nodes) {
      int entities = 0;
      for (JsonNode region : management(i, "/cluster/shards/Session").path("regions")) {
        entities += region.path("numEntities").asInt();
      }
      counts.put(i, entities);
    }
    return counts;
  }

  /** Akka's default shard of an entity id, over the configured 100 shards. */
  static String shardOf(String sessionId) {
    return String.valueOf(Math.abs(sessionId.hashCode()) % 100);
  }

  /** An organisation created through node 1. */
  String organisation() {
    String org = "lc-" + suffix();
    Response created = node(0).post("/v1/orgs", operator, "{\"id\":\"" + org + "\",\"name\":\"Cluster\"}");
    assertEquals(201, created.status(), created.body());
    return org;
  }

  /** A session of a new member of {@code org}, created through node {@code via}. */
  Started start(String org, int via, int idleTimeoutSeconds) {
    Response token = node(via).post("/v1/orgs/" + org + "/tokens", operator,
        "{\"user\":\"u" + suffix() + "\",\"role\":\"member\"}");
    assertEquals(201, token.status(), token.body());
    String secret = token.json().get("token").asText();
    Response created = node(via).post("/v1/sessions", secret, "{\"idleTimeoutSeconds\": " + idleTimeoutSeconds + "}");
    assertEquals(201, created.status(), created.body());
    return new Started(created.json().get("id").asText(), secret);
  }

  JsonNode awaitState(int via, Started s, String... states) {
    List<String> wanted = List.of(states);
    return Await.until(Duration.ofSeconds(40), () -> node(via).get("/v1/sessions/" + s.id(), s.token()).json(),
        j -> wanted.contains(j.path("state").asText()), "session " + s.id() + " in " + wanted);
  }

  /** {@code cluster.sh stop}. */
  @Override
  public void close() throws Exception {
    run(dir, env, "stop");
  }

  /** The management routes answer 500 when their ask of the shard region times out: asked again. */
  private JsonNode management(int index, String path) {
    ApiClient client = new ApiClient("http://127.0.0.1:" + (base + 200 + index));
    return Await.until(Duration.ofSeconds(20), () -> client.get(path, null), r -> r.status() == 200,
        path + " on node " + (index + 1)).json();
  }

  private long pid(int index) throws IOException {
    for (String line : Files.readAllLines(dir.resolve("cluster.state"))) {
      String[] f = line.split(" ");
      if (f[0].equals("node") && Integer.parseInt(f[1]) == index + 1) return Long.parseLong(f[2]);
    }
    throw new IllegalStateException("node " + (index + 1) + " is not in cluster.state");
  }

  private static void run(Path dir, Map<String, String> env, String... args) throws Exception {
    Path log = dir.resolve(args[0] + ".log");
    List<String> command = new ArrayList<>(List.of(ServerProcess.repositoryRoot().resolve("deploy/local/cluster.sh").toString()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    builder.environment().putAll(env);
    Process process = builder.start();
    assertTrue(process.waitFor(300, TimeUnit.SECONDS), "cluster.sh " + args[0] + " did not return; " + log);
    assertEquals(0, process.exitValue(), "cluster.sh " + String.join(" ", args) + ":\n" + Files.readString(log));
  }

  /** A base port whose HTTP, remoting, management and database ports are all free now. */
  private static int freeBase() {
    Random random = new Random();
    for (int attempt = 0; attempt < 50; attempt++) {
      int base = 20000 + random.nextInt(20000);
      if (free(base, base + 1, base + 2, base + 100, base + 101, base + 102, base + 200, base + 201, base + 202, base + 300)) {
        return base;
      }
    }
    throw new IllegalStateException("no free range of ports");
  }

  private static boolean free(int... ports) {
    for (int port : ports) {
      try (ServerSocket socket = new ServerSocket(port)) {
        socket.setReuseAddress(true);
      } catch (IOException taken) {
        return false;
      }
    }
    return true;
  }

  static String suffix() {
    return UUID.randomUUID().toString().substring(0, 8);
  }
}
