package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigStoreTest {

  @Test
  void theTokenIsReadableByItsOwnerOnly() throws Exception {
    Path home = Cli.temp("offload-config");
    ConfigStore store = ConfigStore.from(Map.of("XDG_CONFIG_HOME", home.toString()));
    store.save(new ConfigStore.Config("https://offload.example.com", "secret-token", null, "acme"));

    assertEquals(home.resolve("offload/config.json"), store.configFile());
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(store.configFile())));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(store.dir())));
    assertEquals(new ConfigStore.Config("https://offload.example.com", "secret-token", null, "acme"), store.load().orElseThrow());

    store.save(new ConfigStore.Config("https://other.example.com", "t2", null, null));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(store.configFile())),
        "an overwritten config stays owner-only");
    try (var files = Files.list(store.dir())) {
      assertEquals(1, files.count(), "no temporary file is left behind");
    }
  }

  @Test
  void defaultsToDotConfigUnderHome() {
    ConfigStore store = ConfigStore.from(Map.of("HOME", "/home/alice"));
    assertEquals(Path.of("/home/alice/.config/offload/config.json"), store.configFile());
  }

  @Test
  void bridgeStateAndPidFileComeAndGoTogether() throws Exception {
    ConfigStore store = new ConfigStore(Cli.temp("offload-state").resolve("offload"));
    store.saveState(new ConfigStore.BridgeState("s1", 2375, 42L));
    assertEquals(new ConfigStore.BridgeState("s1", 2375, 42L), store.state().orElseThrow());
    assertEquals("42", Files.readString(store.pidFile()).trim());
    store.clearState();
    assertTrue(store.state().isEmpty());
    assertFalse(Files.exists(store.pidFile()));
  }

  @Test
  void aMissingLoginSaysHowToLogIn() {
    ConfigStore store = new ConfigStore(Cli.temp("offload-empty").resolve("offload"));
    CliFailure e = assertThrows(CliFailure.class, store::require);
    assertTrue(e.getMessage().contains("offload login --server URL --token TOKEN"), e.getMessage());
  }
}
