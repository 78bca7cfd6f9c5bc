package dev.offload.runner;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.DispatcherSelector;
import com.jcraft.jsch.Channel;
import com.jcraft.jsch.ChannelDirectStreamLocal;
import com.jcraft.jsch.ChannelDirectTCPIP;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.Session;
import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;

/**
 * This node's SSH connections to runners, one per runner, kept open so that activating a session
 * on a warm runner needs no new handshake (spec: the runner pool). All blocking SSH work runs on
 * the executor given, never on an actor's thread.
 */
public final class SshConnections implements AutoCloseable {

  /** Preferred first because JSch's AES-GCM is the fastest it has; its ChaCha20 is pure Java and slow. */
  static final String CIPHERS = "aes128-gcm@openssh.com,aes128-ctr,aes256-gcm@openssh.com,aes256-ctr";
  static final String KEX =
      "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
          + "ecdh-sha2-nistp521,diffie-hellman-group16-sha512,diffie-hellman-group14-sha256";
  static final String HOST_KEY_ALGORITHMS =
      "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
          + "rsa-sha2-512,rsa-sha2-256";

  /** Why a runner could not be verified: a refused host key, login or connection. */
  public static final class VerificationFailed extends RuntimeException {
    VerificationFailed(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final JSch jsch = new JSch();
  /** What the control plane offers runners, so a refused login says which key to authorise. */
  private final String identityFingerprint;
  private final int connectTimeoutMillis;
  private final Executor blocking;
  private final ConcurrentHashMap<String, Connection> connections = new ConcurrentHashMap<>();
  private volatile boolean closed;

  /** The current SSH session to one runner; its monitor serialises opening and replacing it. */
  private static final class Connection {
    private RunnerInfo runner;
    private Session session;
  }

  public SshConnections(Path identity, Duration connectTimeout, Executor blocking) {
    try {
      jsch.addIdentity(identity.toString());
    } catch (JSchException e) {
      throw new IllegalArgumentException(
          "cannot read the SSH identity " + identity + ": " + e.getMessage(), e);
    }
    this.identityFingerprint = fingerprintOf(jsch);
    this.connectTimeoutMillis = Math.toIntExact(connectTimeout.toMillis());
    this.blocking = blocking;
  }

  private static String fingerprintOf(JSch jsch) {
    try {
      return jsch.getIdentityRepository().getIdentities().stream()
          .map(identity -> identity.getPublicKeyBlob())
          .filter(blob -> blob != null)
          .map(RunnerInfo::fingerprint)
          .findFirst()
          .orElse("(unknown)");
    } catch (RuntimeException e) {
      return "(unknown)";
    }
  }

  /** The SHA-256 fingerprint of the public key this node logs in to runners with. */
  public String identityFingerprint() {
    return identityFingerprint;
  }

  /**
   * From {@code offload.runners.ssh}, on the blocking dispatcher; an empty identity means the key
   * the local provider generates under {@code dataDir}.
   */
  public static SshConnections create(ActorSystem<?> system, Path dataDir) {
    Config ssh = system.settings().config().getConfig("offload.runners.ssh");
    String identity = ssh.getString("identity");
    return new SshConnections(
        identity.isEmpty() ? LocalRunners.clientKeyPath(dataDir) : Path.of(identity),
        ssh.getDuration("connect-timeout"),
        system.dispatchers().lookup(DispatcherSelector.fromConfig("offload.blocking-dispatcher")));
  }

  /**
   * Completes once the runner's SSH connection is open with its pinned host key and has answered a
   * channel open; fails with {@link VerificationFailed}.
   */
  public CompletionStage<Void> verify(RunnerInfo runner) {
    return CompletableFuture.runAsync(() -> verifyBlocking(runner), blocking);
  }

  private void verifyBlocking(RunnerInfo runner) {
    Session session = session(runner);
    try {
      roundTrip(session);
    } catch (JSchException stale) {
      // A cached connection can look connected after the runner went away: retry once on a new one.
      discard(runner, session);
      try {
        roundTrip(session(runner));
      } catch (JSchException e) {
        throw new VerificationFailed(
            "runner " + runner.id() + " does not answer on its SSH connection: " + e.getMessage(), e);
      }
    }
  }

  /**
   * Completes once a channel to the runner's engine target (its Unix socket or TCP address) opens
   * on the runner's connection, which is what every tunnel needs; fails with a reason otherwise.
   */
  public CompletionStage<Void> probeEngine(RunnerInfo runner) {
    return CompletableFuture.runAsync(() -> {
      EngineTarget target = EngineTarget.parse(runner.engineTarget());
      Channel channel = null;
      try {
        if (target instanceof EngineTarget.UnixSocket socket) {
          ChannelDirectStreamLocal local = (ChannelDirectStreamLocal) session(runner).openChannel("direct-streamlocal@openssh.com");
          local.setSocketPath(socket.path().toString());
          channel = local;
        } else {
          EngineTarget.Tcp tcp = (EngineTarget.Tcp) target;
          ChannelDirectTCPIP direct = (ChannelDirectTCPIP) session(runner).openChannel("direct-tcpip");
          direct.setHost(tcp.host());
          direct.setPort(tcp.port());
          channel = direct;
        }
        channel.connect(connectTimeoutMillis);
        if (!channel.isConnected()) throw new JSchException("the runner refused the channel");
      } catch (JSchException e) {
        throw new IllegalStateException("the engine target " + runner.engineTarget() + " of runner " + runner.id()
            + " cannot be opened (" + e.getMessage() + "); is the Docker Engine running there?", e);
      } finally {
        if (channel != null) channel.disconnect();
      }
    }, blocking);
  }

  /** Opening and closing a session channel proves the connection carries traffic both ways. */
  private void roundTrip(Session session) throws JSchException {
    Channel channel = session.openChannel("session");
    try {
      channel.connect(connectTimeoutMillis);
    } finally {
      channel.disconnect();
    }
  }

  /**
   * The open SSH session to {@code runner}, opened (and host-key verified) when there is none or
   * the runner's endpoint changed. Blocks: call it on the blocking dispatcher.
   */
  public Session session(RunnerInfo runner) {
    Connection connection = connections.computeIfAbsent(runner.id(), id -> new Connection());
    synchronized (connection) {
      if (closed) {
        throw new IllegalStateException("SSH connections of this node are closed");
      }
      if (connection.session != null
          && connection.session.isConnected()
          && runner.equals(connection.runner)) {
        return connection.session;
      }
      if (connection.session != null) {
        connection.session.disconnect();
      }
      connection.session = open(runner);
      connection.runner = runner;
      return connection.session;
    }
  }

  private void discard(RunnerInfo runner, Session session) {
    Connection connection = connections.get(runner.id());
    if (connection != null) {
      synchronized (connection) {
        if (connection.session == session) {
          session.disconnect();
          connection.session = null;
        }
      }
    }
  }

  private Session open(RunnerInfo runner) {
    PinnedHostKey pinned = new PinnedHostKey(runner);
    try {
      Session session = jsch.getSession(runner.user(), runner.host(), runner.port());
      session.setHostKeyRepository(pinned);
      session.setConfig("StrictHostKeyChecking", "yes");
      session.setConfig("PreferredAuthentications", "publickey");
      session.setConfig("cipher.c2s", CIPHERS);
      session.setConfig("cipher.s2c", CIPHERS);
      session.setConfig("kex", KEX);
      session.setConfig("server_host_key", HOST_KEY_ALGORITHMS);
      session.setDaemonThread(true);
      session.connect(connectTimeoutMillis);
      return session;
    } catch (JSchException e) {
      // JSch reports a changed key as a plain JSchException; the repository knows what it refused.
      if (pinned.refused()) {
        throw new VerificationFailed(pinned.mismatch(), e);
      }
      // JSch says only "Auth fail"; the operator needs the user and the key that were refused.
      if (e.getMessage() != null && e.getMessage().startsWith("Auth ")) {
        throw new VerificationFailed(authenticationRefused(runner), e);
      }
      throw new VerificationFailed(
          "cannot open an SSH connection to runner " + runner.id() + " at " + runner.host() + ":"
              + runner.port() + ": " + e.getMessage(), e);
    }
  }

  /** Why a login was refused, naming the user and the key offered and what to do about it. */
  String authenticationRefused(RunnerInfo runner) {
    return "SSH authentication refused by runner " + runner.id() + " at " + runner.host() + ":" + runner.port()
        + " for user " + runner.user() + " with the control plane's key " + identityFingerprint
        + ": add that public key to the runner's authorized keys for " + runner.user()
        + " (or set offload.runners.ssh.identity to a key the runner accepts)";
  }

  /** A retired runner's connection is of no further use, and its server may be gone already. */
  void disconnect(String runnerId) {
    Connection connection = connections.remove(runnerId);
    if (connection != null) {
      synchronized (connection) {
        if (connection.session != null) {
          connection.session.disconnect();
          connection.session = null;
        }
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    for (Connection connection : connections.values()) {
      synchronized (connection) {
        if (connection.session != null) {
          connection.session.disconnect();
          connection.session = null;
        }
      }
    }
  }
}
