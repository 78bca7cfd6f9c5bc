package dev.offload.server;

import akka.actor.Address;
import akka.actor.typed.ActorSystem;
import akka.cluster.Member;
import akka.cluster.MemberStatus;
import akka.cluster.sharding.typed.GetShardRegionState;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.typed.Cluster;
import akka.actor.typed.javadsl.AskPattern;
import com.typesafe.config.ConfigFactory;
import dev.offload.api.ApiClient;
import dev.offload.runner.RunnerHost;
import dev.offload.session.SessionEntity;
import dev.offload.testing.Await;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;

/**
 * Several control-plane nodes in this JVM on one database, formed into one cluster by cluster
 * bootstrap with config discovery (as deploy/local does), with runners served by a runner host of
 * their own through the static provider, so that no runner lives inside a node.
 */
public final class TestCluster implements AutoCloseable {

  private static final Duration FORMED = Duration.ofSeconds(60);

  private final RunnerHost runners;
  private final List<TestServer> nodes;
  private final List<Boolean> open;

  private TestCluster(RunnerHost runners, List<TestServer> nodes) {
    this.runners = runners;
    this.nodes = List.copyOf(nodes);
    this.open = new ArrayList<>(nodes.stream().map(n -> true).toList());
  }

  /**
   * {@code size} nodes serving {@code runnerCount} runners that forward to {@code engineTarget};
   * returns once every node is an Up member of one cluster and ready.
   */
  public static TestCluster start(int size, int runnerCount, String engineTarget, String overrides) throws Exception {
    RunnerHost runners = RunnerHost.start(
        ConfigFactory.parseString("offload.runners.local.engine-target = \"" + engineTarget + "\"")
            .withFallback(ConfigFactory.defaultReference()).resolve(),
        Files.createTempDirectory("offload-runner-host"), runnerCount, "standard", 2);
    List<TestServer> nodes = new ArrayList<>();
    try {
      String url = TestServer.newDatabase();
      List<Integer> management = freePorts(size);
      String endpoints = management.stream()
          .map(port -> "{ host = \"127.0.0.1\", port = " + port + " }")
          .collect(Collectors.joining(", ", "[", "]"));
      for (int i = 0; i < size; i++) {
        nodes.add(TestServer.start(String.join("\n",
            overrides,
            runners.nodeConfig(),
            "offload.cluster.join-self = off",
            "offload.cluster.required-contact-points = " + size,
            "akka.management.http.port = " + management.get(i),
            "akka.discovery.config.services.offload.endpoints = " + endpoints,
            // Form quickly: the nodes all start within seconds of each other here.
            "akka.management.cluster.bootstrap.contact-point-discovery.stable-margin = 1s",
            "akka.management.cluster.bootstrap.contact-point-discovery.interval = 500ms"), url));
      }
      TestCluster cluster = new TestCluster(runners, nodes);
      for (int i = 0; i < size; i++) {
        TestServer node = nodes.get(i);
        ApiClient probes = new ApiClient("http://127.0.0.1:" + management.get(i));
        Await.until(FORMED, () -> upMembers(node.server().system()), up -> up == size, "a cluster of " + size);
        Await.until(FORMED, () -> node.api().get("/health/ready", null).status(), s -> s == 200, "node ready");
        Await.until(FORMED, () -> probes.get("/health/ready", null).status(), s -> s == 200, "ready on the management port");
        if (probes.get("/health/alive", null).status() != 200) {
          throw new IllegalStateException("node " + (i + 1) + " is not alive on its management port");
        }
      }
      return cluster;
    } catch (Exception | Error e) {
      for (int i = nodes.size() - 1; i >= 0; i--) nodes.get(i).close();
      runners.close();
      throw e;
    }
  }

  public TestServer node(int index) {
    return nodes.get(index);
  }

  public int size() {
    return nodes.size();
  }

  /** The nodes not closed yet. */
  public List<TestServer> running() {
    List<TestServer> running = new ArrayList<>();
    for (int i = 0; i < nodes.size(); i++) if (open.get(i)) running.add(nodes.get(i));
    return running;
  }

  /** The index of the oldest node, which hosts the cluster singletons (the runner pool). */
  public int oldest() {
    ActorSystem<?> any = running().get(0).server().system();
    Member oldest = StreamSupport.stream(Cluster.get(any).state().getMembers().spliterator(), false)
        .filter(m -> m.status() == MemberStatus.up())
        .reduce((a, b) -> a.isOlderThan(b) ? a : b)
        .orElseThrow();
    for (int i = 0; i < nodes.size(); i++) {
      if (open.get(i) && address(i).equals(oldest.address())) return i;
    }
    throw new IllegalStateException("no running node is the oldest member " + oldest.address());
  }

  /** The session ids whose entities run on node {@code index} now. */
  public Set<String> sessionsOn(int index) throws Exception {
    ActorSystem<?> system = nodes.get(index).server().system();
    return AskPattern.<akka.cluster.sharding.typed.ClusterShardingQuery, akka.cluster.sharding.ShardRegion.CurrentShardRegionState>ask(
            ClusterSharding.get(system).shardState(),
            replyTo -> new GetShardRegionState(SessionEntity.ENTITY_KEY, replyTo),
            Duration.ofSeconds(10), system.scheduler())
        .toCompletableFuture().get()
        .getShards().stream()
        .flatMap(shard -> shard.getEntityIds().stream())
        .collect(Collectors.toSet());
  }

  /** Leaves the cluster the graceful way (coordinated shutdown), as a rolling restart does. */
  public void leave(int index) {
    nodes.get(index).close();
    open.set(index, false);
  }

  private Address address(int index) {
    return Cluster.get(nodes.get(index).server().system()).selfMember().address();
  }

  private static long upMembers(ActorSystem<?> system) {
    return StreamSupport.stream(Cluster.get(system).state().getMembers().spliterator(), false)
        .filter(m -> m.status() == MemberStatus.up())
        .count();
  }

  private static List<Integer> freePorts(int count) throws IOException {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < count; i++) sockets.add(new ServerSocket(0));
      return sockets.stream().map(ServerSocket::getLocalPort).toList();
    } finally {
      for (ServerSocket socket : sockets) socket.close();
    }
  }

  /** Nodes in reverse order, then the runners. */
  @Override
  public void close() {
    for (int i = nodes.size() - 1; i >= 0; i--) {
      if (open.get(i)) leave(i);
    }
    runners.close();
  }
}
