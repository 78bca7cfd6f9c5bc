package dev.offload.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.offload.runner.RunnerDiagnosis.Check;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Static hosts played by embedded SSH servers: the pinned key from config is the only one accepted. */
class StaticRunnersTest {

  private static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir Path dataDir;
  private LocalRunners hosts;
  private SshConnections ssh;
  private RunnerCommands commands;

  @BeforeEach
  void start() throws Exception {
    StaticHosts.installDocker(dataDir);
    hosts = LocalRunners.start(ConfigFactory.load(), dataDir, ForkJoinPool.commonPool());
    ssh = new SshConnections(LocalRunners.clientKeyPath(dataDir), WAIT, ForkJoinPool.commonPool());
    commands = new RunnerCommands(ssh, ForkJoinPool.commonPool());
  }

  @AfterEach
  void stop() {
    ssh.close();
    hosts.close();
  }

  private RunnerInfo host() throws Exception {
    return hosts.create("standard").toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
  }

  private static StaticRunners configured(RunnerInfo host, String hostKey) {
    Config config = ConfigFactory.parseString(String.format("""
        offload.runners.static.hosts = [
          { id = vm-a, class = standard, host = "%s", port = %d, user = offload,
            host-key = "%s", engine-target = "unix:///var/run/docker.sock" }
        ]
        """, host.host(), host.port(), hostKey)).withFallback(ConfigFactory.load());
    return StaticRunners.fromConfig(config);
  }

  private RunnerInfo created(StaticRunners provider) throws Exception {
    return provider.create("standard").toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
  }

  private List<Check> diagnose(RunnerInfo runner) throws Exception {
    return new RunnerDiagnosis(ssh, commands, "docker info --format '{{.ServerVersion}}'", WAIT)
        .diagnose(runner).toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
  }

  @Test
  void handsOutEachConfiguredHostOnceAndTakesItBackOnDestroy() throws Exception {
    StaticRunners provider = configured(host(), "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKkBYr6Xd1+ug9IF1HlLhq4cz4wB5W4vC7LgqC5D1m2B");

    RunnerInfo runner = created(provider);

    assertEquals("vm-a", runner.id());
    assertEquals("static", runner.provider());
    ExecutionException none = assertThrows(ExecutionException.class, () -> created(provider));
    assertEquals("every static host of class standard is in use; add hosts to offload.runners.static.hosts",
        none.getCause().getMessage());
    provider.destroy(runner).toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertEquals(runner, created(provider));
  }

  @Test
  void aHostGivenBackIsOfferedAgainOnlyAfterTheOtherFreeHosts() throws Exception {
    Config config = ConfigFactory.parseString("""
        offload.runners.static.hosts = [
          { id = vm-a, class = standard, host = "10.0.0.5", host-key = "ssh-ed25519 AAAA" },
          { id = vm-b, class = standard, host = "10.0.0.6", host-key = "ssh-ed25519 AAAA" }
        ]
        """).withFallback(ConfigFactory.load());
    StaticRunners provider = StaticRunners.fromConfig(config);

    RunnerInfo refused = created(provider);
    provider.destroy(refused).toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);

    assertEquals("vm-a", refused.id());
    assertEquals("vm-b", created(provider).id(), "a host whose verification failed does not block the others");
    assertEquals("vm-a", created(provider).id());
  }

  @Test
  void aHostWithThePinnedKeyIsReachableAndItsEngineAnswers() throws Exception {
    RunnerInfo host = host();
    RunnerInfo runner = created(configured(host, host.hostKey()));

    assertEquals(List.of(
        new Check("runner reachable over SSH", true, "runner vm-a at 127.0.0.1:" + host.port() + " presented "
            + host.hostKeyFingerprint()),
        new Check("engine answers", true, "engine 27.3.1")), diagnose(runner).subList(0, 2),
        "the engine target check depends on a Docker socket on this machine");
  }

  @Test
  void aChangedHostKeyIsRefusedWithBothFingerprints() throws Exception {
    RunnerInfo host = host();
    RunnerInfo other = host();
    RunnerInfo runner = created(configured(host, other.hostKey()));
    String expected = "host key verification failed for runner vm-a at 127.0.0.1:" + host.port()
        + ": it presented " + host.hostKeyFingerprint() + " but " + other.hostKeyFingerprint() + " is pinned" + PinnedHostKey.WHAT_TO_DO;

    ExecutionException refused = assertThrows(ExecutionException.class,
        () -> ssh.verify(runner).toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS));
    assertInstanceOf(SshConnections.VerificationFailed.class, refused.getCause());
    assertEquals(expected, refused.getCause().getMessage());

    List<Check> checks = diagnose(runner);
    assertEquals(new Check("runner reachable over SSH", false, expected), checks.get(0));
    assertFalse(checks.get(1).ok());
  }

  @Test
  void anEngineThatDoesNotAnswerCountsAsNoContainers() throws Exception {
    Files.writeString(LocalRunners.binDir(dataDir).resolve("docker"),
        "#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2; exit 1\n");
    RunnerInfo host = host();

    Check engine = diagnose(created(configured(host, host.hostKey()))).get(1);

    assertEquals(new Check("engine answers", false,
        "the engine did not answer (exit status 1: Cannot connect to the Docker daemon); running containers count as zero"),
        engine);
  }
}
