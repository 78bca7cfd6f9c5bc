package dev.offload.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Clears the way for the embedded PostgreSQL when the previous server did not stop it. The
 * postmaster runs detached from the JVM, so a JVM killed with SIGKILL leaves it running and holding
 * the port and the data directory; after a machine crash the pid in {@code postmaster.pid} may
 * belong to an unrelated process, and PostgreSQL refuses to start while that process lives.
 */
final class StalePostmaster {

  private static final Logger log = LoggerFactory.getLogger(StalePostmaster.class);

  private StalePostmaster() {}

  /** Stops a postmaster still serving {@code dataDir}, or removes a pid file nobody owns. */
  static void clear(Path dataDir, Duration stopTimeout) throws IOException {
    Path pidFile = dataDir.resolve("postmaster.pid");
    if (!Files.exists(pidFile)) {
      return;
    }
    Optional<ProcessHandle> process =
        pidIn(pidFile).stream()
            .mapToObj(ProcessHandle::of)
            .flatMap(Optional::stream)
            .filter(ProcessHandle::isAlive)
            .findFirst();
    if (process.isEmpty()) {
      log.warn("Removing {}: its process is gone", pidFile);
      Files.deleteIfExists(pidFile);
      return;
    }
    ProcessHandle.Info info = process.get().info();
    if (info.command().isEmpty() || info.arguments().isEmpty()) {
      // Cannot see whose process it is: PostgreSQL's own check decides, and refuses if it is alive.
      return;
    }
    if (servesDataDir(info.command().get(), List.of(info.arguments().get()), dataDir)) {
      stop(process.get(), dataDir, stopTimeout);
    } else {
      log.warn("Removing {}: pid {} is now another program", pidFile, process.get().pid());
      Files.deleteIfExists(pidFile);
    }
  }

  private static OptionalLong pidIn(Path pidFile) throws IOException {
    List<String> lines = Files.readAllLines(pidFile);
    try {
      return lines.isEmpty()
          ? OptionalLong.empty()
          : OptionalLong.of(Long.parseLong(lines.get(0).trim()));
    } catch (NumberFormatException e) {
      return OptionalLong.empty();
    }
  }

  private static boolean servesDataDir(String command, List<String> arguments, Path dataDir) {
    String program = Path.of(command).getFileName().toString();
    if (!program.equals("postgres") && !program.equals("postgres.exe")) {
      return false;
    }
    // EmbeddedServer always passes the absolute, normalised path, so it appears verbatim.
    return arguments.contains(dataDir.toAbsolutePath().normalize().toString());
  }

  /**
   * SIGTERM is PostgreSQL's smart shutdown: it waits for open sessions, and those of a killed JVM
   * are already closed, so it ends with a clean checkpoint and no recovery at the next start.
   */
  private static void stop(ProcessHandle postmaster, Path dataDir, Duration timeout) {
    log.warn(
        "Stopping PostgreSQL (pid {}) left running on {} by an earlier server",
        postmaster.pid(),
        dataDir);
    postmaster.destroy();
    try {
      postmaster.onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new IllegalStateException(
          String.format(
              "PostgreSQL (pid %d) left running on %s did not stop within %d s; disconnect its"
                  + " clients or run pg_ctl -D %s stop -m fast, then start again",
              postmaster.pid(), dataDir, timeout.toSeconds(), dataDir));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while stopping PostgreSQL on " + dataDir, e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("could not stop PostgreSQL on " + dataDir, e.getCause());
    }
  }
}
