package dev.offload.webhook;

import dev.offload.ClientError;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.security.SecureRandom;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import javax.sql.DataSource;

/** An organisation's webhook registrations (api.md): https URLs, or http to loopback in dev mode. */
public final class Webhooks {
  public static final String SESSION_STATE = "session.state";
  public static final String USAGE_WARNING = "usage.warning";
  static final Set<String> EVENTS = Set.of(SESSION_STATE, USAGE_WARNING);
  private static final int MAX_PER_ORG = 20;

  public record Webhook(String id, String url, List<String> events, Instant createdAt) {}

  /** The secret is shown once, at registration. */
  public record Registered(String id, String url, List<String> events, String secret) {}

  private final DataSource dataSource;
  private final Executor blocking;
  private final Clock clock;
  private final boolean allowLoopbackHttp;
  private final SecureRandom random = new SecureRandom();

  public Webhooks(DataSource dataSource, Executor blocking, Clock clock, boolean allowLoopbackHttp) {
    this.dataSource = dataSource;
    this.blocking = blocking;
    this.clock = clock;
    this.allowLoopbackHttp = allowLoopbackHttp;
  }

  public CompletionStage<Registered> register(String org, String url, List<String> events) {
    URI uri = validUrl(url);
    if (events == null || events.isEmpty() || !EVENTS.containsAll(events)) {
      throw ClientError.invalid("events", "events must be a non-empty list of " + EVENTS);
    }
    List<String> subscribed = events.stream().distinct().sorted().toList();
    return CompletableFuture.supplyAsync(() -> {
      try (Connection c = dataSource.getConnection()) {
        if (list(c, org).size() >= MAX_PER_ORG) {
          throw new ClientError(ClientError.Code.CONFLICT,
              "organisation " + org + " already has " + MAX_PER_ORG + " webhooks; delete one first");
        }
        byte[] bytes = new byte[32];
        random.nextBytes(bytes);
        Registered registered = new Registered("wh_" + UUID.randomUUID().toString().replace("-", ""),
            uri.toString(), subscribed, "whsec_" + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes));
        try (PreparedStatement st = c.prepareStatement(
            "INSERT INTO webhooks (id, org, url, events, secret, created_at) VALUES (?, ?, ?, ?, ?, ?)")) {
          st.setString(1, registered.id());
          st.setString(2, org);
          st.setString(3, registered.url());
          st.setArray(4, c.createArrayOf("text", subscribed.toArray()));
          st.setString(5, registered.secret());
          st.setTimestamp(6, Timestamp.from(clock.instant()));
          st.executeUpdate();
        }
        return registered;
      } catch (SQLException e) {
        throw new CompletionException(e);
      }
    }, blocking);
  }

  public CompletionStage<List<Webhook>> list(String org) {
    return CompletableFuture.supplyAsync(() -> {
      try (Connection c = dataSource.getConnection()) {
        return list(c, org);
      } catch (SQLException e) {
        throw new CompletionException(e);
      }
    }, blocking);
  }

  /** Deleting stops its deliveries; the ones already sent stay in the outbox's history. */
  public CompletionStage<Void> delete(String org, String id) {
    return CompletableFuture.runAsync(() -> {
      try (Connection c = dataSource.getConnection();
          PreparedStatement st = c.prepareStatement(
              "UPDATE webhooks SET deleted_at = ? WHERE id = ? AND org = ? AND deleted_at IS NULL")) {
        st.setTimestamp(1, Timestamp.from(clock.instant()));
        st.setString(2, id);
        st.setString(3, org);
        if (st.executeUpdate() == 0) throw ClientError.notFound("webhook " + id);
      } catch (SQLException e) {
        throw new CompletionException(e);
      }
    }, blocking);
  }

  private static List<Webhook> list(Connection c, String org) throws SQLException {
    try (PreparedStatement st = c.prepareStatement(
        "SELECT id, url, events, created_at FROM webhooks WHERE org = ? AND deleted_at IS NULL ORDER BY created_at")) {
      st.setString(1, org);
      List<Webhook> hooks = new ArrayList<>();
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) {
          Array events = rs.getArray(3);
          hooks.add(new Webhook(rs.getString(1), rs.getString(2), List.of((String[]) events.getArray()),
              rs.getTimestamp(4).toInstant()));
        }
      }
      return hooks;
    }
  }

  private URI validUrl(String url) {
    URI uri;
    try {
      uri = url == null ? null : new URI(url);
    } catch (java.net.URISyntaxException e) {
      uri = null;
    }
    if (uri == null || uri.getHost() == null || !(("https".equals(uri.getScheme())) || "http".equals(uri.getScheme()))) {
      throw ClientError.invalid("url", "url must be an absolute https:// URL");
    }
    if ("http".equals(uri.getScheme()) && !(allowLoopbackHttp && loopback(uri.getHost()))) {
      throw ClientError.invalid("url", "url must use https (plain http only to loopback on a development server)");
    }
    if (url.length() > 2048) throw ClientError.invalid("url", "url must be at most 2048 characters");
    return uri;
  }

  private static boolean loopback(String host) {
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
