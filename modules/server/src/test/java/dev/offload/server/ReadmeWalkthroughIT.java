package dev.offload.server;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The README's run command starts the server on a fresh data directory, and its walk-through
 * works as written (only the port differs, so a developer's own server on 8080 is left alone).
 */
class ReadmeWalkthroughIT {

  @Test
  void theWalkthroughWorksAsWritten() throws Exception {
    Assumptions.assumeTrue(onPath("curl"), "curl is not installed: the README walk-through uses it (skipped)");
    String readme = Files.readString(ServerProcess.repositoryRoot().resolve("README.md"));
    assertTrue(readme.contains("bin/offload-server     # run"), "the README's first command runs the server");
    String walkthrough = walkthrough(readme);

    Path workDir = Files.createTempDirectory("offload-readme");
    int port = ServerProcess.freePort();
    try (ServerProcess server = ServerProcess.start(workDir, port, "", Map.of())) {
      assertTrue(server.output().contains("offload login --server"), "it prints how to log in:\n" + server.output());
      Path script = workDir.resolve("walkthrough.sh");
      Files.writeString(script, "set -euo pipefail\n" + walkthrough.replace("127.0.0.1:8080", "127.0.0.1:" + port));
      Process bash = new ProcessBuilder("bash", script.toString()).directory(workDir.toFile())
          .redirectErrorStream(true).start();
      assertTrue(bash.waitFor(120, TimeUnit.SECONDS), "the walk-through finishes");
      String out = new String(bash.getInputStream().readAllBytes());
      assertEquals(0, bash.exitValue(), out);
      assertTrue(out.contains("\"id\":\"acme\""), out);
      assertTrue(out.matches("(?s).*event: ?state.*"), "the event stream was watched: " + out);
      assertTrue(out.contains("\"state\":\"provisioning\"") || out.contains("\"state\":\"active\"")
          || out.contains("\"state\":\"grace-period\""), out);
      assertTrue(out.contains("\"state\":\"terminated\""), out);
    }
  }

  private static String walkthrough(String readme) {
    int section = readme.indexOf("## Five minutes with the API");
    assertTrue(section >= 0, "the README has its walk-through");
    Matcher block = Pattern.compile("```sh\\n(.*?)```", Pattern.DOTALL).matcher(readme.substring(section));
    assertTrue(block.find(), "the walk-through is a sh block");
    return block.group(1);
  }

  private static boolean onPath(String command) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (Files.isExecutable(Path.of(dir, command))) return true;
    }
    return false;
  }
}
