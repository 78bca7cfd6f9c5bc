package dev.offload.billing;

import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import dev.offload.org.Organisations;
import dev.offload.session.SessionState;
import dev.offload.session.UsageGate;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import javax.sql.DataSource;

/**
 * An organisation's usage now: its grants (from its billing account) against the charged time of
 * its sessions (from the session index, live ones up to now), through {@link Allowance}.
 */
public final class Usage implements UsageGate {
  private final ActorSystem<?> system;
  private final DataSource dataSource;
  private final Executor blocking;
  private final Organisations organisations;
  private final Rates rates;
  private final Clock clock;
  private final Duration askTimeout;

  public Usage(ActorSystem<?> system, DataSource dataSource, Executor blocking, Organisations organisations,
      Rates rates, Clock clock, Duration askTimeout) {
    this.system = system;
    this.dataSource = dataSource;
    this.blocking = blocking;
    this.organisations = organisations;
    this.rates = rates;
    this.clock = clock;
    this.askTimeout = askTimeout;
  }

  public CompletionStage<BillingEntity.Account> account(String org) {
    return ClusterSharding.get(system).entityRefFor(BillingEntity.ENTITY_KEY, org)
        .ask(BillingEntity.GetAccount::new, askTimeout);
  }

  public CompletionStage<Allowance.Summary> summary(String org) {
    return summary(org, clock.instant());
  }

  /** As of {@code now}: its month's figures and what is left then. */
  public CompletionStage<Allowance.Summary> summary(String org, Instant now) {
    return account(org).thenCombine(organisations.settings(org), (account, settings) -> new Object[] {account, settings})
        .thenApplyAsync(both -> {
          BillingEntity.Account account = (BillingEntity.Account) both[0];
          var settings = (dev.offload.org.Settings) both[1];
          List<Allowance.Use> uses = account.grants().isEmpty() ? List.of() : uses(org, earliest(account), now);
          return Allowance.summarise(org, account.grants(), uses, settings.onDemandEnabled(),
              settings.monthlyLimitCents(), now);
        }, blocking);
  }

  @Override
  public CompletionStage<Optional<String>> refusal(String org) {
    return summary(org).thenApply(s -> Optional.ofNullable(s.refusal()));
  }

  /** Organisations with live sessions: the ones whose usage grows by itself. */
  public CompletionStage<List<String>> liveOrganisations() {
    return CompletableFuture.supplyAsync(() -> {
      try (Connection c = dataSource.getConnection();
          PreparedStatement st = c.prepareStatement("SELECT DISTINCT org FROM sessions WHERE state <> 'terminated'");
          ResultSet rs = st.executeQuery()) {
        List<String> orgs = new ArrayList<>();
        while (rs.next()) orgs.add(rs.getString(1));
        return orgs;
      } catch (SQLException e) {
        throw new CompletionException(e);
      }
    }, blocking);
  }

  private static Instant earliest(BillingEntity.Account account) {
    return account.grants().stream().map(Allowance.Grant::grantedAt).min(Instant::compareTo).orElseThrow();
  }

  /** Charged stretches of the sessions that could use the grants: live ones, or ended since the first grant. */
  private List<Allowance.Use> uses(String org, Instant since, Instant now) {
    List<Allowance.Use> uses = new ArrayList<>();
    try (Connection c = dataSource.getConnection();
        PreparedStatement st = c.prepareStatement(
            "SELECT snapshot::text FROM sessions WHERE org = ? AND (terminated_at IS NULL OR terminated_at >= ?)")) {
      st.setString(1, org);
      st.setTimestamp(2, Timestamp.from(since));
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) {
          SessionState s = dev.offload.session.SessionIndex.fromJson(rs.getString(1));
          Billing.SessionCharge charge = Billing.charge(s, s.isTerminated() ? null : now);
          uses.addAll(Allowance.uses(charge, rates.of(s.runnerClass()), rates.weightOf(s.runnerClass())));
        }
      }
    } catch (SQLException e) {
      throw new CompletionException(e);
    }
    return uses;
  }
}
