package dev.offload.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.testing.Await;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real create and destroy scripts. The fake cloud records what exists in {@code runners.txt}, so
 * every failure case can assert that no runner was left behind.
 */
class ExecRunnersTest {

  private static final String HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKkBYr6Xd1+ug9IF1HlLhq4cz4wB5W4vC7LgqC5D1m2B";

  @TempDir Path dir;
  private Path cloud;
  private Path destroy;

  @BeforeEach
  void cloud() throws Exception {
    cloud = dir.resolve("runners.txt");
    Files.writeString(cloud, "");
    destroy = script("destroy.sh", "grep -vx \"$1\" " + cloud + " > " + cloud + ".new; mv " + cloud + ".new " + cloud);
  }

  private Path script(String name, String body) throws Exception {
    Path script = dir.resolve(name);
    Files.writeString(script, "#!/bin/sh\n" + body + "\n");
    assertTrue(script.toFile().setExecutable(true));
    return script;
  }

  /** A create script that registers {@code vm-<class>} in the fake cloud, then prints {@code output}. */
  private ExecRunners provider(String output, Duration timeout) throws Exception {
    Path create = script("create.sh", "echo \"vm-$1\" >> " + cloud + "\n" + output);
    return new ExecRunners(create.toString(), destroy.toString(), timeout, ForkJoinPool.commonPool());
  }

  private static String failure(ExecRunners provider) {
    ExecutionException failed = assertThrows(ExecutionException.class,
        () -> provider.create("standard").toCompletableFuture().get(30, TimeUnit.SECONDS));
    assertInstanceOf(ExecRunners.CommandFailed.class, failed.getCause());
    return failed.getCause().getMessage();
  }

  private List<String> cloudRunners() throws Exception {
    return Files.readAllLines(cloud).stream().filter(l -> !l.isBlank()).toList();
  }

  @Test
  void createsFromTheJsonItPrintsAndDestroysById() throws Exception {
    ExecRunners provider = provider("printf '%s' '{\"id\":\"vm-'$1'\",\"host\":\"10.0.0.7\",\"port\":2222,"
        + "\"user\":\"ops\",\"hostKey\":\"" + HOST_KEY + "\",\"engineTarget\":\"unix:///var/run/docker.sock\"}'",
        Duration.ofSeconds(20));

    RunnerInfo runner = provider.create("standard").toCompletableFuture().get(30, TimeUnit.SECONDS);

    assertEquals(new RunnerInfo("vm-standard", "standard", "exec", "10.0.0.7", 2222, "ops", HOST_KEY,
        "unix:///var/run/docker.sock"), runner);
    assertEquals(List.of("vm-standard"), cloudRunners());
    assertEquals(runner, provider.adopt(runner).toCompletableFuture().get(30, TimeUnit.SECONDS));
    provider.destroy(runner).toCompletableFuture().get(30, TimeUnit.SECONDS);
    assertEquals(List.of(), cloudRunners());
  }

  @Test
  void outputThatIsNotJsonIsAClearError() throws Exception {
    String message = failure(provider("echo 'created vm-'$1", Duration.ofSeconds(20)));

    assertTrue(message.startsWith("the create command did not print a JSON object"), message);
  }

  @Test
  void missingFieldsAreNamedAndTheRunnerIsDestroyed() throws Exception {
    String message = failure(provider("echo '{\"id\":\"vm-'$1'\",\"host\":\"10.0.0.7\"}'", Duration.ofSeconds(20)));

    assertEquals("the create command's JSON lacks port, user, hostKey, engineTarget", message);
    assertEquals(List.of(), cloudRunners());
  }

  @Test
  void aNonZeroExitIsAClearErrorWithTheCommandsLastWords() throws Exception {
    String message = failure(provider("echo 'quota exceeded' >&2; exit 4", Duration.ofSeconds(20)));

    assertEquals("the create command failed with exit status 4: quota exceeded", message);
  }

  @Test
  void aHangingCommandIsStoppedAtTheTimeoutAndItsTrapCleansUp() throws Exception {
    long started = System.nanoTime();

    String message = failure(provider("trap '" + destroy + " vm-'$1'; exit 1' TERM\nsleep 30 & wait",
        Duration.ofMillis(500)));

    assertEquals("the create command did not finish within PT0.5S and was killed", message);
    assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(10), "stopped, not waited for");
    assertEquals(List.of(), cloudRunners(), "the command's trap destroyed what it created");
    Await.until(Duration.ofSeconds(10), () -> ProcessHandle.current().descendants()
            .anyMatch(p -> p.info().commandLine().orElse("").contains("sleep 30")),
        running -> !running, "no process of the command left running");
  }

  @Test
  void aCommandIgnoringTheStopIsKilledAfterTheGracePeriod() throws Exception {
    String message = failure(provider("trap '' TERM\nwhile :; do sleep 0.1; done", Duration.ofMillis(300)));

    assertEquals("the create command did not finish within PT0.3S and was killed", message);
    Await.until(Duration.ofSeconds(10), () -> ProcessHandle.current().descendants()
            .anyMatch(p -> p.info().commandLine().orElse("").contains("create.sh")),
        running -> !running, "the command killed");
  }

  @Test
  void theExampleScriptIsValidShell() throws Exception {
    Path example = Path.of("../../deploy/examples/exec-provider.sh");
    assertTrue(Files.isExecutable(example), example.toAbsolutePath().toString());
    Process check = new ProcessBuilder("/bin/sh", "-n", example.toString()).redirectErrorStream(true).start();
    String output = new String(check.getInputStream().readAllBytes());
    assertTrue(check.waitFor(30, TimeUnit.SECONDS));
    assertEquals(0, check.exitValue(), output);
  }
}
