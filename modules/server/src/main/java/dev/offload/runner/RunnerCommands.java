package dev.offload.runner;

import com.jcraft.jsch.ChannelExec;
import com.jcraft.jsch.JSchException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

/**
 * Commands run on a runner over an SSH exec channel of its kept connection (wipe, health): no new
 * handshake per command, and the blocking JSch I/O stays on the blocking dispatcher.
 */
public final class RunnerCommands {

  /** What a command printed and how it ended; {@code exitStatus} is -1 when it never reported one. */
  public record Result(int exitStatus, String stdout, String stderr) {
    public boolean ok() {
      return exitStatus == 0;
    }

    /** For errors: the exit status and the last line the command wrote to stderr. */
    public String describe() {
      String[] lines = stderr.strip().split("\n");
      return "exit status " + exitStatus + (lines[lines.length - 1].isEmpty() ? "" : ": " + lines[lines.length - 1]);
    }
  }

  private static final int OPEN_MILLIS = 10_000;
  private static final long EXIT_STATUS_WAIT_NANOS = TimeUnit.SECONDS.toNanos(5);

  private final SshConnections ssh;
  private final Executor blocking;

  public RunnerCommands(SshConnections ssh, Executor blocking) {
    this.ssh = ssh;
    this.blocking = blocking;
  }

  /** Fails when the runner cannot be reached or the command outlives {@code timeout}. */
  public CompletionStage<Result> run(RunnerInfo runner, String command, Duration timeout) {
    // The deadline covers reaching the runner too: a half-dead connection must not hold a health
    // check past its interval.
    return CompletableFuture.supplyAsync(() -> runBlocking(runner, command, timeout), blocking)
        .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .exceptionallyCompose(failure -> CompletableFuture.failedFuture(failure instanceof TimeoutException
            ? new IllegalStateException("runner " + runner.id() + " did not answer within " + timeout)
            : failure));
  }

  private Result runBlocking(RunnerInfo runner, String command, Duration timeout) {
    ChannelExec channel = null;
    CompletableFuture<Void> watchdog = new CompletableFuture<>();
    try {
      channel = (ChannelExec) ssh.session(runner).openChannel("exec");
      channel.setCommand(command);
      ByteArrayOutputStream stderr = new ByteArrayOutputStream();
      channel.setErrStream(stderr, true);
      InputStream stdout = channel.getInputStream();
      channel.connect(Math.toIntExact(Math.min(OPEN_MILLIS, timeout.toMillis())));
      ChannelExec open = channel;
      // Closing the channel unblocks the read below, which is how a hanging command ends.
      watchdog.completeOnTimeout(null, timeout.toMillis(), TimeUnit.MILLISECONDS)
          .thenRun(open::disconnect);
      byte[] out = stdout.readAllBytes();
      awaitExitStatus(channel);
      if (watchdog.isDone() && channel.getExitStatus() < 0) {
        throw new IllegalStateException(
            "command on runner " + runner.id() + " did not finish within " + timeout);
      }
      return new Result(channel.getExitStatus(), new String(out, StandardCharsets.UTF_8),
          stderr.toString(StandardCharsets.UTF_8));
    } catch (JSchException | IOException e) {
      throw new IllegalStateException(
          "cannot run a command on runner " + runner.id() + ": " + e.getMessage(), e);
    } finally {
      watchdog.cancel(false);
      if (channel != null) {
        channel.disconnect();
      }
    }
  }

  /** The exit status follows the end of output on the wire; JSch records it when the channel closes. */
  private static void awaitExitStatus(ChannelExec channel) {
    long deadline = System.nanoTime() + EXIT_STATUS_WAIT_NANOS;
    while (!channel.isClosed() && System.nanoTime() < deadline) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
    }
  }
}
