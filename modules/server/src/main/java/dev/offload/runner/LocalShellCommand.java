package dev.offload.runner;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import org.apache.sshd.server.Environment;
import org.apache.sshd.server.ExitCallback;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.apache.sshd.server.command.CommandFactory;

/**
 * An exec channel on a local runner: the command runs with {@code /bin/sh -c} on this host, as it
 * would on the VM a local runner stands in for, in the runner's own directory and against the
 * local engine target. {@code <data-dir>/runners/bin} comes first on the PATH so tests can put a
 * recording {@code docker} there.
 */
final class LocalShellCommand implements Command {

  /** Runs every exec request of one runner in {@code workDir}. */
  record Factory(Path workDir, Path binDir, String engineTarget, Executor pumps)
      implements CommandFactory {
    @Override
    public Command createCommand(ChannelSession channel, String command) {
      return new LocalShellCommand(command, this);
    }
  }

  private final String command;
  private final Factory runner;
  private InputStream in;
  private OutputStream out;
  private OutputStream err;
  private ExitCallback exit;
  private volatile Process process;

  private LocalShellCommand(String command, Factory runner) {
    this.command = command;
    this.runner = runner;
  }

  @Override
  public void start(ChannelSession channel, Environment env) throws IOException {
    Files.createDirectories(runner.workDir());
    ProcessBuilder builder = new ProcessBuilder("/bin/sh", "-c", command).directory(runner.workDir().toFile());
    Map<String, String> environment = builder.environment();
    if (Files.isDirectory(runner.binDir())) {
      environment.put("PATH", runner.binDir() + ":" + environment.getOrDefault("PATH", "/usr/bin:/bin"));
    }
    environment.put("DOCKER_HOST", runner.engineTarget());
    Process started = builder.start();
    process = started;
    CountDownLatch outputs = new CountDownLatch(2);
    runner.pumps().execute(() -> copy(started.getInputStream(), out, outputs));
    runner.pumps().execute(() -> copy(started.getErrorStream(), err, outputs));
    runner.pumps().execute(() -> feed(started));
    runner.pumps().execute(() -> {
      try {
        int status = started.waitFor();
        outputs.await();
        exit.onExit(status);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        exit.onExit(255, "interrupted");
      }
    });
  }

  private static void copy(InputStream from, OutputStream to, CountDownLatch done) {
    try (from) {
      byte[] buffer = new byte[32 * 1024];
      for (int n; (n = from.read(buffer)) >= 0; ) {
        to.write(buffer, 0, n);
        to.flush();
      }
    } catch (IOException e) {
      // The client went away or the process was killed: either way there is nobody left to tell.
    } finally {
      done.countDown();
    }
  }

  private void feed(Process started) {
    try (OutputStream stdin = started.getOutputStream()) {
      in.transferTo(stdin);
    } catch (IOException e) {
      // The process closed its input or ended; the channel's input is of no further use.
    }
  }

  /** The channel closed (the client stopped reading, e.g. a tracker's {@code docker events}). */
  @Override
  public void destroy(ChannelSession channel) {
    Process running = process;
    if (running != null) {
      running.descendants().forEach(ProcessHandle::destroyForcibly);
      running.destroyForcibly();
    }
  }

  @Override
  public void setInputStream(InputStream in) {
    this.in = in;
  }

  @Override
  public void setOutputStream(OutputStream out) {
    this.out = out;
  }

  @Override
  public void setErrorStream(OutputStream err) {
    this.err = err;
  }

  @Override
  public void setExitCallback(ExitCallback callback) {
    this.exit = callback;
  }
}
