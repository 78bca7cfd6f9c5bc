package dev.offload.runner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import com.jcraft.jsch.ChannelDirectStreamLocal;
import com.jcraft.jsch.ChannelDirectTCPIP;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.Session;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real MINA servers and a real JSch client: the SSH hop exactly as the control plane uses it. */
class LocalRunnersTest {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final int CONNECT_MILLIS = 10_000;
  private static ActorTestKit testKit;

  @TempDir Path dataDir;

  @BeforeAll
  static void startSystem() {
    testKit = ActorTestKit.create(ConfigFactory.parseString("akka.actor.provider = local"));
  }

  @AfterAll
  static void stopSystem() {
    testKit.shutdownTestKit();
  }

  private static Config engine(String target) {
    return ConfigFactory.parseString("offload.runners.local.engine-target = \"" + target + "\"")
        .withFallback(testKit.system().settings().config());
  }

  private Config absentEngine() {
    return engine("unix://" + dataDir.resolve("no-engine-here.sock"));
  }

  private static List<RunnerInfo> created(LocalRunners runners, int count) throws Exception {
    List<RunnerInfo> created = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      created.add(runners.create("standard").toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS));
    }
    return created;
  }

  private static void verified(SshConnections ssh, RunnerInfo runner) throws Exception {
    ssh.verify(runner).toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
  }

  private static Throwable verificationFailure(SshConnections ssh, RunnerInfo runner) {
    ExecutionException failed = assertThrows(ExecutionException.class,
        () -> ssh.verify(runner).toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS));
    return failed.getCause();
  }

  @Test
  void verifiesEachRunnerWithItsPinnedKeyAndKeepsTheConnection() throws Exception {
    try (LocalRunners runners = LocalRunners.start(absentEngine(), dataDir, ForkJoinPool.commonPool());
        SshConnections ssh = SshConnections.create(testKit.system(), dataDir)) {
      List<RunnerInfo> offered = created(runners, 2);
      assertEquals(List.of("local-1", "local-2"), offered.stream().map(RunnerInfo::id).toList());
      assertNotEquals(offered.get(0).port(), offered.get(1).port());
      assertNotEquals(offered.get(0).hostKey(), offered.get(1).hostKey());
      for (RunnerInfo runner : offered) {
        assertEquals("standard", runner.runnerClass());
        assertEquals("local", runner.provider());
        assertEquals("127.0.0.1", runner.host());
        assertEquals("offload", runner.user());
        assertTrue(runner.hostKey().startsWith("ssh-ed25519 AAAA"), runner.hostKey());
        assertEquals(KeyUtils.getFingerPrint(PublicKeyEntry.parsePublicKeyEntry(runner.hostKey())
            .resolvePublicKey(null, null, null)), runner.hostKeyFingerprint());
      }

      RunnerInfo first = offered.get(0);
      verified(ssh, first);
      Session session = ssh.session(first);
      verified(ssh, first);
      assertSame(session, ssh.session(first), "a warm runner needs no new handshake");
      verified(ssh, offered.get(1));

      assertEquals(runners.clientKey(), dataDir.resolve("runners/client-key"));
      assertEquals("rw-------", PosixFilePermissions.toString(
          Files.getPosixFilePermissions(runners.clientKey())));
      assertEquals("rw-------", PosixFilePermissions.toString(
          Files.getPosixFilePermissions(dataDir.resolve("runners/local-1/host-key"))));
      assertTrue(Files.readString(dataDir.resolve("runners/client-key.pub")).startsWith("ssh-ed25519 "));
    }
  }

  @Test
  void hostKeysSurviveARestartWithTheSameDataDir() throws Exception {
    List<RunnerInfo> before;
    String clientKey;
    try (LocalRunners runners = LocalRunners.start(absentEngine(), dataDir, ForkJoinPool.commonPool())) {
      before = created(runners, 2);
      clientKey = Files.readString(runners.clientKey());
    }
    try (LocalRunners runners = LocalRunners.start(absentEngine(), dataDir, ForkJoinPool.commonPool());
        SshConnections ssh = SshConnections.create(testKit.system(), dataDir)) {
      assertEquals(clientKey, Files.readString(runners.clientKey()));
      for (int i = 0; i < before.size(); i++) {
        RunnerInfo now = runners.adopt(before.get(i)).toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        RunnerInfo pinnedBefore = new RunnerInfo(now.id(), now.runnerClass(), now.provider(),
            now.host(), now.port(), now.user(), before.get(i).hostKey(), now.engineTarget());
        assertEquals(pinnedBefore, now);
        verified(ssh, pinnedBefore);
      }
    }
  }

  @Test
  void aRunnerPresentingAnotherHostKeyIsRefused() throws Exception {
    try (LocalRunners runners = LocalRunners.start(absentEngine(), dataDir, ForkJoinPool.commonPool());
        SshConnections ssh = SshConnections.create(testKit.system(), dataDir)) {
      List<RunnerInfo> offered = created(runners, 2);
      RunnerInfo real = offered.get(0);
      RunnerInfo other = offered.get(1);
      RunnerInfo pinnedWrong = new RunnerInfo(real.id(), real.runnerClass(), real.provider(),
          real.host(), real.port(), real.user(), other.hostKey(), real.engineTarget());

      Throwable refused = verificationFailure(ssh, pinnedWrong);

      assertInstanceOf(SshConnections.VerificationFailed.class, refused);
      assertEquals("host key verification failed for runner local-1 at 127.0.0.1:" + real.port()
          + ": it presented " + real.hostKeyFingerprint() + " but " + other.hostKeyFingerprint()
          + " is pinned" + PinnedHostKey.WHAT_TO_DO, refused.getMessage());
    }
  }

  @Test
  void aRunnerThatWentAwayFailsVerificationInsteadOfReusingTheDeadConnection() throws Exception {
    LocalRunners runners = LocalRunners.start(absentEngine(), dataDir, ForkJoinPool.commonPool());
    try (runners; SshConnections ssh = SshConnections.create(testKit.system(), dataDir)) {
      RunnerInfo runner = created(runners, 1).get(0);
      verified(ssh, runner);
      runners.close();

      Throwable failed = verificationFailure(ssh, runner);

      assertInstanceOf(SshConnections.VerificationFailed.class, failed);
      assertTrue(failed.getMessage().startsWith(
          "cannot open an SSH connection to runner local-1 at 127.0.0.1:" + runner.port()),
          failed.getMessage());
    }
  }

  @Test
  void onlyTheControlPlaneKeyAndUserLogIn() throws Exception {
    Path strangerKey = dataDir.resolve("stranger/id_ed25519");
    SshKeys.loadOrCreate(strangerKey, "stranger");
    try (LocalRunners runners = LocalRunners.start(absentEngine(), dataDir, ForkJoinPool.commonPool());
        SshConnections stranger = new SshConnections(strangerKey, WAIT, Runnable::run);
        SshConnections ssh = SshConnections.create(testKit.system(), dataDir)) {
      RunnerInfo runner = created(runners, 1).get(0);
      RunnerInfo asRoot = new RunnerInfo(runner.id(), runner.runnerClass(), runner.provider(),
          runner.host(), runner.port(), "root", runner.hostKey(), runner.engineTarget());

      String strangers = RunnerInfo.fingerprint(java.util.Base64.getDecoder().decode(
          SshKeys.openSsh(SshKeys.loadOrCreate(strangerKey, "stranger").getPublic()).split(" ")[1]));
      String ours = RunnerInfo.fingerprint(java.util.Base64.getDecoder().decode(SshKeys.openSsh(
          SshKeys.loadOrCreate(LocalRunners.clientKeyPath(dataDir), "offload control plane").getPublic()).split(" ")[1]));

      // Named for the operator: which runner refused which user with which key, and what to do.
      String refused = verificationFailure(stranger, runner).getMessage();
      assertTrue(refused.startsWith("SSH authentication refused by runner local-1 at 127.0.0.1:" + runner.port()
          + " for user offload with the control plane's key " + strangers + ": add that public key"), refused);
      String wrongUser = verificationFailure(ssh, asRoot).getMessage();
      assertTrue(wrongUser.contains("for user root with the control plane's key " + ours), wrongUser);
    }
  }

  @Test
  void runnersRunCommandsWithShInTheirOwnDirectoryAndNoShell() throws Exception {
    Path bin = Files.createDirectories(LocalRunners.binDir(dataDir));
    Path docker = bin.resolve("docker");
    Files.writeString(docker, "#!/bin/sh\necho \"docker $*\"\n");
    docker.toFile().setExecutable(true);
    try (LocalRunners runners = LocalRunners.start(absentEngine(), dataDir, ForkJoinPool.commonPool());
        SshConnections ssh = SshConnections.create(testKit.system(), dataDir)) {
      RunnerInfo runner = created(runners, 1).get(0);
      RunnerCommands commands = new RunnerCommands(ssh, ForkJoinPool.commonPool());

      RunnerCommands.Result result = commands.run(runner,
          "pwd; docker ps -aq; echo \"$DOCKER_HOST\"; echo oops >&2; exit 3", WAIT)
          .toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);

      assertEquals(dataDir.resolve("runners/local-1").toRealPath() + "\ndocker ps -aq\n"
          + runner.engineTarget() + "\n", result.stdout());
      assertEquals("oops\n", result.stderr());
      assertEquals(3, result.exitStatus());
      assertThrows(JSchException.class, () -> ssh.session(runner).openChannel("shell").connect(CONNECT_MILLIS));
    }
  }

  @Test
  void aCommandOutlivingItsTimeoutFailsAndIsKilled() throws Exception {
    try (LocalRunners runners = LocalRunners.start(absentEngine(), dataDir, ForkJoinPool.commonPool());
        SshConnections ssh = SshConnections.create(testKit.system(), dataDir)) {
      RunnerInfo runner = created(runners, 1).get(0);
      RunnerCommands commands = new RunnerCommands(ssh, ForkJoinPool.commonPool());

      ExecutionException failed = assertThrows(ExecutionException.class, () -> commands
          .run(runner, "sleep 60", Duration.ofMillis(500))
          .toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS));

      assertTrue(failed.getCause().getMessage().contains("within PT0.5S"), failed.getCause().getMessage());
      assertEquals("ok\n", commands.run(runner, "echo ok", WAIT).toCompletableFuture()
          .get(WAIT.toSeconds(), TimeUnit.SECONDS).stdout(), "the connection stays usable");
    }
  }

  @Test
  void aDestroyedRunnerStopsAndItsNumberIsReusedWithANewKey() throws Exception {
    try (LocalRunners runners = LocalRunners.start(absentEngine(), dataDir, ForkJoinPool.commonPool());
        SshConnections ssh = SshConnections.create(testKit.system(), dataDir)) {
      List<RunnerInfo> offered = created(runners, 2);
      runners.destroy(offered.get(0)).toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);

      assertInstanceOf(SshConnections.VerificationFailed.class, verificationFailure(ssh, offered.get(0)));
      RunnerInfo replacement = created(runners, 1).get(0);
      assertEquals("local-1", replacement.id());
      assertNotEquals(offered.get(0).hostKey(), replacement.hostKey());
      verified(ssh, replacement);
    }
  }

  @Test
  void directTcpipCarriesBytesBothWaysToTheEngineAndLoopbackPortsOnly() throws Exception {
    try (EchoServer engine = EchoServer.tcp();
        EchoServer published = EchoServer.tcp();
        LocalRunners runners =
            LocalRunners.start(engine("tcp://127.0.0.1:" + engine.port()), dataDir, ForkJoinPool.commonPool());
        SshConnections ssh = SshConnections.create(testKit.system(), dataDir)) {
      Session session = ssh.session(created(runners, 1).get(0));

      ChannelDirectTCPIP channel = (ChannelDirectTCPIP) session.openChannel("direct-tcpip");
      channel.setHost("127.0.0.1");
      channel.setPort(engine.port());
      assertEchoed(channel);

      // A container's published port on the runner's loopback interface.
      ChannelDirectTCPIP port = (ChannelDirectTCPIP) session.openChannel("direct-tcpip");
      port.setHost("127.0.0.1");
      port.setPort(published.port());
      assertEchoed(port);

      // Any other host is refused before anything connects (TEST-NET-1 would not answer anyway).
      ChannelDirectTCPIP refused = (ChannelDirectTCPIP) session.openChannel("direct-tcpip");
      refused.setHost("192.0.2.1");
      refused.setPort(engine.port());
      assertThrows(JSchException.class, () -> refused.connect(CONNECT_MILLIS));
      // JSch's connect() swallows anything but a JSchException: without a socket path it "succeeds".
      ChannelDirectStreamLocal socket =
          (ChannelDirectStreamLocal) session.openChannel("direct-streamlocal@openssh.com");
      socket.setSocketPath("/var/run/docker.sock");
      assertThrows(JSchException.class, () -> socket.connect(CONNECT_MILLIS));
    }
  }

  @Test
  void directStreamLocalCarriesBytesBothWaysToTheEngineSocketOnly() throws Exception {
    Path socket = dataDir.resolve("engine.sock");
    try (EchoServer engine = EchoServer.unix(socket);
        EchoServer elsewhere = EchoServer.unix(dataDir.resolve("other.sock"));
        LocalRunners runners = LocalRunners.start(engine("unix://" + socket), dataDir, ForkJoinPool.commonPool());
        SshConnections ssh = SshConnections.create(testKit.system(), dataDir)) {
      Session session = ssh.session(created(runners, 1).get(0));

      ChannelDirectStreamLocal channel =
          (ChannelDirectStreamLocal) session.openChannel("direct-streamlocal@openssh.com");
      channel.setSocketPath(socket.toString());
      assertEchoed(channel);

      ChannelDirectStreamLocal refused =
          (ChannelDirectStreamLocal) session.openChannel("direct-streamlocal@openssh.com");
      refused.setSocketPath(dataDir.resolve("other.sock").toString());
      assertThrows(JSchException.class, () -> refused.connect(CONNECT_MILLIS));
      ChannelDirectTCPIP tcp = (ChannelDirectTCPIP) session.openChannel("direct-tcpip");
      tcp.setHost("192.0.2.1");
      tcp.setPort(2375);
      assertThrows(JSchException.class, () -> tcp.connect(CONNECT_MILLIS));
    }
  }

  @Test
  void anEngineSocketThatIsNotThereFailsTheChannelNotTheConnection() throws Exception {
    Path socket = dataDir.resolve("engine.sock");
    try (LocalRunners runners = LocalRunners.start(engine("unix://" + socket), dataDir, ForkJoinPool.commonPool());
        SshConnections ssh = SshConnections.create(testKit.system(), dataDir)) {
      RunnerInfo runner = created(runners, 1).get(0);
      Session session = ssh.session(runner);
      ChannelDirectStreamLocal channel =
          (ChannelDirectStreamLocal) session.openChannel("direct-streamlocal@openssh.com");
      channel.setSocketPath(socket.toString());

      assertThrows(JSchException.class, () -> channel.connect(CONNECT_MILLIS));
      verified(ssh, runner);
      assertSame(session, ssh.session(runner));
    }
  }

  @Test
  void anEngineThatEndsItsOutputFirstStillHearsTheClientOverTcp() throws Exception {
    CompletableFuture<byte[]> heard = new CompletableFuture<>();
    try (EchoServer engine = EchoServer.tcp().speakingFirst(GREETING, heard);
        LocalRunners runners =
            LocalRunners.start(engine("tcp://127.0.0.1:" + engine.port()), dataDir, ForkJoinPool.commonPool());
        SshConnections ssh = SshConnections.create(testKit.system(), dataDir)) {
      ChannelDirectTCPIP channel = (ChannelDirectTCPIP) ssh.session(created(runners, 1).get(0)).openChannel("direct-tcpip");
      channel.setHost("127.0.0.1");
      channel.setPort(engine.port());
      assertHeardAfterTheEnginesEof(channel, heard);
    }
  }

  @Test
  void anEngineThatEndsItsOutputFirstStillHearsTheClientOverItsSocket() throws Exception {
    Path socket = dataDir.resolve("engine.sock");
    CompletableFuture<byte[]> heard = new CompletableFuture<>();
    try (EchoServer engine = EchoServer.unix(socket).speakingFirst(GREETING, heard);
        LocalRunners runners = LocalRunners.start(engine("unix://" + socket), dataDir, ForkJoinPool.commonPool());
        SshConnections ssh = SshConnections.create(testKit.system(), dataDir)) {
      ChannelDirectStreamLocal channel = (ChannelDirectStreamLocal)
          ssh.session(created(runners, 1).get(0)).openChannel("direct-streamlocal@openssh.com");
      channel.setSocketPath(socket.toString());
      assertHeardAfterTheEnginesEof(channel, heard);
    }
  }

  private static final byte[] GREETING = "engine speaks first\n".getBytes(StandardCharsets.US_ASCII);

  /**
   * Half-close the other way round (an attached container's output ends while its input is still
   * open): the client reads the engine's bytes and end of stream, then what it still sends reaches
   * the engine, which sees its end of input too.
   */
  private static void assertHeardAfterTheEnginesEof(ChannelDirectTCPIP channel, CompletableFuture<byte[]> heard)
      throws Exception {
    InputStream fromEngine = channel.getInputStream();
    OutputStream toEngine = channel.getOutputStream();
    channel.connect(CONNECT_MILLIS);
    assertArrayEquals(GREETING, assertTimeoutPreemptively(WAIT, () -> readToEnd(fromEngine)));

    byte[] late = "sent after the engine's eof".getBytes(StandardCharsets.US_ASCII);
    toEngine.write(late);
    toEngine.flush();
    toEngine.close();
    assertEquals(new String(late, StandardCharsets.US_ASCII),
        new String(heard.get(WAIT.toSeconds(), TimeUnit.SECONDS), StandardCharsets.US_ASCII));
    channel.disconnect();
  }

  /**
   * Sends 4 MiB, twice the server's default channel window so window adjustments must flow, then
   * half-closes: everything must come back in order, followed by end of stream once the engine has
   * seen the half-close and finished (docker run -i depends on it).
   */
  private static void assertEchoed(ChannelDirectTCPIP channel) throws Exception {
    byte[] sent = new byte[4 * 1024 * 1024];
    new Random(42).nextBytes(sent);
    InputStream fromEngine = channel.getInputStream();
    OutputStream toEngine = channel.getOutputStream();
    channel.connect(CONNECT_MILLIS);

    CompletableFuture<Void> writing = CompletableFuture.runAsync(() -> {
      try {
        for (int off = 0; off < sent.length; off += 32 * 1024) {
          toEngine.write(sent, off, 32 * 1024);
          toEngine.flush();
        }
        toEngine.close();
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    });
    byte[] received = assertTimeoutPreemptively(WAIT, () -> readToEnd(fromEngine));
    writing.get(WAIT.toSeconds(), TimeUnit.SECONDS);

    assertArrayEquals(sent, received);
    channel.disconnect();
  }

  private static byte[] readToEnd(InputStream in) throws IOException {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    byte[] buffer = new byte[32 * 1024];
    for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
      all.write(buffer, 0, n);
    }
    return all.toByteArray();
  }
}
