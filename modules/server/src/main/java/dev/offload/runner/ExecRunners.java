package dev.offload.runner;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * The {@code exec} provider: operator commands create and destroy runners (a cloud CLI, Terraform,
 * a VM tool). The create command gets the class and prints one JSON object describing the runner;
 * the destroy command gets the runner's id. The pool persists the JSON, so a restart needs no
 * command to find its runners again.
 */
public final class ExecRunners implements RunnerProvider {

  static final String PROVIDER = "exec";
  private static final List<String> FIELDS = List.of("id", "host", "port", "user", "hostKey", "engineTarget");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration KILL_GRACE = Duration.ofSeconds(10);

  /** A create or destroy command failed; the message says which and how. */
  public static final class CommandFailed extends RuntimeException {
    CommandFailed(String message) {
      super(message);
    }
  }

  private final String createCommand;
  private final String destroyCommand;
  private final Duration timeout;
  private final Executor blocking;

  public ExecRunners(String createCommand, String destroyCommand, Duration timeout, Executor blocking) {
    this.createCommand = createCommand;
    this.destroyCommand = destroyCommand;
    this.timeout = timeout;
    this.blocking = blocking;
  }

  public static ExecRunners fromConfig(Config config, Executor blocking) {
    Config exec = config.getConfig("offload.runners.exec");
    return new ExecRunners(exec.getString("create-command"), exec.getString("destroy-command"),
        exec.getDuration("timeout"), blocking);
  }

  @Override
  public String name() {
    return PROVIDER;
  }

  @Override
  public CompletionStage<RunnerInfo> create(String runnerClass) {
    return CompletableFuture.supplyAsync(() -> {
      String stdout = run("create", createCommand, runnerClass);
      return parseCreated(stdout, runnerClass, this::destroyQuietly);
    }, blocking);
  }

  /**
   * What the create command printed, as a runner: anything else is {@link CommandFailed} naming
   * what is wrong. {@code giveBack} gets the id of a runner that was created but cannot be used.
   */
  static RunnerInfo parseCreated(String stdout, String runnerClass, Consumer<String> giveBack) {
    JsonNode json;
    try {
      json = JSON.readTree(stdout);
    } catch (JsonProcessingException e) {
      throw new CommandFailed("the create command did not print a JSON object: " + e.getOriginalMessage());
    }
    if (json == null || !json.isObject()) {
      throw new CommandFailed("the create command did not print a JSON object");
    }
    List<String> missing = FIELDS.stream().filter(f -> !json.hasNonNull(f)).toList();
    if (!missing.isEmpty()) {
      // It may have created something: give it back if we know what it is called.
      if (json.hasNonNull("id")) {
        giveBack.accept(json.get("id").asText());
      }
      throw new CommandFailed("the create command's JSON lacks " + String.join(", ", missing));
    }
    JsonNode port = json.get("port");
    if (!port.isIntegralNumber() || port.asLong() < 1 || port.asLong() > 65535) {
      if (!json.get("id").asText().isBlank()) giveBack.accept(json.get("id").asText());
      throw new CommandFailed("the create command's JSON has port " + port + "; it must be a number from 1 to 65535");
    }
    List<String> blank = List.of("id", "host", "user").stream().filter(f -> json.get(f).asText().isBlank()).toList();
    if (!blank.isEmpty()) {
      if (!json.get("id").asText().isBlank()) giveBack.accept(json.get("id").asText());
      throw new CommandFailed("the create command's JSON has an empty " + String.join(", ", blank));
    }
    RunnerInfo runner = new RunnerInfo(json.get("id").asText(), runnerClass, PROVIDER,
        json.get("host").asText(), port.asInt(), json.get("user").asText(),
        json.get("hostKey").asText(), json.get("engineTarget").asText());
    try {
      runner.hostKeyBlob();
      EngineTarget.parse(runner.engineTarget());
    } catch (IllegalArgumentException e) {
      giveBack.accept(runner.id());
      throw new CommandFailed("the create command's JSON is not usable: " + e.getMessage());
    }
    return runner;
  }

  @Override
  public CompletionStage<RunnerInfo> adopt(RunnerInfo runner) {
    return CompletableFuture.completedFuture(runner);
  }

  @Override
  public CompletionStage<Void> destroy(RunnerInfo runner) {
    return CompletableFuture.runAsync(() -> run("destroy", destroyCommand, runner.id()), blocking);
  }

  private void destroyQuietly(String id) {
    try {
      run("destroy", destroyCommand, id);
    } catch (RuntimeException e) {
      // The create failure is what the operator must see; this one is in the log of the command.
    }
  }

  /** Runs {@code command "$argument"} with sh, so the argument is never parsed as shell syntax. */
  private String run(String what, String command, String argument) {
    Path out = null;
    Path err = null;
    try {
      out = Files.createTempFile("offload-exec-", ".out");
      err = Files.createTempFile("offload-exec-", ".err");
      List<String> line = List.of("/bin/sh", "-c", command + " \"$1\"", "offload-exec", argument);
      Process process = new ProcessBuilder(line)
          .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
          .redirectOutput(out.toFile())
          .redirectError(err.toFile())
          .start();
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        stop(process);
        throw new CommandFailed("the " + what + " command did not finish within " + timeout + " and was killed");
      }
      if (process.exitValue() != 0) {
        throw new CommandFailed("the " + what + " command failed with exit status " + process.exitValue()
            + lastLine(Files.readString(err, StandardCharsets.UTF_8)));
      }
      return Files.readString(out, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run the " + what + " command", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CommandFailed("interrupted while running the " + what + " command");
    } finally {
      deleteQuietly(out);
      deleteQuietly(err);
    }
  }

  /**
   * SIGTERM first, so a create command's trap can delete what it started; SIGKILL for whatever
   * still runs after the grace period.
   */
  private void stop(Process process) {
    List<ProcessHandle> tree = new ArrayList<>(process.descendants().toList());
    tree.add(process.toHandle());
    tree.forEach(ProcessHandle::destroy);
    CompletableFuture<?>[] exits = tree.stream().map(ProcessHandle::onExit).toArray(CompletableFuture[]::new);
    try {
      CompletableFuture.allOf(exits).get(Math.min(timeout.toMillis(), KILL_GRACE.toMillis()), TimeUnit.MILLISECONDS);
    } catch (TimeoutException | ExecutionException e) {
      tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    }
  }

  private static String lastLine(String stderr) {
    String[] lines = stderr.strip().split("\n");
    return lines[lines.length - 1].isEmpty() ? "" : ": " + lines[lines.length - 1];
  }

  private static void deleteQuietly(Path file) {
    if (file == null) {
      return;
    }
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      // A leftover empty temp file is harmless; the command's outcome matters more.
    }
  }
}
