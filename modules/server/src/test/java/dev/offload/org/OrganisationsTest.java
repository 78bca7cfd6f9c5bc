package dev.offload.org;

import static dev.offload.org.Stages.refusal;
import static dev.offload.org.Stages.result;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.ClientError;
import dev.offload.ClientError.Code;
import dev.offload.storage.TestDatabase;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class OrganisationsTest {

  private static final ExecutorService blocking = Executors.newFixedThreadPool(4);
  private static final Instant now = Instant.parse("2025-03-01T10:15:30.123456Z");
  private static final Organisations orgs =
      new Organisations(
          TestDatabase.get().dataSource(),
          blocking,
          Clock.fixed(now, ZoneOffset.UTC),
          List.of("standard", "gpu"));

  @AfterAll
  static void stopExecutor() {
    blocking.shutdown();
  }

  static String newOrgId() {
    return "org-" + UUID.randomUUID().toString().substring(0, 13);
  }

  @Test
  void createsAndGetsAnOrganisation() throws Exception {
    String id = newOrgId();

    Organisation created = result(orgs.create(id, "Acme Corp"));

    assertEquals(new Organisation(id, "Acme Corp", now), created);
    assertEquals(created, result(orgs.get(id)));
  }

  @Test
  void namesAnOrganisationAfterItsIdWhenNoNameIsGiven() throws Exception {
    String id = newOrgId();

    assertEquals(id, result(orgs.create(id, null)).name());
  }

  @Test
  void acceptsTheLongestId() throws Exception {
    String id =
        ("long-" + UUID.randomUUID().toString().replace("-", "") + "-padding").substring(0, 39);

    assertEquals(id, result(orgs.create(id, null)).id());
  }

  @Test
  void refusesAnIdThatExists() throws Exception {
    String id = newOrgId();
    result(orgs.create(id, "First"));

    ClientError refused = refusal(orgs.create(id, "Second"));

    assertEquals(Code.CONFLICT, refused.code());
    assertEquals("First", result(orgs.get(id)).name());
  }

  @ParameterizedTest
  @NullAndEmptySource
  @ValueSource(
      strings = {
        "a",
        "-acme",
        "Acme",
        "acme_corp",
        "acme corp",
        "../acme",
        "acme/x",
        "a1234567890123456789012345678901234567890"
      })
  void refusesAnInvalidId(String id) {
    ClientError refused = refusal(orgs.create(id, null));

    assertEquals(Code.INVALID_ARGUMENT, refused.code());
    assertEquals("id", refused.field());
  }

  @Test
  void refusesAnOverlongName() {
    ClientError refused = refusal(orgs.create(newOrgId(), "x".repeat(201)));

    assertEquals("name", refused.field());
  }

  @Test
  void reportsAnUnknownOrganisationAsNotFound() {
    assertEquals(Code.NOT_FOUND, refusal(orgs.get(newOrgId())).code());
  }

  @Test
  void issuedTokensAuthenticateTheirUserUntilRevoked() throws Exception {
    String org = newOrgId();
    result(orgs.create(org, null));

    IssuedToken alice = result(orgs.issueToken(org, "alice", Role.MEMBER));
    IssuedToken bob = result(orgs.issueToken(org, "bob.smith", Role.OWNER));

    assertTrue(alice.token().startsWith("ofl_"), alice.token());
    assertEquals(
        Optional.of(new Principal(Role.MEMBER, org, "alice", alice.id())),
        result(orgs.authenticate(alice.token())));
    Principal owner = result(orgs.authenticate(bob.token())).orElseThrow();
    assertTrue(owner.isOwnerOf(org));
    assertTrue(owner.belongsTo(org));
    assertFalse(owner.isOwnerOf(newOrgId()));

    result(orgs.revokeToken(org, alice.id()));

    assertEquals(Optional.empty(), result(orgs.authenticate(alice.token())));
    assertTrue(result(orgs.authenticate(bob.token())).isPresent());
  }

  @Test
  void revokingTwiceIsHarmlessButUnknownTokensAreNotFound() throws Exception {
    String org = newOrgId();
    String other = newOrgId();
    result(orgs.create(org, null));
    result(orgs.create(other, null));
    IssuedToken token = result(orgs.issueToken(org, "alice", Role.MEMBER));

    assertEquals(Code.NOT_FOUND, refusal(orgs.revokeToken(other, token.id())).code());
    assertTrue(result(orgs.authenticate(token.token())).isPresent());
    result(orgs.revokeToken(org, token.id()));
    result(orgs.revokeToken(org, token.id()));
    assertEquals(Code.NOT_FOUND, refusal(orgs.revokeToken(org, "tok_unknown")).code());
  }

  @ParameterizedTest
  @NullAndEmptySource
  @ValueSource(strings = {"  ", "ofl_not-a-real-token", "Bearer"})
  void authenticatesNobodyWithoutAValidToken(String token) throws Exception {
    assertEquals(Optional.empty(), result(orgs.authenticate(token)));
  }

  @Test
  void authenticatesTheOperator() throws Exception {
    Organisations withOperator =
        new Organisations(
            TestDatabase.get().dataSource(), blocking, Clock.systemUTC(), List.of("standard"));
    withOperator.setOperatorTokenHash(Secrets.sha256("operator-secret"));

    Principal operator = result(withOperator.authenticate("operator-secret")).orElseThrow();

    assertTrue(operator.isOperator());
    assertFalse(operator.belongsTo("default"));
    assertEquals(Optional.empty(), result(withOperator.authenticate("operator-secreT")));
  }

  @Test
  void storesTokensOnlyAsHashes() throws Exception {
    String org = newOrgId();
    result(orgs.create(org, null));
    IssuedToken issued = result(orgs.issueToken(org, "alice", Role.OWNER));
    String secretPart = issued.token().substring("ofl_".length());

    try (Connection c = TestDatabase.get().dataSource().getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT * FROM tokens WHERE org = ?")) {
      ps.setString(1, org);
      try (ResultSet rs = ps.executeQuery()) {
        assertTrue(rs.next());
        for (int column = 1; column <= rs.getMetaData().getColumnCount(); column++) {
          String text = String.valueOf(rs.getString(column));
          assertFalse(text.contains(secretPart), rs.getMetaData().getColumnName(column));
          byte[] bytes = rs.getBytes(column);
          assertFalse(
              bytes != null && new String(bytes, StandardCharsets.ISO_8859_1).contains(secretPart),
              rs.getMetaData().getColumnName(column));
        }
        assertArrayEquals(Secrets.sha256(issued.token()), rs.getBytes("token_hash"));
        assertFalse(rs.next());
      }
    }
    assertFalse(issued.toString().contains(secretPart));
  }

  @Test
  void refusesInvalidUsersAndRoles() throws Exception {
    String org = newOrgId();
    result(orgs.create(org, null));

    for (String user : new String[] {null, "", "Alice", "alice smith", "al/ice", "a".repeat(65)}) {
      ClientError refused = refusal(orgs.issueToken(org, user, Role.MEMBER));
      assertEquals("user", refused.field(), String.valueOf(user));
    }
    for (Role role : new Role[] {null, Role.OPERATOR}) {
      ClientError refused = refusal(orgs.issueToken(org, "alice", role));
      assertEquals("role", refused.field(), String.valueOf(role));
    }
    assertEquals(List.of(), result(orgs.orgsOf("alice")).stream().filter(org::equals).toList());
  }

  @Test
  void issuesNoTokenForAnUnknownOrganisation() throws Exception {
    String user = "ghost-" + UUID.randomUUID();

    assertEquals(Code.NOT_FOUND, refusal(orgs.issueToken(newOrgId(), user, Role.OWNER)).code());
    assertEquals(List.of(), result(orgs.orgsOf(user)));
  }

  @Test
  void knowsTheOrganisationsOfAUserAndTheirIdleTimeout() throws Exception {
    String user = "carol-" + UUID.randomUUID();
    List<String> joined = new ArrayList<>(List.of(newOrgId(), newOrgId()));
    for (String org : joined) {
      result(orgs.create(org, null));
      result(orgs.issueToken(org, user, Role.MEMBER));
    }
    result(orgs.issueToken(joined.get(0), user, Role.OWNER));

    assertEquals(joined.stream().sorted().toList(), result(orgs.orgsOf(user)));
    assertEquals(Optional.empty(), result(orgs.userIdleTimeout(joined.get(0), user)));
    assertEquals(Optional.empty(), result(orgs.userIdleTimeout(joined.get(0), "nobody")));
    try (Connection c = TestDatabase.get().dataSource().getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "UPDATE users SET idle_timeout_seconds = 120 WHERE org = ? AND name = ?")) {
      ps.setString(1, joined.get(1));
      ps.setString(2, user);
      assertEquals(1, ps.executeUpdate());
    }
    assertEquals(Optional.of(120), result(orgs.userIdleTimeout(joined.get(1), user)));
  }
}
