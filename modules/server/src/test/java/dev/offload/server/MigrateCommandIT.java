package dev.offload.server;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@code bin/offload-server migrate} brings the schema up to date and exits, serving nothing. */
class MigrateCommandIT {

  @Test
  void migrateCreatesTheSchemaAndExits() throws Exception {
    Path workDir = Files.createTempDirectory("offload-migrate");
    for (int run = 1; run <= 2; run++) { // the second run finds nothing to do
      Process migrate = new ProcessBuilder(ServerProcess.repositoryRoot().resolve("bin/offload-server").toString(), "migrate")
          .directory(workDir.toFile()).redirectErrorStream(true).start();
      assertTrue(migrate.waitFor(120, TimeUnit.SECONDS), "migrate finishes");
      String out = new String(migrate.getInputStream().readAllBytes());
      assertEquals(0, migrate.exitValue(), out);
      assertTrue(out.contains("Database schema is up to date."), out);
    }
    assertTrue(Files.isDirectory(workDir.resolve("data/pg")), "the embedded database lives in ./data/pg");

    Process wrong = new ProcessBuilder(ServerProcess.repositoryRoot().resolve("bin/offload-server").toString(), "serve-twice")
        .directory(workDir.toFile()).redirectErrorStream(true).start();
    assertTrue(wrong.waitFor(60, TimeUnit.SECONDS));
    assertEquals(2, wrong.exitValue());
    assertTrue(new String(wrong.getInputStream().readAllBytes()).contains("usage: offload-server [migrate]"));
  }
}
