package dev.offload.storage;

import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pid-file rules on their own: PostgreSQL's own check is lenient in some setups (run through
 * {@code unshare -U}, it cannot signal other users' processes and takes them for gone), so the
 * end-to-end tests alone would not notice these rules breaking.
 */
class StalePostmasterTest {

  @TempDir Path dataDir;

  @Test
  void removesAPidFileOfAProcessThatIsGone() throws Exception {
    Process finished = new ProcessBuilder(javaBinary(), "-version").start();
    finished.waitFor();
    Path pidFile = pidFile(finished.pid());

    StalePostmaster.clear(dataDir, Duration.ofSeconds(10));

    assertFalse(Files.exists(pidFile));
  }

  @Test
  void removesAPidFileNamingAnotherProgram() throws Exception {
    Path pidFile = pidFile(ProcessHandle.current().pid());

    StalePostmaster.clear(dataDir, Duration.ofSeconds(10));

    assertFalse(Files.exists(pidFile));
  }

  @Test
  void removesAPidFileWithoutAPid() throws Exception {
    Path pidFile = dataDir.resolve("postmaster.pid");
    Files.writeString(pidFile, "");

    StalePostmaster.clear(dataDir, Duration.ofSeconds(10));

    assertFalse(Files.exists(pidFile));
  }

  private Path pidFile(long pid) throws Exception {
    return Files.write(
        dataDir.resolve("postmaster.pid"), List.of(Long.toString(pid), dataDir.toString()));
  }

  private static String javaBinary() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }
}
