package dev.offload.billing;

import dev.offload.org.Principal;
import dev.offload.session.SessionEntity.SessionView;
import dev.offload.session.SessionIndex;
import dev.offload.session.SessionState;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import javax.sql.DataSource;

/**
 * {@code GET /v1/orgs/{org}/usage} (api.md): an organisation's month as its members see it. The
 * committed and on-demand figures are the organisation's (they say whether anyone can work); the
 * session figures are everyone's for an owner and the caller's own for a member.
 */
public final class UsageView {

  public record Committed(long grantedSeconds, long usedSeconds, long remainingSeconds) {}

  public record OnDemand(boolean enabled, long seconds, long cents) {}

  public record SessionTotals(int count, long billableSeconds) {}

  public record Recent(String id, Instant startedAt, long billableSeconds) {}

  public record Mine(long totalSeconds, List<Recent> recent) {}

  public record ImageRuns(String image, long runs) {}

  public record Rate(String runnerClass, double centsPerHour) {}

  /** The view; {@code activeSessions} are the live sessions the caller may see, as the API shows them. */
  public record Month(
      String month, boolean metered, Committed committed, OnDemand onDemand, SessionTotals sessions,
      Mine mySessions, List<ImageRuns> topImages, List<SessionView> activeSessions, List<Rate> rates) {}

  private static final int RECENT = 10;
  private static final int TOP_IMAGES = 10;

  private final Usage usage;
  private final DataSource dataSource;
  private final Executor blocking;
  private final Rates rates;
  private final Clock clock;

  public UsageView(Usage usage, DataSource dataSource, Executor blocking, Rates rates, Clock clock) {
    this.usage = usage;
    this.dataSource = dataSource;
    this.blocking = blocking;
    this.rates = rates;
    this.clock = clock;
  }

  public CompletionStage<Month> of(Principal caller, String org, YearMonth month) {
    Instant now = clock.instant();
    Instant start = month.atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC);
    Instant end = month.plusMonths(1).atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC);
    // A past month is seen as of its last moment; the current one as of now.
    Instant asOf = now.isBefore(end) ? now : end.minusMillis(1);
    String onlyUser = caller.isOwnerOf(org) ? null : caller.user();
    return usage.summary(org, asOf).thenCombine(
        CompletableFuture.supplyAsync(() -> sessions(org, onlyUser, start, end), blocking),
        (summary, states) -> view(caller, month, summary, states, now));
  }

  private Month view(Principal caller, YearMonth month, Allowance.Summary summary, List<SessionState> states, Instant now) {
    long total = 0;
    long mine = 0;
    List<Recent> recent = new ArrayList<>();
    Map<String, Long> images = new HashMap<>();
    List<SessionView> active = new ArrayList<>();
    for (SessionState s : states) {
      long seconds = Billing.charge(s, s.isTerminated() ? null : now).secondsByMonth().getOrDefault(month, 0L);
      total += seconds;
      if (caller.user() != null && caller.user().equals(s.user())) {
        mine += seconds;
        if (recent.size() < RECENT) recent.add(new Recent(s.id(), s.createdAt(), seconds));
      }
      s.imagesStarted().forEach((image, runs) -> images.merge(image, (long) runs, Long::sum));
      if (!s.isTerminated()) active.add(new SessionView(s, 0, null, null));
    }
    List<ImageRuns> top = images.entrySet().stream()
        .filter(e -> !e.getKey().isEmpty())
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
        .limit(TOP_IMAGES).map(e -> new ImageRuns(e.getKey(), e.getValue())).toList();
    List<Rate> prices = rates.microsPerSecond().entrySet().stream().sorted(Map.Entry.comparingByKey())
        .map(e -> new Rate(e.getKey(), e.getValue() * 3600 / 10_000.0)).toList();
    return new Month(month.toString(), summary.metered(),
        new Committed(summary.grantedSeconds(), summary.committedUsedSeconds(), summary.remainingSeconds()),
        new OnDemand(summary.onDemandEnabled(), summary.onDemandSeconds(), summary.onDemandCents()),
        new SessionTotals(states.size(), total), new Mine(mine, recent), top, active, prices);
  }

  /** Sessions alive at some point of the month, newest first. */
  private List<SessionState> sessions(String org, String user, Instant start, Instant end) {
    String sql = "SELECT snapshot::text FROM sessions WHERE org = ? AND created_at < ?"
        + " AND (terminated_at IS NULL OR terminated_at >= ?)" + (user == null ? "" : " AND user_name = ?")
        + " ORDER BY created_at DESC, id DESC";
    try (Connection c = dataSource.getConnection(); PreparedStatement st = c.prepareStatement(sql)) {
      st.setString(1, org);
      st.setTimestamp(2, Timestamp.from(end));
      st.setTimestamp(3, Timestamp.from(start));
      if (user != null) st.setString(4, user);
      List<SessionState> states = new ArrayList<>();
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) states.add(SessionIndex.fromJson(rs.getString(1)));
      }
      states.sort(Comparator.comparing(SessionState::createdAt).reversed());
      return states;
    } catch (SQLException e) {
      throw new CompletionException(e);
    }
  }
}
