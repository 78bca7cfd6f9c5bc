package dev.offload.billing;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.typed.ClusterSingleton;
import akka.cluster.typed.SingletonActor;
import dev.offload.session.SessionState;
import dev.offload.session.Sessions;
import java.time.Clock;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Looks at every organisation with live sessions once per interval: at 90 % of its committed
 * usage it is warned, and once its usage is exhausted its live sessions end with
 * {@code usage-limit} (billing.md: within 60 s of the limit). One per cluster.
 */
public final class UsageEnforcer {
  private static final Logger log = LoggerFactory.getLogger(UsageEnforcer.class);

  private enum Tick { INSTANCE }

  private UsageEnforcer() {}

  /** Told when an organisation reaches 90 % of its committed usage (once a month is its own business). */
  @FunctionalInterface
  public interface Warnings {
    void warn(String org, YearMonth month, long remainingSeconds);
  }

  public static void init(ActorSystem<?> system, Usage usage, Sessions sessions, Clock clock, Duration interval,
      Warnings warnings) {
    ClusterSingleton.get(system).init(SingletonActor.of(
        Behaviors.supervise(create(usage, sessions, clock, interval, warnings)).onFailure(SupervisorStrategy.restart()),
        "usage-enforcer"));
  }

  static Behavior<Tick> create(Usage usage, Sessions sessions, Clock clock, Duration interval, Warnings warnings) {
    return Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, interval);
      return Behaviors.setup(ctx -> {
        var system = ctx.getSystem();
        // Ticks that arrive while a round is running are dropped: the next one comes soon enough.
        CompletableFuture<?>[] round = {CompletableFuture.completedFuture(null)};
        return Behaviors.receiveMessage(tick -> {
          if (round[0].isDone()) {
            round[0] = usage.liveOrganisations()
                .thenCompose(orgs -> orgs.stream()
                    .map(org -> enforce(system, usage, sessions, clock, warnings, org))
                    .reduce(CompletableFuture.completedFuture(null), (a, b) -> a.thenCombine(b, (x, y) -> null)))
                .exceptionally(e -> {
                  log.warn("Usage check failed, retrying at the next interval: {}", e.toString());
                  return null;
                })
                .toCompletableFuture();
          }
          return Behaviors.same();
        });
      });
    });
  }

  private static CompletionStage<Void> enforce(ActorSystem<?> system, Usage usage, Sessions sessions, Clock clock,
      Warnings warnings, String org) {
    YearMonth thisMonth = YearMonth.from(clock.instant().atZone(ZoneOffset.UTC));
    String month = thisMonth.toString();
    var account = ClusterSharding.get(system).entityRefFor(BillingEntity.ENTITY_KEY, org);
    return usage.summary(org).thenCompose(summary -> {
      CompletionStage<?> done = CompletableFuture.completedFuture(null);
      if (summary.nearlyExhausted()) {
        done = account.<BillingEntity.Account>ask(replyTo -> new BillingEntity.MarkWarned(month, replyTo), Duration.ofSeconds(5))
            .thenAccept(a -> {
              log.info("usage.warning: organisation {} has used 90 % of its committed usage", org);
              warnings.warn(org, thisMonth, summary.remainingSeconds());
            });
      }
      if (summary.exhausted()) {
        done = done
            .thenCompose(x -> account.<BillingEntity.Account>ask(replyTo -> new BillingEntity.MarkExhausted(month, summary.refusal(), replyTo),
                Duration.ofSeconds(5)))
            .thenCompose(x -> sessions.terminateLive(org, SessionState.USAGE_LIMIT, "billing"))
            .thenAccept(ended -> {
              if (ended > 0) log.info("Ended {} live session(s) of {}: {}", ended, org, summary.refusal());
            });
      }
      return done.thenApply(x -> null);
    });
  }
}
