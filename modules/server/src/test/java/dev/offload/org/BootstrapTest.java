package dev.offload.org;

import static dev.offload.org.Stages.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.offload.storage.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BootstrapTest {

  private static final ExecutorService blocking = Executors.newFixedThreadPool(2);

  @TempDir Path dataDir;

  @AfterAll
  static void stopExecutor() {
    blocking.shutdown();
  }

  /** A fresh repository, as after a restart: it knows the operator token only from Bootstrap. */
  private static Organisations restartedOrganisations() {
    return new Organisations(
        TestDatabase.get().dataSource(), blocking, Clock.systemUTC(), List.of("standard"));
  }

  private static Config operatorToken(String token) {
    return ConfigFactory.parseMap(Map.of("offload.auth.operator-token", token))
        .withFallback(ConfigFactory.defaultReference());
  }

  @Test
  void generatesTheOperatorTokenOnceIntoAnOwnerOnlyFile() throws Exception {
    Organisations first = restartedOrganisations();

    Bootstrap.Result generated = Bootstrap.run(first, operatorToken(""), dataDir, false);

    assertNotNull(generated.operatorToken());
    assertTrue(generated.operatorToken().startsWith("ofl_"));
    assertEquals(dataDir.resolve("operator-token"), generated.operatorTokenFile());
    assertEquals(
        generated.operatorToken(), Files.readString(generated.operatorTokenFile()).strip());
    assertEquals(
        PosixFilePermissions.fromString("rw-------"),
        Files.getPosixFilePermissions(generated.operatorTokenFile()));
    assertTrue(isOperator(first, generated.operatorToken()));
    assertFalse(generated.toString().contains(generated.operatorToken()));

    Organisations second = restartedOrganisations();
    Bootstrap.Result again = Bootstrap.run(second, operatorToken(""), dataDir, false);

    assertNull(again.operatorToken(), "printed only when generated");
    assertTrue(isOperator(second, generated.operatorToken()));
    assertEquals(generated.operatorToken(), Files.readString(again.operatorTokenFile()).strip());
  }

  @Test
  void takesTheConfiguredOperatorTokenWithoutWritingIt() throws Exception {
    Organisations orgs = restartedOrganisations();

    Bootstrap.Result result =
        Bootstrap.run(orgs, operatorToken("configured-operator-secret"), dataDir, false);

    assertNull(result.operatorToken());
    assertNull(result.operatorTokenFile());
    assertFalse(Files.exists(dataDir.resolve("operator-token")));
    assertTrue(isOperator(orgs, "configured-operator-secret"));
  }

  @Test
  void providesTheDevOrganisationOnceAndReissuesARevokedDevToken() throws Exception {
    Organisations orgs = restartedOrganisations();

    Bootstrap.Result first = Bootstrap.run(orgs, operatorToken(""), dataDir, true);

    Path devTokenFile = dataDir.resolve("dev-token");
    assertEquals(devTokenFile, first.devTokenFile());
    assertEquals(first.devToken(), Files.readString(devTokenFile).strip());
    assertEquals(
        PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(devTokenFile));
    Principal dev = result(orgs.authenticate(first.devToken())).orElseThrow();
    assertTrue(dev.isOwnerOf("default"));
    assertEquals("dev", dev.user());
    int devTokens = devTokens();

    Bootstrap.Result second =
        Bootstrap.run(restartedOrganisations(), operatorToken(""), dataDir, true);

    assertEquals(first.devToken(), second.devToken());
    assertEquals(devTokens, devTokens());

    result(orgs.revokeToken("default", dev.tokenId()));
    Bootstrap.Result third =
        Bootstrap.run(restartedOrganisations(), operatorToken(""), dataDir, true);

    assertNotEquals(first.devToken(), third.devToken());
    assertEquals(third.devToken(), Files.readString(devTokenFile).strip());
    assertTrue(result(orgs.authenticate(third.devToken())).isPresent());
    assertEquals(devTokens + 1, devTokens());
  }

  @Test
  void providesNoDevOrganisationWithoutDevDefaults() {
    Bootstrap.Result result =
        Bootstrap.run(restartedOrganisations(), operatorToken(""), dataDir, false);

    assertNull(result.devToken());
    assertNull(result.devTokenFile());
    assertFalse(Files.exists(dataDir.resolve("dev-token")));
  }

  private static boolean isOperator(Organisations orgs, String token) throws Exception {
    Optional<Principal> principal = result(orgs.authenticate(token));
    return principal.map(Principal::isOperator).orElse(false);
  }

  private static int devTokens() throws Exception {
    try (Connection c = TestDatabase.get().dataSource().getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT count(*) FROM tokens WHERE org = 'default' AND user_name = 'dev'");
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      return rs.getInt(1);
    }
  }
}
