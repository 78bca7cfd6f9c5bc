package dev.offload.runner;

import com.typesafe.config.Config;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;
import org.apache.sshd.common.channel.ChannelFactory;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.auth.pubkey.UserAuthPublicKeyFactory;
import org.apache.sshd.server.channel.ChannelSessionFactory;
import org.apache.sshd.server.forward.RejectAllForwardingFilter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code local} provider: one embedded SSH server per runner on 127.0.0.1, each forwarding
 * only to this host's engine target and running exec commands on this host. It exercises the same
 * SSH hop as a remote runner (pinned host key, public-key login, engine channel, wipe and health
 * commands), so nothing downstream knows the runner is local.
 */
public final class LocalRunners implements RunnerProvider, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(LocalRunners.class);
  static final String PROVIDER = "local";
  private static final String HOST = "127.0.0.1";

  private final Path dataDir;
  private final PublicKey acceptedClient;
  private final String user;
  private final String target;
  private final EngineTarget engine;
  private final Executor blocking;
  private final ExecutorService pumps;
  private final Path clientKey;
  private final Map<String, SshServer> servers = new HashMap<>();
  private static final Duration CLOSE_WAIT = Duration.ofSeconds(10);
  private boolean closed;
  /** Runners being brought up now; close waits for them, so none writes its files afterwards. */
  private int starting;

  private LocalRunners(Config config, Path dataDir, Executor blocking) {
    this.dataDir = dataDir;
    String identity = config.getString("offload.runners.ssh.identity");
    this.clientKey = identity.isEmpty() ? clientKeyPath(dataDir) : Path.of(identity);
    this.acceptedClient = SshKeys.loadOrCreate(clientKey, "offload control plane").getPublic();
    this.user = config.getString("offload.runners.ssh.user");
    this.target = config.getString("offload.runners.local.engine-target");
    this.engine = EngineTarget.parse(target);
    this.blocking = blocking;
    this.pumps = Executors.newCachedThreadPool(runnable -> {
      Thread thread = new Thread(runnable, "local-runner-io");
      thread.setDaemon(true);
      return thread;
    });
  }

  /**
   * The control plane's client key when {@code offload.runners.ssh.identity} names none, generated
   * on first start; the public half of the key in use is what runners accept.
   */
  static Path clientKeyPath(Path dataDir) {
    return dataDir.resolve("runners").resolve("client-key");
  }

  /** Where tests put a recording {@code docker}: first on every local runner's PATH when it exists. */
  public static Path binDir(Path dataDir) {
    return dataDir.resolve("runners").resolve("bin");
  }

  /** Starts no runner: the pool creates them, or adopts the ones it provisioned before a restart. */
  public static LocalRunners start(Config config, Path dataDir, Executor blocking) {
    return new LocalRunners(config, dataDir, blocking);
  }

  @Override
  public String name() {
    return PROVIDER;
  }

  /**
   * Numbers runners {@code local-1, local-2, …}, taking the lowest number without a server, so ids
   * (and the host keys stored under them) stay the same from one start to the next.
   */
  @Override
  public CompletionStage<RunnerInfo> create(String runnerClass) {
    return CompletableFuture.supplyAsync(() -> {
      String id;
      synchronized (servers) {
        int n = 1;
        while (servers.containsKey(PROVIDER + "-" + n)) {
          n++;
        }
        id = PROVIDER + "-" + n;
        // Reserved so a concurrent create never picks the same number.
        servers.put(id, null);
      }
      return serve(id, runnerClass);
    }, blocking);
  }

  @Override
  public CompletionStage<RunnerInfo> adopt(RunnerInfo runner) {
    return CompletableFuture.supplyAsync(() -> {
      synchronized (servers) {
        SshServer running = servers.get(runner.id());
        if (running != null) {
          return info(runner.id(), runner.runnerClass(), running);
        }
        servers.put(runner.id(), null);
      }
      return serve(runner.id(), runner.runnerClass());
    }, blocking);
  }

  /** Stops the runner's server and forgets its host key and directory: the id may be reused. */
  @Override
  public CompletionStage<Void> destroy(RunnerInfo runner) {
    return CompletableFuture.runAsync(() -> {
      SshServer server;
      synchronized (servers) {
        server = servers.get(runner.id());
      }
      stop(server);
      try {
        deleteTree(runnerDir(runner.id()));
      } finally {
        // Only now may the number be taken again: a new runner must never find the old key.
        synchronized (servers) {
          servers.remove(runner.id());
        }
      }
    }, blocking);
  }

  /** Stops a runner's server without forgetting it, as a crashed VM would: for tests of lost runners. */
  void kill(String runnerId) {
    SshServer server;
    synchronized (servers) {
      server = servers.get(runnerId);
    }
    stop(server);
  }

  /**
   * Restarts a runner's server at the same address with a new host key, as a rebuilt VM would:
   * for tests of a host key that changes under a session. Open connections are cut.
   */
  void replaceHostKey(String runnerId) throws IOException {
    SshServer old;
    synchronized (servers) {
      old = servers.get(runnerId);
    }
    int port = old.getPort();
    stop(old);
    Files.deleteIfExists(runnerDir(runnerId).resolve("host-key"));
    KeyPair hostKey = SshKeys.loadOrCreate(runnerDir(runnerId).resolve("host-key"), "offload runner " + runnerId);
    SshServer server = server(hostKey, acceptedClient, user, engine, pumps,
        new LocalShellCommand.Factory(runnerDir(runnerId), binDir(dataDir), target, pumps));
    server.setPort(port);
    server.start();
    synchronized (servers) {
      servers.put(runnerId, server);
    }
  }

  private RunnerInfo serve(String id, String runnerClass) {
    synchronized (servers) {
      if (closed) {
        throw new IllegalStateException("the local runners are shut down");
      }
      starting++;
    }
    try {
      KeyPair hostKey = SshKeys.loadOrCreate(runnerDir(id).resolve("host-key"), "offload runner " + id);
      SshServer server = server(hostKey, acceptedClient, user, engine, pumps,
          new LocalShellCommand.Factory(runnerDir(id), binDir(dataDir), target, pumps));
      server.start();
      synchronized (servers) {
        if (closed) {
          stop(server);
          throw new IllegalStateException("the local runners are shut down");
        }
        servers.put(id, server);
      }
      return info(id, runnerClass, server);
    } catch (IOException | RuntimeException e) {
      synchronized (servers) {
        servers.remove(id, null);
      }
      throw new IllegalStateException("cannot start local runner " + id + ": " + e.getMessage(), e);
    } finally {
      synchronized (servers) {
        starting--;
        servers.notifyAll();
      }
    }
  }

  private RunnerInfo info(String id, String runnerClass, SshServer server) {
    KeyPair hostKey = SshKeys.loadOrCreate(runnerDir(id).resolve("host-key"), "offload runner " + id);
    return new RunnerInfo(id, runnerClass, PROVIDER, HOST, server.getPort(), user,
        SshKeys.openSsh(hostKey.getPublic()), target);
  }

  private Path runnerDir(String id) {
    return dataDir.resolve("runners").resolve(id);
  }

  private static SshServer server(
      KeyPair hostKey, PublicKey acceptedClient, String user, EngineTarget engine,
      ExecutorService pumps, LocalShellCommand.Factory commands) {
    SshServer server = SshServer.setUpDefaultServer();
    server.setHost(HOST);
    server.setPort(0);
    server.setKeyPairProvider(KeyPairProvider.wrap(hostKey));
    // Public-key login with the control plane's key only (spec: security of the SSH hop).
    server.setUserAuthFactories(List.of(UserAuthPublicKeyFactory.INSTANCE));
    server.setPasswordAuthenticator(null);
    server.setKeyboardInteractiveAuthenticator(null);
    server.setGSSAuthenticator(null);
    server.setHostBasedAuthenticator(null);
    server.setPublickeyAuthenticator(
        (name, key, session) -> user.equals(name) && KeyUtils.compareKeys(acceptedClient, key));
    // Exec only, for the pool's wipe, health and container-tracking commands: no shell, no subsystems.
    server.setShellFactory(null);
    server.setCommandFactory(commands);
    server.setSubsystemFactories(List.of());
    server.setChannelFactories(engineChannels(engine, pumps));
    // No agent, X11 or remote forwarding; engine and port channels are our own and check their target.
    server.setForwardingFilter(RejectAllForwardingFilter.INSTANCE);
    return server;
  }

  /**
   * Ours for both kinds: MINA's direct-tcpip drops what the client sends after the engine's EOF.
   * direct-tcpip is always there, for containers' published ports on the loopback interface.
   */
  private static List<ChannelFactory> engineChannels(EngineTarget engine, ExecutorService pumps) {
    List<ChannelFactory> factories = new ArrayList<>(List.of(ChannelSessionFactory.INSTANCE,
        new DirectEngineChannel.Factory(DirectEngineChannel.TCPIP, engine, pumps)));
    if (engine instanceof EngineTarget.UnixSocket) {
      factories.add(new DirectEngineChannel.Factory(DirectEngineChannel.STREAM_LOCAL, engine, pumps));
    }
    return factories;
  }

  public Path clientKey() {
    return clientKey;
  }

  @Override
  public void close() {
    List<SshServer> running;
    synchronized (servers) {
      closed = true;
      long deadline = System.nanoTime() + CLOSE_WAIT.toNanos();
      for (long left; starting > 0 && (left = deadline - System.nanoTime()) > 0; ) {
        try {
          servers.wait(Math.max(1, left / 1_000_000));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
      running = new ArrayList<>(servers.values());
      servers.clear();
    }
    running.forEach(LocalRunners::stop);
    pumps.shutdownNow();
  }

  private static void stop(SshServer server) {
    if (server == null) {
      return;
    }
    try {
      server.stop(true);
    } catch (IOException e) {
      // Keep going: a server that fails to stop must not keep the others listening.
      log.warn("stopping local runner SSH server failed: {}", e.toString());
    }
  }

  private static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete the directory of a destroyed runner " + dir, e);
    }
  }
}
