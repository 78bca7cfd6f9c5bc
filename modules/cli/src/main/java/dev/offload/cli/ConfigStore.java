package dev.offload.cli;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Optional;

/**
 * The client's files under {@code $XDG_CONFIG_HOME/offload} (default {@code ~/.config/offload}):
 * the login (server, token, trusted CA, organisation), the current session's bridge state and the
 * detached bridge's pid file and log. The directory is 0700 and every file 0600: the token is a
 * credential.
 */
final class ConfigStore {
  static final ObjectMapper JSON = new ObjectMapper();

  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonIgnoreProperties(ignoreUnknown = true)
  record Config(String server, String token, String ca, String org) {}

  /** The session the bridge serves and its local port; {@code pid} only for a detached bridge. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonIgnoreProperties(ignoreUnknown = true)
  record BridgeState(String session, int port, Long pid) {}

  private final Path dir;

  ConfigStore(Path dir) {
    this.dir = dir;
  }

  static ConfigStore from(Map<String, String> env) {
    String xdg = env.get("XDG_CONFIG_HOME");
    Path base = xdg != null && !xdg.isBlank()
        ? Path.of(xdg)
        : Path.of(env.getOrDefault("HOME", System.getProperty("user.home")), ".config");
    return new ConfigStore(base.resolve("offload"));
  }

  Path dir() {
    return dir;
  }

  Path configFile() {
    return dir.resolve("config.json");
  }

  Path stateFile() {
    return dir.resolve("bridge.json");
  }

  Path pidFile() {
    return dir.resolve("bridge.pid");
  }

  Path logFile() {
    return dir.resolve("bridge.log");
  }

  Optional<Config> load() {
    return read(configFile(), Config.class);
  }

  Config require() {
    return load().orElseThrow(() -> new CliFailure(
        "not logged in (no " + configFile() + "): run offload login --server URL --token TOKEN"));
  }

  void save(Config config) {
    write(configFile(), config);
  }

  Optional<BridgeState> state() {
    return read(stateFile(), BridgeState.class);
  }

  void saveState(BridgeState state) {
    write(stateFile(), state);
    if (state.pid() != null) write(pidFile(), state.pid() + "\n");
  }

  void clearState() {
    try {
      Files.deleteIfExists(stateFile());
      Files.deleteIfExists(pidFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private <T> Optional<T> read(Path file, Class<T> type) {
    if (!Files.exists(file)) return Optional.empty();
    try {
      return Optional.of(JSON.readValue(file.toFile(), type));
    } catch (IOException e) {
      throw new CliFailure(file + " is not readable (" + e.getMessage().lines().findFirst().orElse("")
          + "): delete it and run offload login again");
    }
  }

  private void write(Path file, Object content) {
    try {
      ensureDirectory();
      // Created 0600 before the first byte is written, then moved into place: never briefly readable.
      Path temp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp",
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      if (content instanceof String text) Files.writeString(temp, text);
      else JSON.writerWithDefaultPrettyPrinter().writeValue(temp.toFile(), content);
      Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new CliFailure("cannot write " + file + " (" + e.getMessage() + "): check the permissions of " + dir);
    }
  }

  private void ensureDirectory() throws IOException {
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
  }
}
