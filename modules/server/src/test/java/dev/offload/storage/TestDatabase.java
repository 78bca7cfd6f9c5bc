package dev.offload.storage;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One embedded PostgreSQL per test JVM, migrated, in a temporary directory removed at exit. Tests
 * share it, so each test uses ids of its own instead of expecting empty tables.
 */
public final class TestDatabase {

  private static Database database;
  private static Path dataDir;

  private TestDatabase() {}

  public static synchronized Database get() {
    if (database == null) {
      try {
        dataDir = Files.createTempDirectory("offload-test-db");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      database = Database.start(config(dataDir));
      Runtime.getRuntime().addShutdownHook(new Thread(TestDatabase::stop, "test-database-stop"));
    }
    return database;
  }

  /** The persistence fragment for an ActorSystem under test, over the product's reference.conf. */
  public static Config akkaConfig() {
    return get().akkaPersistenceConfig();
  }

  /**
   * The product configuration with an embedded database in {@code dataDir}, whatever the
   * environment says.
   */
  public static Config config(Path dataDir) {
    return ConfigFactory.parseMap(
            Map.of(
                "offload.data-dir",
                dataDir.toString(),
                "offload.db.url",
                "",
                "offload.db.pool-size",
                4,
                "offload.db.journal-pool-size",
                4))
        .withFallback(ConfigFactory.defaultReference())
        .resolve();
  }

  private static synchronized void stop() {
    // The library's own shutdown hook may be stopping PostgreSQL right now; delete only once it is
    // gone.
    Optional<ProcessHandle> postmaster = postmaster(dataDir.resolve("pg"));
    database.close();
    postmaster.ifPresent(p -> p.onExit().orTimeout(30, TimeUnit.SECONDS).join());
    try (Stream<Path> files = Files.walk(dataDir)) {
      files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The running postmaster of a data directory, from its {@code postmaster.pid}. */
  public static Optional<ProcessHandle> postmaster(Path pgDir) {
    Path pidFile = pgDir.resolve("postmaster.pid");
    try {
      if (!Files.exists(pidFile)) {
        return Optional.empty();
      }
      return ProcessHandle.of(Long.parseLong(Files.readAllLines(pidFile).get(0).trim()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
