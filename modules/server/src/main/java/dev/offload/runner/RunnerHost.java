package dev.offload.runner;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValueFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;

/**
 * The {@code local} provider's SSH servers in a process of their own ({@code
 * bin/offload-runner-host}): runners that outlive any control-plane node, as VMs would. It writes
 * what the nodes need to use them through the {@code static} provider: every runner's host, port
 * and pinned host key, the class they serve, and the client key they accept.
 */
public final class RunnerHost implements AutoCloseable {

  public static final String USAGE =
      "usage: offload-runner-host --dir DIR [--runners N] [--class NAME] [--min-warm N]";

  private final LocalRunners runners;
  private final List<RunnerInfo> served;
  private final Path clientKey;
  private final String runnerClass;
  private final int minWarm;

  private RunnerHost(LocalRunners runners, List<RunnerInfo> served, Path clientKey, String runnerClass, int minWarm) {
    this.runners = runners;
    this.served = List.copyOf(served);
    this.clientKey = clientKey;
    this.runnerClass = runnerClass;
    this.minWarm = minWarm;
  }

  /**
   * Starts {@code count} runners of {@code runnerClass} under {@code dir}; {@code config} supplies
   * the SSH user and the engine target ({@code offload.runners.local.engine-target}). The client
   * key is {@code dir/runners/client-key}, generated on first start.
   */
  public static RunnerHost start(Config config, Path dir, int count, String runnerClass, int minWarm) {
    Config own = config.withValue("offload.runners.ssh.identity",
        ConfigValueFactory.fromAnyRef(LocalRunners.clientKeyPath(dir).toAbsolutePath().toString()));
    LocalRunners runners = LocalRunners.start(own, dir.toAbsolutePath(), ForkJoinPool.commonPool());
    try {
      List<CompletableFuture<RunnerInfo>> started = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        started.add(runners.create(runnerClass).toCompletableFuture());
      }
      List<RunnerInfo> served = new ArrayList<>();
      for (CompletableFuture<RunnerInfo> runner : started) {
        served.add(runner.get(60, TimeUnit.SECONDS));
      }
      return new RunnerHost(runners, served, runners.clientKey(), runnerClass, minWarm);
    } catch (Exception e) {
      runners.close();
      throw new IllegalStateException("cannot start the runners: " + e.getMessage(), e);
    }
  }

  public List<RunnerInfo> runners() {
    return served;
  }

  /**
   * HOCON for the control-plane nodes: the class served by the {@code static} provider with these
   * hosts, and the key they accept as the nodes' SSH identity.
   */
  public String nodeConfig() {
    List<Map<String, Object>> hosts = new ArrayList<>();
    for (RunnerInfo runner : served) {
      Map<String, Object> host = new LinkedHashMap<>();
      host.put("id", runner.id());
      host.put("class", runner.runnerClass());
      host.put("host", runner.host());
      host.put("port", runner.port());
      host.put("user", runner.user());
      host.put("host-key", runner.hostKey());
      host.put("engine-target", runner.engineTarget());
      hosts.add(host);
    }
    Map<String, Object> runnerClassSettings = new LinkedHashMap<>();
    runnerClassSettings.put("provider", StaticRunners.PROVIDER);
    runnerClassSettings.put("min-warm", Math.min(minWarm, served.size()));
    runnerClassSettings.put("max", served.size());
    Config config = ConfigFactory.empty()
        .withValue("offload.runners.ssh.identity", ConfigValueFactory.fromAnyRef(clientKey.toString()))
        .withValue("offload.runners.static.hosts", ConfigValueFactory.fromIterable(hosts))
        .withValue("offload.runners.classes." + runnerClass, ConfigValueFactory.fromMap(runnerClassSettings));
    return "# Written by offload-runner-host: the runners it serves, for the static provider.\n"
        + config.root().render(ConfigRenderOptions.concise().setFormatted(true).setJson(false));
  }

  @Override
  public void close() {
    runners.close();
  }

  /**
   * {@code bin/offload-runner-host --dir DIR [--runners N] [--class NAME] [--min-warm N]}: serves
   * the runners until stopped, with {@code DIR/runners.conf} (for the nodes) written atomically
   * once every runner listens, then prints it.
   */
  public static void main(String[] args) throws Exception {
    Map<String, String> options = new LinkedHashMap<>(Map.of("--runners", "4", "--class", "standard", "--min-warm", "2"));
    for (int i = 0; i < args.length; i += 2) {
      if (!List.of("--dir", "--runners", "--class", "--min-warm").contains(args[i]) || i + 1 >= args.length) {
        System.err.println(USAGE);
        System.exit(2);
      }
      options.put(args[i], args[i + 1]);
    }
    if (!options.containsKey("--dir") || !options.get("--runners").matches("[1-9][0-9]{0,3}")
        || !options.get("--min-warm").matches("[0-9]{1,4}")) {
      System.err.println(USAGE);
      System.err.println("--runners is a number from 1 to 9999, --min-warm one from 0");
      System.exit(2);
    }
    Path dir = Path.of(options.get("--dir")).toAbsolutePath();
    Files.createDirectories(dir);
    RunnerHost host = start(ConfigFactory.load(), dir, Integer.parseInt(options.get("--runners")),
        options.get("--class"), Integer.parseInt(options.get("--min-warm")));
    Runtime.getRuntime().addShutdownHook(new Thread(host::close, "runner-host-stop"));
    Path conf = dir.resolve("runners.conf");
    write(conf, host.nodeConfig());
    System.out.println("Serving " + host.runners().size() + " runners; the nodes' configuration is in " + conf
        + ":\n" + host.nodeConfig());
    // The SSH servers' threads do not hold the JVM; this does, until SIGTERM runs the hook above.
    new java.util.concurrent.CountDownLatch(1).await();
  }

  private static void write(Path file, String text) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, text);
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
