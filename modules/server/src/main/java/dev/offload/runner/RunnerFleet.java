package dev.offload.runner;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.DispatcherSelector;
import akka.actor.typed.javadsl.AskPattern;
import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the pool works with on this node: the configured providers, the SSH connections and
 * commands to runners, and the settings. It also knows the runners the pool provisioned, so a
 * session can verify its runner by id.
 */
public final class RunnerFleet implements AutoCloseable {

  private static final Duration ASK_TIMEOUT = Duration.ofSeconds(10);
  private static final int POOL_ATTEMPTS = 4;
  private static final AtomicInteger TRACKING_THREADS = new AtomicInteger();

  private final FleetSettings settings;
  private final Map<String, RunnerProvider> providers;
  private final SshConnections ssh;
  private final RunnerCommands commands;
  private final Executor blocking;
  /**
   * Container tracking's own threads: a leased runner's {@code docker events} read blocks for the
   * whole session, so on the shared blocking dispatcher (32 threads) a few dozen live sessions
   * would hold every thread and starve the JDBC and SSH calls behind the API.
   */
  private final ExecutorService tracking = Executors.newCachedThreadPool(runnable -> {
    Thread thread = new Thread(runnable, "offload-container-tracking-" + TRACKING_THREADS.incrementAndGet());
    thread.setDaemon(true);
    return thread;
  });
  private final Map<String, RunnerInfo> known = new ConcurrentHashMap<>();
  private final AutoCloseable onClose;

  public RunnerFleet(FleetSettings settings, Map<String, RunnerProvider> providers, SshConnections ssh,
      Executor blocking, AutoCloseable onClose) {
    this.settings = settings;
    this.providers = Map.copyOf(providers);
    this.ssh = ssh;
    this.commands = new RunnerCommands(ssh, blocking);
    this.blocking = blocking;
    this.onClose = onClose;
    settings.classes().values().forEach(c -> {
      if (!this.providers.containsKey(c.provider())) {
        throw new IllegalArgumentException("runner class " + c.name() + " names provider " + c.provider()
            + ", which is not configured; known: " + this.providers.keySet());
      }
    });
  }

  /**
   * Providers for every class in {@code offload.runners.classes}: {@code local} servers under
   * {@code dataDir}, {@code static} hosts and {@code exec} commands from their config sections.
   */
  public static RunnerFleet start(ActorSystem<?> system, Config config, Path dataDir) {
    FleetSettings settings = FleetSettings.fromConfig(config);
    Executor blocking =
        system.dispatchers().lookup(DispatcherSelector.fromConfig("offload.blocking-dispatcher"));
    Map<String, RunnerProvider> providers = new HashMap<>();
    LocalRunners local = LocalRunners.start(config, dataDir, blocking);
    providers.put(local.name(), local);
    providers.put(StaticRunners.PROVIDER, StaticRunners.fromConfig(config));
    if (!config.getString("offload.runners.exec.create-command").isEmpty()) {
      providers.put(ExecRunners.PROVIDER, ExecRunners.fromConfig(config, blocking));
    }
    SshConnections ssh = SshConnections.create(system, dataDir);
    return new RunnerFleet(settings, providers, ssh, blocking, () -> {
      ssh.close();
      local.close();
    });
  }

  public FleetSettings settings() {
    return settings;
  }

  public Optional<RunnerProvider> provider(String name) {
    return Optional.ofNullable(providers.get(name));
  }

  public RunnerCommands commands() {
    return commands;
  }

  Executor blocking() {
    return blocking;
  }

  /** A runner its provider created that the control plane could not verify (and destroyed again). */
  static final class Unverified extends RuntimeException {
    final RunnerInfo runner;

    Unverified(RunnerInfo runner, Throwable cause) {
      super(cause.getMessage(), cause);
      this.runner = runner;
    }
  }

  /** Where container trackers block on their runner's event stream, one thread each while it lasts. */
  Executor tracking() {
    return tracking;
  }

  /**
   * A new runner of the class, verified over SSH with its pinned host key; one its provider created
   * but that fails verification is destroyed again, so a failure leaves nothing behind.
   */
  CompletionStage<RunnerInfo> provision(String runnerClass) {
    RunnerProvider provider = providers.get(settings.classes().get(runnerClass).provider());
    return provider.create(runnerClass).thenCompose(runner -> ssh.verify(runner)
        .thenApply(ok -> runner)
        .exceptionallyCompose(failure -> provider.destroy(runner)
            .handle((done, ignored) -> null)
            .thenCompose(done -> CompletableFuture.failedFuture(new Unverified(runner, cause(failure))))));
  }

  private static Throwable cause(Throwable failure) {
    return failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
        ? failure.getCause() : failure;
  }

  /** The runner as its provider reports it after a restart, verified again. */
  CompletionStage<RunnerInfo> adopt(RunnerInfo runner) {
    RunnerProvider provider = providers.get(runner.provider());
    if (provider == null) {
      return CompletableFuture.failedFuture(new IllegalStateException(
          "runner " + runner.id() + " comes from provider " + runner.provider() + ", which is not configured"));
    }
    return provider.adopt(runner).thenCompose(adopted -> ssh.verify(adopted).thenApply(ok -> adopted));
  }

  CompletionStage<Void> destroy(RunnerInfo runner) {
    RunnerProvider provider = providers.get(runner.provider());
    if (provider == null) {
      return CompletableFuture.failedFuture(new IllegalStateException(
          "runner " + runner.id() + " comes from provider " + runner.provider() + ", which is not configured"));
    }
    return provider.destroy(runner);
  }

  /** For {@code diagnose}: the health command is what "engine answers" means for the pool too. */
  public RunnerDiagnosis diagnosis() {
    return new RunnerDiagnosis(ssh, commands, settings.healthCommand(), settings.healthInterval());
  }

  /**
   * Sessions verify their runner by id: its pinned key, and that the connection carries traffic.
   * They may live on any node, so the runner is looked up with {@link #find}.
   */
  public CompletionStage<Void> verify(String runnerId, ActorRef<RunnerPool.Command> pool, ActorSystem<?> system) {
    return find(runnerId, pool, system).thenCompose(runner -> runner.isEmpty()
        ? CompletableFuture.failedFuture(
            new IllegalStateException("runner " + runnerId + " is not known to this control plane"))
        : ssh.verify(runner.get()));
  }

  /** The SSH connections of this node to runners, for channels to their engines (tunnels). */
  public SshConnections ssh() {
    return ssh;
  }

  /** The checks of {@code diagnose} for a runner known by id, on whichever node asks. */
  public CompletionStage<List<RunnerDiagnosis.Check>> diagnose(
      String runnerId, ActorRef<RunnerPool.Command> pool, ActorSystem<?> system) {
    return find(runnerId, pool, system).thenCompose(r -> r.isEmpty()
        ? CompletableFuture.completedFuture(List.of(new RunnerDiagnosis.Check(RunnerDiagnosis.REACHABLE, false,
            "runner " + runnerId + " is not known to the runner pool any more")))
        : diagnosis().diagnose(r.get()));
  }

  /**
   * The runner as the pool knows it: from memory on the node that hosts the pool, else asked of
   * the pool (a session, a tunnel and the pool may each be on a different node). Every node
   * reaches runners with its own SSH connections; only the endpoint and host key travel.
   */
  public CompletionStage<Optional<RunnerInfo>> find(
      String runnerId, ActorRef<RunnerPool.Command> pool, ActorSystem<?> system) {
    RunnerInfo runner = known.get(runnerId);
    if (runner != null) {
      return CompletableFuture.completedFuture(Optional.of(runner));
    }
    return askPool(runnerId, pool, system, POOL_ATTEMPTS);
  }

  /**
   * While the pool's node fails over (about 20 s) the pool does not answer: asking again, for
   * longer than a failover takes, keeps a session from ending as if its runner had failed.
   */
  private CompletionStage<Optional<RunnerInfo>> askPool(
      String runnerId, ActorRef<RunnerPool.Command> pool, ActorSystem<?> system, int attempts) {
    return AskPattern.<RunnerPool.Command, RunnerPool.RunnerFound>ask(
            pool, replyTo -> new RunnerPool.GetRunner(runnerId, replyTo), ASK_TIMEOUT, system.scheduler())
        .thenApply(found -> Optional.ofNullable(found.runner()))
        .exceptionallyCompose(failure -> attempts > 1
                && (failure instanceof TimeoutException || failure.getCause() instanceof TimeoutException)
            ? askPool(runnerId, pool, system, attempts - 1)
            : CompletableFuture.failedFuture(failure));
  }

  /** The pool left this node (handed over to another one): what it knew may go stale here. */
  void forgetAll() {
    known.clear();
  }

  void remember(RunnerInfo runner) {
    known.put(runner.id(), runner);
  }

  void forget(String runnerId) {
    known.remove(runnerId);
    ssh.disconnect(runnerId);
  }

  @Override
  public void close() throws Exception {
    tracking.shutdownNow();
    onClose.close();
  }
}
