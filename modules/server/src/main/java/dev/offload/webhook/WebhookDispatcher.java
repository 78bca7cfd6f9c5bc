package dev.offload.webhook;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.typed.ClusterSingleton;
import akka.cluster.typed.SingletonActor;
import com.typesafe.config.Config;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends the outbox (api.md "Webhooks"): one per cluster, every interval it posts the oldest
 * undelivered delivery of each stream (so a session's changes arrive in order), signed with the
 * webhook's secret, and retries failures with exponential backoff until they are a day old.
 */
public final class WebhookDispatcher {
  private static final Logger log = LoggerFactory.getLogger(WebhookDispatcher.class);
  private static final int BATCH = 100;

  private enum Tick { INSTANCE }

  /** Timings from {@code offload.webhooks}. */
  public record Settings(Duration interval, Duration firstRetry, Duration maxRetry, Duration giveUpAfter, Duration timeout) {
    public static Settings fromConfig(Config config) {
      Config c = config.getConfig("offload.webhooks");
      return new Settings(c.getDuration("interval"), c.getDuration("first-retry"), c.getDuration("max-retry"),
          c.getDuration("give-up-after"), c.getDuration("timeout"));
    }
  }

  private record Due(String id, String url, String secret, String type, String body, int attempts, Instant createdAt) {}

  private final DataSource dataSource;
  private final Clock clock;
  private final Settings settings;
  private final HttpClient http;

  private WebhookDispatcher(DataSource dataSource, Clock clock, Settings settings) {
    this.dataSource = dataSource;
    this.clock = clock;
    this.settings = settings;
    this.http = HttpClient.newBuilder().connectTimeout(settings.timeout()).build();
  }

  public static void init(ActorSystem<?> system, DataSource dataSource, Executor blocking, Clock clock, Settings settings) {
    WebhookDispatcher dispatcher = new WebhookDispatcher(dataSource, clock, settings);
    ClusterSingleton.get(system).init(SingletonActor.of(
        Behaviors.supervise(dispatcher.behavior(blocking)).onFailure(SupervisorStrategy.restart()), "webhook-dispatcher"));
  }

  private Behavior<Tick> behavior(Executor blocking) {
    return Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.interval());
      CompletableFuture<?>[] round = {CompletableFuture.completedFuture(null)};
      return Behaviors.receiveMessage(tick -> {
        // A round still sending when the next tick comes is left to finish: order per stream holds.
        if (round[0].isDone()) {
          round[0] = CompletableFuture.runAsync(this::round, blocking).exceptionally(e -> {
            log.warn("Webhook round failed, retrying at the next interval: {}", e.toString());
            return null;
          });
        }
        return Behaviors.same();
      });
    });
  }

  private void round() {
    for (Due due : due()) {
      Instant now = clock.instant();
      String failure = send(due, now);
      record(due, failure, now);
    }
  }

  /** The head of every stream that is due: a later delivery waits until the earlier one went out. */
  private List<Due> due() {
    String sql = "SELECT d.id, w.url, w.secret, d.event_type, d.body, d.attempts, d.created_at"
        + " FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"
        + " WHERE d.delivered_at IS NULL AND d.abandoned_at IS NULL AND d.next_attempt_at <= ? AND w.deleted_at IS NULL"
        + " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id AND e.stream = d.stream"
        + "   AND e.position < d.position AND e.delivered_at IS NULL AND e.abandoned_at IS NULL)"
        + " ORDER BY d.created_at LIMIT " + BATCH;
    try (Connection c = dataSource.getConnection(); PreparedStatement st = c.prepareStatement(sql)) {
      st.setTimestamp(1, Timestamp.from(clock.instant()));
      List<Due> due = new ArrayList<>();
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) {
          due.add(new Due(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5),
              rs.getInt(6), rs.getTimestamp(7).toInstant()));
        }
      }
      return due;
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Null when the receiver took it (2xx), else what went wrong. */
  private String send(Due due, Instant now) {
    long t = now.getEpochSecond();
    try {
      HttpRequest request = HttpRequest.newBuilder(URI.create(due.url()))
          .timeout(settings.timeout())
          .header("Content-Type", "application/json")
          .header("Offload-Delivery-Id", due.id())
          .header("Offload-Event", due.type())
          .header("Offload-Signature", "t=" + t + ",v1=" + signature(due.secret(), t, due.body()))
          .POST(HttpRequest.BodyPublishers.ofString(due.body()))
          .build();
      HttpResponse<Void> response = http.send(request, HttpResponse.BodyHandlers.discarding());
      return response.statusCode() / 100 == 2 ? null : "the receiver answered " + response.statusCode();
    } catch (java.io.IOException e) {
      return "cannot reach the receiver: " + e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }

  /** api.md: {@code v1} is the hex HMAC-SHA256, with the webhook's secret, of {@code "<t>.<body>"}. */
  public static String signature(String secret, long t, String body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return HexFormat.of().formatHex(mac.doFinal((t + "." + body).getBytes(StandardCharsets.UTF_8)));
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private void record(Due due, String failure, Instant now) {
    String sql;
    Instant next = null;
    if (failure == null) {
      sql = "UPDATE webhook_deliveries SET delivered_at = ?, attempts = attempts + 1 WHERE id = ?";
    } else if (due.createdAt().plus(settings.giveUpAfter()).isBefore(now)) {
      sql = "UPDATE webhook_deliveries SET abandoned_at = ?, attempts = attempts + 1, last_error = ? WHERE id = ?";
      log.warn("Webhook delivery {} abandoned after {} attempts: {}", due.id(), due.attempts() + 1, failure);
    } else {
      // 1, 2, 4, … times the first retry, capped: a receiver that is down is not hammered.
      Duration wait = settings.firstRetry().multipliedBy(1L << Math.min(due.attempts(), 20));
      next = now.plus(wait.compareTo(settings.maxRetry()) > 0 ? settings.maxRetry() : wait);
      sql = "UPDATE webhook_deliveries SET next_attempt_at = ?, attempts = attempts + 1, last_error = ? WHERE id = ?";
    }
    try (Connection c = dataSource.getConnection(); PreparedStatement st = c.prepareStatement(sql)) {
      st.setTimestamp(1, Timestamp.from(next != null ? next : now));
      if (failure == null) {
        st.setString(2, due.id());
      } else {
        st.setString(2, failure);
        st.setString(3, due.id());
      }
      st.executeUpdate();
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
