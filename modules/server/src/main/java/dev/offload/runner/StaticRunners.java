package dev.offload.runner;

import com.typesafe.config.Config;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The {@code static} provider: a fixed list of SSH hosts someone else runs, each with its host key
 * pinned in config ({@code offload.runners.static.hosts}). Creating one hands out a configured host
 * not in use; destroying one only forgets it, because the host is not ours to delete.
 */
public final class StaticRunners implements RunnerProvider {

  static final String PROVIDER = "static";

  private final List<RunnerInfo> hosts;
  private final Set<String> inUse = new HashSet<>();
  /** When each host was last handed out (a counter), so a refused host does not block the others. */
  private final java.util.Map<String, Long> handedOut = new java.util.HashMap<>();
  private long handOuts;

  public StaticRunners(List<RunnerInfo> hosts) {
    this.hosts = List.copyOf(hosts);
  }

  public static StaticRunners fromConfig(Config config) {
    return new StaticRunners(config.getConfigList("offload.runners.static.hosts").stream()
        .map(host -> new RunnerInfo(
            host.getString("id"),
            host.getString("class"),
            PROVIDER,
            host.getString("host"),
            host.hasPath("port") ? host.getInt("port") : 22,
            host.hasPath("user") ? host.getString("user") : config.getString("offload.runners.ssh.user"),
            host.getString("host-key"),
            host.hasPath("engine-target") ? host.getString("engine-target") : "unix:///var/run/docker.sock"))
        .toList());
  }

  @Override
  public String name() {
    return PROVIDER;
  }

  @Override
  public synchronized CompletionStage<RunnerInfo> create(String runnerClass) {
    // The free host handed out longest ago: one whose login or host key is refused is given back
    // and must not be the one offered again while another host of the class is free.
    Optional<RunnerInfo> free = hosts.stream()
        .filter(h -> h.runnerClass().equals(runnerClass) && !inUse.contains(h.id()))
        .min(java.util.Comparator.comparingLong(h -> handedOut.getOrDefault(h.id(), -1L)));
    if (free.isEmpty()) {
      return CompletableFuture.failedFuture(new IllegalStateException(
          "every static host of class " + runnerClass + " is in use; add hosts to offload.runners.static.hosts"));
    }
    inUse.add(free.get().id());
    handedOut.put(free.get().id(), handOuts++);
    return CompletableFuture.completedFuture(free.get());
  }

  /** The host as configured now: a host key changed in config is what the next verification pins. */
  @Override
  public synchronized CompletionStage<RunnerInfo> adopt(RunnerInfo runner) {
    Optional<RunnerInfo> configured = hosts.stream().filter(h -> h.id().equals(runner.id())).findFirst();
    if (configured.isEmpty()) {
      return CompletableFuture.failedFuture(new IllegalStateException(
          "static runner " + runner.id() + " is no longer in offload.runners.static.hosts"));
    }
    inUse.add(runner.id());
    return CompletableFuture.completedFuture(configured.get());
  }

  @Override
  public synchronized CompletionStage<Void> destroy(RunnerInfo runner) {
    inUse.remove(runner.id());
    return CompletableFuture.completedFuture(null);
  }
}
