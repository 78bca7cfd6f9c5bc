package dev.offload.storage;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** The embedded PostgreSQL of a single-node server, on a data directory kept between runs. */
final class EmbeddedServer {

  private EmbeddedServer() {}

  static EmbeddedPostgres start(Path dataDir, int port, Duration startupTimeout) {
    // Absolute, so the postmaster's command line names the directory StalePostmaster looks for.
    Path dir = dataDir.toAbsolutePath().normalize();
    try {
      Files.createDirectories(dir);
      StalePostmaster.clear(dir, startupTimeout);
      return EmbeddedPostgres.builder()
          .setDataDirectory(dir)
          .setCleanDataDirectory(false)
          .setPort(port)
          // The library turns both off for throwaway test databases; an acknowledged event must
          // survive a crash.
          .setServerConfig("fsync", "on")
          .setServerConfig("synchronous_commit", "on")
          .setPGStartupWait(startupTimeout)
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException("could not start the embedded PostgreSQL in " + dir, e);
    }
  }
}
