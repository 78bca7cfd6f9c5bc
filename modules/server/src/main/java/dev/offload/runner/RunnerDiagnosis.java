package dev.offload.runner;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

/**
 * The server side of {@code diagnose} for one runner: can the control plane reach it over SSH with
 * its pinned host key, and does its engine answer. A host-key mismatch names the runner and both
 * fingerprints, which is what an operator needs to tell a rebuilt host from an impostor.
 */
public final class RunnerDiagnosis {

  public record Check(String name, boolean ok, String detail) {}

  static final String REACHABLE = "runner reachable over SSH";
  static final String ENGINE = "engine answers";
  /** What tunnels open: the health command can answer while the engine's socket path is wrong. */
  static final String ENGINE_TARGET = "engine target opens";

  private final SshConnections ssh;
  private final RunnerCommands commands;
  private final String healthCommand;
  private final Duration timeout;

  public RunnerDiagnosis(SshConnections ssh, RunnerCommands commands, String healthCommand, Duration timeout) {
    this.ssh = ssh;
    this.commands = commands;
    this.healthCommand = healthCommand;
    this.timeout = timeout;
  }

  public CompletionStage<List<Check>> diagnose(RunnerInfo runner) {
    return ssh.verify(runner).handle((ok, failure) -> failure).thenCompose(failure -> {
      if (failure != null) {
        return CompletableFuture.completedFuture(List.of(
            new Check(REACHABLE, false, cause(failure).getMessage()),
            new Check(ENGINE, false, "not checked: runner " + runner.id() + " is not reachable over SSH"),
            new Check(ENGINE_TARGET, false, "not checked: runner " + runner.id() + " is not reachable over SSH")));
      }
      Check reachable = new Check(REACHABLE, true,
          "runner " + runner.id() + " at " + runner.host() + ":" + runner.port() + " presented "
              + runner.hostKeyFingerprint());
      CompletionStage<Check> socket = ssh.probeEngine(runner).handle((ok, error) -> error == null
          ? new Check(ENGINE_TARGET, true, "a channel to " + runner.engineTarget() + " opens")
          : new Check(ENGINE_TARGET, false, cause(error).getMessage()));
      return commands.run(runner, healthCommand, timeout).handle((result, error) ->
          error != null
              ? new Check(ENGINE, false, cause(error).getMessage())
              : result.ok()
                  ? new Check(ENGINE, true, "engine " + result.stdout().strip())
                  : new Check(ENGINE, false,
                      "the engine did not answer (" + result.describe() + "); running containers count as zero"))
          .thenCombine(socket, (engine, target) -> List.of(reachable, engine, target));
    });
  }

  private static Throwable cause(Throwable failure) {
    return failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
  }
}
