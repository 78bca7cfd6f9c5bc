package dev.offload.org;

import dev.offload.ClientError;
import dev.offload.ClientError.Code;
import java.security.MessageDigest;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * Organisations, their users, tokens and settings, kept in PostgreSQL. Every method runs its JDBC
 * on the blocking executor; a refusal completes the stage with a {@link ClientError}, a database
 * failure with its {@link SQLException}.
 */
public final class Organisations {

  private static final Pattern ORG_ID = Pattern.compile("[a-z0-9][a-z0-9-]{1,38}");
  private static final Pattern USER_NAME = Pattern.compile("[a-z0-9._-]{1,64}");
  private static final int MAX_NAME_LENGTH = 200;
  private static final String SETTINGS_COLUMNS =
      "offload_enabled, idle_timeout_seconds, allow_user_idle_timeout, max_sessions_per_user,"
          + " max_live_sessions, on_demand_enabled, monthly_limit_cents, runner_classes";

  private final Jdbc jdbc;
  private final Clock clock;
  private final List<String> knownRunnerClasses;
  private volatile byte[] operatorTokenHash;
  private final TokenCache tokens;

  public Organisations(
      DataSource ds, Executor blocking, Clock clock, List<String> knownRunnerClasses) {
    this(ds, blocking, clock, knownRunnerClasses, TokenCache.disabled());
  }

  public Organisations(
      DataSource ds, Executor blocking, Clock clock, List<String> knownRunnerClasses, TokenCache tokens) {
    this.jdbc = new Jdbc(ds, blocking);
    this.clock = clock;
    this.knownRunnerClasses = List.copyOf(knownRunnerClasses);
    this.tokens = tokens;
  }

  /**
   * Who holds {@code bearerToken}: empty when it is missing, unknown or revoked. Tokens found are
   * remembered briefly ({@link TokenCache}); unknown ones are looked up every time.
   */
  public CompletionStage<Optional<Principal>> authenticate(String bearerToken) {
    if (bearerToken == null || bearerToken.isBlank()) {
      return CompletableFuture.completedFuture(Optional.empty());
    }
    byte[] hash = Secrets.sha256(bearerToken);
    byte[] operator = operatorTokenHash;
    if (operator != null && MessageDigest.isEqual(hash, operator)) {
      return CompletableFuture.completedFuture(Optional.of(Principal.OPERATOR));
    }
    Optional<Principal> known = tokens.get(hash);
    if (known.isPresent()) return CompletableFuture.completedFuture(known);
    // An index lookup by hash may take longer for hashes sharing a prefix with a stored one;
    // that tells an attacker about hashes, not about any token, so it needs no constant time.
    return jdbc.<Optional<Principal>>query(
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT id, org, user_name, role FROM tokens"
                      + " WHERE token_hash = ? AND revoked_at IS NULL")) {
            ps.setBytes(1, hash);
            try (ResultSet rs = ps.executeQuery()) {
              if (!rs.next()) {
                tokens.forget(hash); // revoked in the database by hand
                return Optional.empty();
              }
              Role role = Role.valueOf(rs.getString("role").toUpperCase(Locale.ROOT));
              Principal holder =
                  new Principal(role, rs.getString("org"), rs.getString("user_name"), rs.getString("id"));
              tokens.put(hash, holder);
              return Optional.of(holder);
            }
          }
        });
  }

  /** The SHA-256 of the operator's token, set once at start-up by {@link Bootstrap}. */
  public void setOperatorTokenHash(byte[] sha256) {
    operatorTokenHash = sha256.clone();
  }

  /** A new organisation with default settings; {@code name} defaults to the id. */
  public CompletionStage<Organisation> create(String id, String name) {
    if (id == null || !ORG_ID.matcher(id).matches()) {
      return CompletableFuture.failedFuture(
          ClientError.invalid(
              "id",
              "id must be 2 to 39 characters of a-z, 0-9 and '-',"
                  + " starting with a letter or digit"));
    }
    String displayName = name == null || name.isBlank() ? id : name.strip();
    if (displayName.length() > MAX_NAME_LENGTH) {
      return CompletableFuture.failedFuture(
          ClientError.invalid("name", "name must be at most " + MAX_NAME_LENGTH + " characters"));
    }
    Settings settings = Settings.defaults(knownRunnerClasses);
    Instant now = now();
    return jdbc.query(
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO organisations (id, name, created_at, "
                      + SETTINGS_COLUMNS
                      + ")"
                      + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING")) {
            ps.setString(1, id);
            ps.setString(2, displayName);
            ps.setObject(3, Jdbc.timestamp(now));
            ps.setBoolean(4, settings.offloadEnabled());
            ps.setInt(5, settings.idleTimeoutSeconds());
            ps.setBoolean(6, settings.allowUserIdleTimeout());
            ps.setInt(7, settings.maxSessionsPerUser());
            ps.setInt(8, settings.maxLiveSessions());
            ps.setBoolean(9, settings.onDemandEnabled());
            ps.setObject(10, settings.monthlyLimitCents(), Types.BIGINT);
            ps.setArray(11, textArray(c, settings.runnerClasses()));
            if (ps.executeUpdate() == 0) {
              throw new ClientError(Code.CONFLICT, "organisation " + id + " already exists");
            }
          }
          return new Organisation(id, displayName, now);
        });
  }

  public CompletionStage<Organisation> get(String id) {
    return jdbc.query(
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("SELECT id, name, created_at FROM organisations WHERE id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
              if (!rs.next()) {
                throw notFound(id);
              }
              return new Organisation(
                  rs.getString("id"), rs.getString("name"), Jdbc.instant(rs, "created_at"));
            }
          }
        });
  }

  /** A new token for {@code user} in {@code org}, creating the user on their first token. */
  public CompletionStage<IssuedToken> issueToken(String org, String user, Role role) {
    if (user == null || !USER_NAME.matcher(user).matches()) {
      return CompletableFuture.failedFuture(
          ClientError.invalid(
              "user", "user must be 1 to 64 characters of a-z, 0-9, '.', '_' and '-'"));
    }
    if (role != Role.OWNER && role != Role.MEMBER) {
      return CompletableFuture.failedFuture(
          ClientError.invalid("role", "role must be owner or member"));
    }
    String token = Secrets.newToken();
    String id = Secrets.newTokenId();
    Instant now = now();
    return jdbc.inTransaction(
        c -> {
          requireOrganisation(c, org);
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO users (org, name, created_at) VALUES (?, ?, ?) ON CONFLICT DO"
                      + " NOTHING")) {
            ps.setString(1, org);
            ps.setString(2, user);
            ps.setObject(3, Jdbc.timestamp(now));
            ps.executeUpdate();
          }
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO tokens (id, org, user_name, role, token_hash, created_at)"
                      + " VALUES (?, ?, ?, ?, ?, ?)")) {
            ps.setString(1, id);
            ps.setString(2, org);
            ps.setString(3, user);
            ps.setString(4, role.apiName());
            ps.setBytes(5, Secrets.sha256(token));
            ps.setObject(6, Jdbc.timestamp(now));
            ps.executeUpdate();
          }
          return new IssuedToken(id, token, org, user, role);
        });
  }

  /** Revokes a token of {@code org}; revoking it again changes nothing. */
  public CompletionStage<Void> revokeToken(String org, String tokenId) {
    Instant now = now();
    return jdbc.query(
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND org"
                      + " = ?")) {
            ps.setObject(1, Jdbc.timestamp(now));
            ps.setString(2, tokenId);
            ps.setString(3, org);
            if (ps.executeUpdate() == 0) {
              throw ClientError.notFound("token " + tokenId);
            }
          }
          tokens.revoked(tokenId);
          return null;
        });
  }

  public CompletionStage<Settings> settings(String org) {
    return jdbc.query(
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT " + SETTINGS_COLUMNS + " FROM organisations WHERE id = ?")) {
            ps.setString(1, org);
            try (ResultSet rs = ps.executeQuery()) {
              if (!rs.next()) {
                throw notFound(org);
              }
              return settingsFrom(rs);
            }
          }
        });
  }

  /**
   * Applies the fields {@code patch} sets, all or none: a refused value leaves every setting as it
   * was.
   */
  public CompletionStage<Settings> updateSettings(String org, SettingsPatch patch) {
    SettingsPatch checked;
    try {
      checked = SettingsRules.check(Objects.requireNonNull(patch), knownRunnerClasses);
    } catch (ClientError e) {
      return CompletableFuture.failedFuture(e);
    }
    return jdbc.query(
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "UPDATE organisations SET"
                      + " offload_enabled = COALESCE(?, offload_enabled),"
                      + " idle_timeout_seconds = COALESCE(?, idle_timeout_seconds),"
                      + " allow_user_idle_timeout = COALESCE(?, allow_user_idle_timeout),"
                      + " max_sessions_per_user = COALESCE(?, max_sessions_per_user),"
                      + " max_live_sessions = COALESCE(?, max_live_sessions),"
                      + " on_demand_enabled = COALESCE(?, on_demand_enabled),"
                      + " monthly_limit_cents = CASE WHEN ? THEN ? ELSE monthly_limit_cents END,"
                      + " runner_classes = COALESCE(?, runner_classes)"
                      + " WHERE id = ? RETURNING "
                      + SETTINGS_COLUMNS)) {
            ps.setObject(1, checked.offloadEnabled(), Types.BOOLEAN);
            ps.setObject(2, checked.idleTimeoutSeconds(), Types.INTEGER);
            ps.setObject(3, checked.allowUserIdleTimeout(), Types.BOOLEAN);
            ps.setObject(4, checked.maxSessionsPerUser(), Types.INTEGER);
            ps.setObject(5, checked.maxLiveSessions(), Types.INTEGER);
            ps.setObject(6, checked.onDemandEnabled(), Types.BOOLEAN);
            ps.setBoolean(7, checked.monthlyLimitCents() != null);
            ps.setObject(8, checked.monthlyLimitCents() == null ? null : checked.monthlyLimitCents().orElse(null), Types.BIGINT);
            if (checked.runnerClasses() == null) {
              ps.setNull(9, Types.ARRAY);
            } else {
              ps.setArray(9, textArray(c, checked.runnerClasses()));
            }
            ps.setString(10, org);
            try (ResultSet rs = ps.executeQuery()) {
              if (!rs.next()) {
                throw notFound(org);
              }
              return settingsFrom(rs);
            }
          }
        });
  }

  /**
   * The user's own idle timeout; empty when they have none (or are unknown), so the organisation's
   * applies.
   */
  public CompletionStage<Optional<Integer>> userIdleTimeout(String org, String user) {
    return jdbc.query(
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT idle_timeout_seconds FROM users WHERE org = ? AND name = ?")) {
            ps.setString(1, org);
            ps.setString(2, user);
            try (ResultSet rs = ps.executeQuery()) {
              if (!rs.next()) {
                return Optional.empty();
              }
              int seconds = rs.getInt(1);
              return rs.wasNull() ? Optional.empty() : Optional.of(seconds);
            }
          }
        });
  }

  /** The organisations where {@code user} has ever been issued a token, by id. */
  public CompletionStage<List<String>> orgsOf(String user) {
    return jdbc.query(
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("SELECT org FROM users WHERE name = ? ORDER BY org")) {
            ps.setString(1, user);
            try (ResultSet rs = ps.executeQuery()) {
              List<String> orgs = new ArrayList<>();
              while (rs.next()) {
                orgs.add(rs.getString(1));
              }
              return List.copyOf(orgs);
            }
          }
        });
  }

  private static void requireOrganisation(Connection c, String org) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM organisations WHERE id = ?")) {
      ps.setString(1, org);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw notFound(org);
        }
      }
    }
  }

  private static ClientError notFound(String org) {
    return ClientError.notFound("organisation " + org);
  }

  private static Settings settingsFrom(ResultSet rs) throws SQLException {
    long limit = rs.getLong("monthly_limit_cents");
    Long monthlyLimitCents = rs.wasNull() ? null : limit;
    return new Settings(
        rs.getBoolean("offload_enabled"),
        rs.getInt("idle_timeout_seconds"),
        rs.getBoolean("allow_user_idle_timeout"),
        rs.getInt("max_sessions_per_user"),
        rs.getInt("max_live_sessions"),
        rs.getBoolean("on_demand_enabled"),
        monthlyLimitCents,
        List.of((String[]) rs.getArray("runner_classes").getArray()));
  }

  private static Array textArray(Connection c, List<String> values) throws SQLException {
    return c.createArrayOf("text", values.toArray(new String[0]));
  }

  /**
   * PostgreSQL keeps microseconds; truncating first makes the returned value equal the stored one.
   */
  private Instant now() {
    return clock.instant().truncatedTo(ChronoUnit.MICROS);
  }
}
