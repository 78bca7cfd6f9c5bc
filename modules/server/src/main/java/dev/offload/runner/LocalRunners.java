package dev.offload.runner;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.sshd.common.channel.ChannelFactory;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.net.SshdSocketAddress;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.auth.pubkey.UserAuthPublicKeyFactory;
import org.apache.sshd.server.channel.ChannelSessionFactory;
import org.apache.sshd.server.forward.AgentForwardingFilter;
import org.apache.sshd.server.forward.DirectTcpipFactory;
import org.apache.sshd.server.forward.ForwardingFilter;
import org.apache.sshd.server.forward.TcpForwardingFilter;
import org.apache.sshd.server.forward.X11ForwardingFilter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code local} provider: one embedded SSH server per runner on 127.0.0.1, each forwarding
 * only to this host's engine target. It exercises the same SSH hop as a remote runner (pinned host
 * key, public-key login, engine channel), so nothing downstream knows the runner is local.
 */
public final class LocalRunners implements RunnerCatalogue, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(LocalRunners.class);
  static final String PROVIDER = "local";
  private static final String HOST = "127.0.0.1";

  private final List<RunnerInfo> runners;
  private final List<SshServer> servers;
  private final ExecutorService pumps;
  private final Path clientKey;

  private LocalRunners(
      List<RunnerInfo> runners, List<SshServer> servers, ExecutorService pumps, Path clientKey) {
    this.runners = List.copyOf(runners);
    this.servers = List.copyOf(servers);
    this.pumps = pumps;
    this.clientKey = clientKey;
  }

  /** The control plane's client key, generated on first start; its public half is what runners accept. */
  static Path clientKeyPath(Path dataDir) {
    return dataDir.resolve("runners").resolve("client-key");
  }

  /**
   * Starts {@code max} servers for every class whose provider is {@code local}, numbering runners
   * {@code local-1, local-2, …} across classes in name order so ids (and the host keys stored
   * under them) stay the same from one start to the next.
   */
  public static LocalRunners start(Config config, Path dataDir) {
    Path clientKey = clientKeyPath(dataDir);
    PublicKey acceptedClient = SshKeys.loadOrCreate(clientKey, "offload control plane").getPublic();
    String user = config.getString("offload.runners.ssh.user");
    String target = config.getString("offload.runners.local.engine-target");
    EngineTarget engine = EngineTarget.parse(target);
    ConfigObject classes = config.getObject("offload.runners.classes");

    ExecutorService pumps = Executors.newCachedThreadPool(runnable -> {
      Thread thread = new Thread(runnable, "local-runner-engine");
      thread.setDaemon(true);
      return thread;
    });
    List<RunnerInfo> runners = new ArrayList<>();
    List<SshServer> servers = new ArrayList<>();
    try {
      for (String runnerClass : classes.keySet().stream().sorted().toList()) {
        Config settings = ((ConfigObject) classes.get(runnerClass)).toConfig();
        if (!PROVIDER.equals(settings.getString("provider"))) {
          continue;
        }
        for (int i = 0; i < settings.getInt("max"); i++) {
          String id = PROVIDER + "-" + (runners.size() + 1);
          KeyPair hostKey =
              SshKeys.loadOrCreate(
                  dataDir.resolve("runners").resolve(id).resolve("host-key"), "offload runner " + id);
          SshServer server = server(hostKey, acceptedClient, user, engine, pumps);
          servers.add(server);
          server.start();
          runners.add(
              new RunnerInfo(id, runnerClass, PROVIDER, HOST, server.getPort(), user,
                  SshKeys.openSsh(hostKey.getPublic()), target));
        }
      }
    } catch (IOException e) {
      // Servers already listening would otherwise outlive a failed start.
      new LocalRunners(runners, servers, pumps, clientKey).close();
      throw new UncheckedIOException("cannot start the local runners", e);
    } catch (RuntimeException e) {
      new LocalRunners(runners, servers, pumps, clientKey).close();
      throw e;
    }
    return new LocalRunners(runners, servers, pumps, clientKey);
  }

  private static SshServer server(
      KeyPair hostKey, PublicKey acceptedClient, String user, EngineTarget engine,
      ExecutorService pumps) {
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
    // Session channels stay so a client can prove the connection works, but there is nothing to
    // run in them: no shell, no commands, no subsystems.
    server.setShellFactory(null);
    server.setCommandFactory(null);
    server.setSubsystemFactories(List.of());
    server.setChannelFactories(List.of(ChannelSessionFactory.INSTANCE, engineChannel(engine, pumps)));
    server.setForwardingFilter(ForwardingFilter.asForwardingFilter(
        AgentForwardingFilter.of(false), X11ForwardingFilter.of(false), onlyTo(engine)));
    return server;
  }

  private static ChannelFactory engineChannel(EngineTarget engine, ExecutorService pumps) {
    if (engine instanceof EngineTarget.UnixSocket socket) {
      return new DirectStreamLocalChannel.Factory(socket.path(), pumps);
    }
    return DirectTcpipFactory.INSTANCE;
  }

  private static TcpForwardingFilter onlyTo(EngineTarget engine) {
    return new TcpForwardingFilter() {
      @Override
      public boolean canListen(SshdSocketAddress address, Session session) {
        return false;
      }

      @Override
      public boolean canConnect(Type type, SshdSocketAddress address, Session session) {
        return type == Type.Direct
            && engine instanceof EngineTarget.Tcp tcp
            && tcp.host().equals(address.getHostName())
            && tcp.port() == address.getPort();
      }
    };
  }

  @Override
  public List<RunnerInfo> runners() {
    return runners;
  }

  public Path clientKey() {
    return clientKey;
  }

  @Override
  public void close() {
    for (SshServer server : servers) {
      try {
        server.stop(true);
      } catch (IOException e) {
        // Keep stopping the others: a server that fails to stop must not keep the rest listening.
        log.warn("stopping local runner SSH server failed: {}", e.toString());
      }
    }
    pumps.shutdownNow();
  }
}
