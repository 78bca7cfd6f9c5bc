package dev.offload.billing;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.javadsl.CommandHandlerWithReply;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import akka.persistence.typed.javadsl.ReplyEffect;
import dev.offload.CborSerializable;
import dev.offload.ClientError;
import dev.offload.billing.Allowance.Grant;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

/**
 * An organisation's billing account: its grants, and the months in which it was warned (90 %)
 * or found exhausted. One entity per organisation, sharded and event-sourced, so grants are in
 * the journal like everything that is charged.
 */
public final class BillingEntity
    extends EventSourcedBehaviorWithEnforcedReplies<BillingEntity.Command, BillingEntity.Event, BillingEntity.Account> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "Billing");

  public sealed interface Command extends CborSerializable {}

  public record AddGrant(String kind, long seconds, Instant expiresAt, ActorRef<GrantReply> replyTo) implements Command {}

  public record GetAccount(ActorRef<Account> replyTo) implements Command {}

  /** The enforcer's findings, recorded once per month so each is acted on (and announced) once. */
  public record MarkWarned(String month, ActorRef<Account> replyTo) implements Command {}

  public record MarkExhausted(String month, String reason, ActorRef<Account> replyTo) implements Command {}

  public sealed interface GrantReply extends CborSerializable {}

  public record GrantAdded(Grant grant) implements GrantReply, Event {}

  public record GrantRefused(ClientError.Code code, String field, String message) implements GrantReply {}

  public sealed interface Event extends CborSerializable {}

  public record UsageWarned(String month, Instant at) implements Event {}

  public record UsageExhausted(String month, String reason, Instant at) implements Event {}

  public record Account(List<Grant> grants, Set<String> warnedMonths, Set<String> exhaustedMonths)
      implements CborSerializable {
    static Account empty() {
      return new Account(List.of(), Set.of(), Set.of());
    }

    Account apply(Event event) {
      if (event instanceof GrantAdded added) {
        List<Grant> grants = new ArrayList<>(this.grants);
        grants.add(added.grant());
        // A new grant may lift an exhaustion: the enforcer decides again from the figures.
        return new Account(List.copyOf(grants), warnedMonths, Set.of());
      }
      if (event instanceof UsageWarned warned) return new Account(grants, add(warnedMonths, warned.month()), exhaustedMonths);
      UsageExhausted exhausted = (UsageExhausted) event;
      return new Account(grants, warnedMonths, add(exhaustedMonths, exhausted.month()));
    }

    private static Set<String> add(Set<String> set, String value) {
      Set<String> copy = new TreeSet<>(set);
      copy.add(value);
      return Set.copyOf(copy);
    }
  }

  public static void init(ActorSystem<?> system, Clock clock) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> create(ctx.getEntityId(), clock)));
  }

  public static Behavior<Command> create(String org, Clock clock) {
    return new BillingEntity(org, clock);
  }

  private final Clock clock;

  private BillingEntity(String org, Clock clock) {
    super(PersistenceId.of(ENTITY_KEY.name(), org));
    this.clock = clock;
  }

  @Override
  public Account emptyState() {
    return Account.empty();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, Account> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(AddGrant.class, this::onAddGrant)
        .onCommand(GetAccount.class, (account, c) -> Effect().reply(c.replyTo(), account))
        .onCommand(MarkWarned.class, (account, c) -> account.warnedMonths().contains(c.month())
            ? Effect().reply(c.replyTo(), account)
            : Effect().persist(new UsageWarned(c.month(), now())).thenReply(c.replyTo(), a -> a))
        .onCommand(MarkExhausted.class, (account, c) -> account.exhaustedMonths().contains(c.month())
            ? Effect().reply(c.replyTo(), account)
            : Effect().persist(new UsageExhausted(c.month(), c.reason(), now())).thenReply(c.replyTo(), a -> a))
        .build();
  }

  private ReplyEffect<Event, Account> onAddGrant(Account account, AddGrant c) {
    if (!"committed".equals(c.kind()) && !"trial".equals(c.kind())) {
      return Effect().reply(c.replyTo(), new GrantRefused(ClientError.Code.INVALID_ARGUMENT, "kind", "kind must be committed or trial"));
    }
    if (c.seconds() < 1 || c.seconds() > 100L * 365 * 24 * 3600) {
      return Effect().reply(c.replyTo(), new GrantRefused(ClientError.Code.INVALID_ARGUMENT, "seconds",
          "seconds must be between 1 and " + 100L * 365 * 24 * 3600));
    }
    Instant now = now();
    if (c.expiresAt() != null && !c.expiresAt().isAfter(now)) {
      return Effect().reply(c.replyTo(), new GrantRefused(ClientError.Code.INVALID_ARGUMENT, "expiresAt",
          "expiresAt must be in the future"));
    }
    Grant grant = new Grant(UUID.randomUUID().toString(), c.kind(), c.seconds(), now,
        Allowance.expiry(c.kind(), now, c.expiresAt()));
    GrantAdded added = new GrantAdded(grant);
    return Effect().persist(added).thenReply(c.replyTo(), a -> added);
  }

  @Override
  public EventHandler<Account, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(Account::apply);
  }

  private Instant now() {
    return clock.instant().truncatedTo(ChronoUnit.MILLIS);
  }
}
