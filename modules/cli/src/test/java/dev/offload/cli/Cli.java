package dev.offload.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;

/** The CLI run in this JVM with its own config directory and no docker on the PATH. */
final class Cli {
  record Run(int exit, String out, String err) {
    JsonNode json() {
      try {
        return ConfigStore.JSON.readTree(out);
      } catch (IOException e) {
        throw new AssertionError("not JSON (exit " + exit + ", stderr " + err + "): " + out, e);
      }
    }

    @Override
    public String toString() {
      return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
  }

  private final Path configHome;

  Cli(Path configHome) {
    this.configHome = configHome;
  }

  ConfigStore store() {
    return new ConfigStore(configHome.resolve("offload"));
  }

  Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    Map<String, String> env = Map.of("XDG_CONFIG_HOME", configHome.toString(), "HOME", configHome.toString(), "PATH", "");
    int exit = Offload.execute(env, new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new Run(exit, out.toString(), err.toString());
  }

  static Path temp(String prefix) {
    try {
      return java.nio.file.Files.createTempDirectory(prefix);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
