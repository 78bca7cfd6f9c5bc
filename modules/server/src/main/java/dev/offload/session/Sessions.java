package dev.offload.session;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.EntityRef;
import akka.japi.function.Function;
import dev.offload.ClientError;
import dev.offload.ClientError.Code;
import dev.offload.org.Organisations;
import dev.offload.org.Principal;
import dev.offload.org.Settings;
import dev.offload.session.SessionEntity.Accepted;
import dev.offload.session.SessionEntity.Command;
import dev.offload.session.SessionEntity.Rejected;
import dev.offload.session.SessionEntity.Reply;
import dev.offload.session.SessionEntity.SessionView;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import javax.sql.DataSource;

/**
 * What the API does with sessions: who may see which session, the start rules of api.md
 * (idempotency keys, sessions per user, the organisation's cap, the idle timeout's resolution),
 * and the conversations with the entities. Entities are asked only about sessions the index
 * knows, so a request for a made-up id never creates one.
 */
public final class Sessions {

  public record StartRequest(
      String org, String runnerClass, Integer idleTimeoutSeconds, Map<String, String> labels) {}

  public record Started(SessionView session, boolean created) {}

  public record Page(List<SessionView> sessions, String nextCursor) {}

  static final Duration IDEMPOTENCY_WINDOW = Duration.ofHours(24);
  private static final int MAX_LABELS = 32;
  private static final int MAX_LABEL_LENGTH = 256;
  /** Far above the ask timeout: a reservation this old belongs to a start that failed. */
  private static final Duration STALE_RESERVATION = Duration.ofMinutes(5);
  /** Far above the sessions a node serves in a while; beyond it the memory starts afresh. */
  private static final int MAX_REMEMBERED_ROWS = 100_000;

  private final ActorSystem<?> system;
  private final ClusterSharding sharding;
  private final DataSource dataSource;
  private final Executor blocking;
  private final Organisations organisations;
  private final SessionIndex index;
  private final Set<String> offeredClasses;
  private final Duration askTimeout;
  private final Clock clock;
  private final UsageGate usage;
  private final Duration provisioningTimeout;
  private final ConcurrentHashMap<UUID, SessionIndex.Row> rows = new ConcurrentHashMap<>();

  public Sessions(
      ActorSystem<?> system,
      DataSource dataSource,
      Executor blocking,
      Organisations organisations,
      SessionIndex index,
      Set<String> offeredClasses,
      Duration askTimeout,
      Clock clock,
      UsageGate usage,
      Duration provisioningTimeout) {
    this.system = system;
    this.sharding = ClusterSharding.get(system);
    this.dataSource = dataSource;
    this.blocking = blocking;
    this.organisations = organisations;
    this.index = index;
    this.offeredClasses = Set.copyOf(offeredClasses);
    this.askTimeout = askTimeout;
    this.clock = clock;
    this.usage = usage;
    this.provisioningTimeout = provisioningTimeout;
  }

  // ---- start ----

  public CompletionStage<Started> start(Principal caller, StartRequest request, String idempotencyKey) {
    requireSessionUser(caller);
    String org = request.org() == null ? caller.org() : request.org();
    if (!caller.belongsTo(org)) return failed(ClientError.notFound("organisation " + org));
    if (idempotencyKey != null && (idempotencyKey.isEmpty() || idempotencyKey.length() > 128)) {
      return failed(ClientError.invalid("Idempotency-Key", "Idempotency-Key must be 1 to 128 characters"));
    }
    Map<String, String> labels = request.labels() == null ? Map.of() : request.labels();
    validateLabels(labels);
    return organisations
        .settings(org)
        .thenCombine(
            organisations.userIdleTimeout(org, caller.user()),
            (settings, userTimeout) -> new Object[] {settings, userTimeout})
        .thenCompose(both -> !((Settings) both[0]).offloadEnabled()
            ? CompletableFuture.completedFuture(both) // refused below as offload_disabled
            : usage.refusal(org).thenApply(refusal -> {
          refusal.ifPresent(reason -> {
            throw new ClientError(Code.USAGE_EXHAUSTED, reason);
          });
          return both;
        }))
        .thenApplyAsync(
            both -> {
              Settings settings = (Settings) both[0];
              @SuppressWarnings("unchecked")
              Optional<Integer> userTimeout = (Optional<Integer>) both[1];
              String runnerClass = runnerClass(request, settings, org);
              int idleTimeout = idleTimeout(request, settings, userTimeout, org);
              return reserve(caller, org, runnerClass, idleTimeout, labels, settings,
                  idempotencyKey, requestHash(org, runnerClass, request.idleTimeoutSeconds(), labels));
            },
            blocking)
        .thenCompose(reservation -> reservation.earlier() != null
            ? CompletableFuture.completedFuture(reservation.earlier())
            : create(reservation.placeholder()));
  }

  private String runnerClass(StartRequest request, Settings settings, String org) {
    String runnerClass = request.runnerClass() == null ? "standard" : request.runnerClass();
    if (!settings.offloadEnabled()) {
      throw new ClientError(Code.OFFLOAD_DISABLED,
          "Offload is disabled for organisation " + org + ": ask an owner to enable it");
    }
    List<String> allowed = settings.runnerClasses().stream().filter(offeredClasses::contains).sorted().toList();
    if (!allowed.contains(runnerClass)) {
      throw ClientError.invalid("runnerClass",
          "runnerClass " + runnerClass + " is not available to organisation " + org + "; choose one of " + allowed);
    }
    return runnerClass;
  }

  /** lifecycle.md: the request's value, else the user's setting, else the organisation's. */
  private static int idleTimeout(
      StartRequest request, Settings settings, Optional<Integer> userTimeout, String org) {
    Integer requested = request.idleTimeoutSeconds();
    if (requested == null) return userTimeout.orElse(settings.idleTimeoutSeconds());
    if (!settings.allowUserIdleTimeout()) {
      throw ClientError.invalid("idleTimeoutSeconds",
          "organisation " + org + " does not allow choosing the idle timeout; leave idleTimeoutSeconds out");
    }
    if (requested < 10 || requested > 3600) {
      throw ClientError.invalid("idleTimeoutSeconds", "idleTimeoutSeconds must be between 10 and 3600");
    }
    return requested;
  }

  private static void validateLabels(Map<String, String> labels) {
    if (labels.size() > MAX_LABELS) {
      throw ClientError.invalid("labels", "at most " + MAX_LABELS + " labels are allowed");
    }
    labels.forEach((k, v) -> {
      if (k.isEmpty() || k.length() > MAX_LABEL_LENGTH || v == null || v.length() > MAX_LABEL_LENGTH) {
        throw ClientError.invalid("labels",
            "labels: keys must be 1 to " + MAX_LABEL_LENGTH + " characters and values strings of at most "
                + MAX_LABEL_LENGTH);
      }
    });
  }

  /** Either the session an earlier request already started, or a new session's placeholder row. */
  private record Reservation(Started earlier, SessionState placeholder) {}

  /**
   * Decides a start in one short transaction under a per-user advisory lock, so two concurrent
   * starts of one user see each other: one reserves the session, the other gets it back (or a
   * conflict); a reservation also takes the organisation's lock, so concurrent users cannot
   * together exceed maxLiveSessions. The entity is started after the commit, so no lock or
   * connection is held while it persists.
   */
  private Reservation reserve(
      Principal caller, String org, String runnerClass, int idleTimeout, Map<String, String> labels,
      Settings settings, String idempotencyKey, String requestHash) {
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try {
        lock(c, "session-start/" + org + "/" + caller.user());
        Optional<Started> earlier = byIdempotencyKey(c, org, caller.user(), idempotencyKey, requestHash);
        if (earlier.isPresent()) {
          c.commit();
          return new Reservation(earlier.get(), null);
        }
        // The index may lag the entities, but it never misses a session: only at the cap do the
        // user's sessions need asking whether they are still live.
        List<SessionIndex.Row> mineIndexed = notKnownEnded(index.live(c, org, caller.user()));
        List<SessionView> mine = mineIndexed.size() < settings.maxSessionsPerUser()
            ? List.of() : liveViews(c, mineIndexed);
        if (mine.size() >= settings.maxSessionsPerUser()) {
          c.commit();
          return mine.stream()
              .filter(v -> v.state().runnerClass().equals(runnerClass))
              .findFirst()
              .map(v -> new Reservation(new Started(v, false), null))
              .orElseThrow(() -> new ClientError(Code.CONFLICT,
                  "you already have " + mine.size() + " live session(s) of another runner class ("
                      + mine.get(0).state().id() + "); stop it first with offload stop"));
        }
        // Starts of different users race for the organisation's cap: only creations queue here.
        lock(c, "session-start/" + org);
        index.forgetStaleReservations(c, org, clock.instant().minus(STALE_RESERVATION));
        if (notKnownEnded(index.live(c, org, null)).size() >= settings.maxLiveSessions()) {
          throw new ClientError(Code.CONFLICT, "organisation " + org + " has reached its limit of "
              + settings.maxLiveSessions() + " live sessions; stop one or ask an owner to raise maxLiveSessions");
        }
        SessionState fresh = SessionState.empty(UUID.randomUUID().toString());
        SessionState placeholder = fresh.apply(fresh.requested(
            org, caller.user(), runnerClass, idleTimeout, labels, provisioningTimeout, clock.instant()));
        index.reserve(c, placeholder, idempotencyKey, requestHash);
        c.commit();
        return new Reservation(null, placeholder);
      } catch (RuntimeException | SQLException e) {
        c.rollback();
        throw e;
      }
    } catch (SQLException e) {
      throw new CompletionException(e);
    }
  }

  /**
   * Starts the reserved session's entity; its first state replaces the placeholder. If the start
   * fails the reservation goes, unless the journal already has the session (then the index keeps it).
   */
  private CompletionStage<Started> create(SessionState placeholder) {
    SessionState p = placeholder;
    return ask(p.id(), replyTo ->
            new SessionEntity.Start(p.org(), p.user(), p.runnerClass(), p.idleTimeoutSeconds(), p.labels(), replyTo))
        .handleAsync((view, failure) -> {
          if (failure == null) {
            index.confirm(view.state());
            return new Started(view, true);
          }
          index.forgetReservation(UUID.fromString(p.id()));
          throw failure instanceof CompletionException ce ? ce : new CompletionException(failure);
        }, blocking);
  }

  /** Always the user's lock before the organisation's, so two starts never wait on each other in a cycle. */
  private static void lock(Connection c, String key) throws SQLException {
    try (PreparedStatement st = c.prepareStatement("SELECT pg_advisory_xact_lock(hashtext(?))")) {
      st.setString(1, key);
      st.execute();
    }
  }

  private Optional<Started> byIdempotencyKey(
      Connection c, String org, String user, String key, String requestHash) throws SQLException {
    if (key == null) return Optional.empty();
    try (PreparedStatement st = c.prepareStatement(
        "SELECT id, request_hash, created_at FROM sessions WHERE org = ? AND user_name = ? AND idempotency_key = ?")) {
      st.setString(1, org);
      st.setString(2, user);
      st.setString(3, key);
      try (ResultSet rs = st.executeQuery()) {
        if (!rs.next()) return Optional.empty();
        UUID id = rs.getObject(1, UUID.class);
        if (rs.getTimestamp(3).toInstant().isBefore(clock.instant().minus(IDEMPOTENCY_WINDOW))) {
          forgetKey(c, id); // older than 24 h: the key may name a new request
          return Optional.empty();
        }
        if (!requestHash.equals(rs.getString(2))) {
          throw new ClientError(Code.CONFLICT,
              "Idempotency-Key " + key + " was used for a different request; use a new key");
        }
        return Optional.of(new Started(await(view(index.find(c, id).orElseThrow())), false));
      }
    }
  }

  private static void forgetKey(Connection c, UUID id) throws SQLException {
    try (PreparedStatement st = c.prepareStatement("UPDATE sessions SET idempotency_key = NULL WHERE id = ?")) {
      st.setObject(1, id);
      st.executeUpdate();
    }
  }

  /**
   * The index may lag the journal by a moment: the entity has the last word on liveness. A
   * reservation older than a start may take belongs to a start that failed unless its entity
   * exists after all; failed ones are removed here, in the caller's transaction.
   */
  private List<SessionView> liveViews(Connection c, List<SessionIndex.Row> rows) throws SQLException {
    List<SessionView> live = new ArrayList<>();
    for (SessionIndex.Row row : rows) {
      boolean settled = row.isReserved() && row.createdAt().isBefore(clock.instant().minus(askTimeout));
      Optional<SessionView> view = settled ? startedAfterAll(c, row) : Optional.of(await(view(row)));
      view.filter(v -> !v.state().isTerminated()).ifPresent(live::add);
    }
    return live;
  }

  /**
   * Rows the index still shows live although this node has seen their session end (the index
   * follows the journal with a lag, longer under load): they count for nothing and need no ask.
   */
  private List<SessionIndex.Row> notKnownEnded(List<SessionIndex.Row> indexed) {
    return indexed.stream().filter(row -> {
      SessionIndex.Row known = rows.get(row.id());
      return known == null || !known.isTerminated();
    }).toList();
  }

  private Optional<SessionView> startedAfterAll(Connection c, SessionIndex.Row reservation) throws SQLException {
    try {
      return Optional.of(await(ask(reservation.id().toString(), SessionEntity.Get::new)));
    } catch (ClientError e) {
      if (e.code() != Code.NOT_FOUND) throw e;
      index.forgetReservation(c, reservation.id());
      return Optional.empty();
    }
  }

  /** Over the request with its defaults filled in, so {@code {}} and its spelled-out form agree. */
  private static String requestHash(String org, String runnerClass, Integer idleTimeout, Map<String, String> labels) {
    String canonical = org + "\n" + runnerClass + "\n" + idleTimeout + "\n" + new TreeMap<>(labels);
    try {
      return HexFormat.of().formatHex(
          MessageDigest.getInstance("SHA-256").digest(canonical.getBytes(StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  // ---- one session ----

  /**
   * Reads a session the node has seen before without a query (see {@link #remember}); commands
   * always read the index, so that they fail fast with the database rather than at the entity.
   */
  public CompletionStage<SessionView> get(Principal caller, String id) {
    requireSessionUser(caller);
    UUID uuid = parseId(id);
    SessionIndex.Row known = uuid == null ? null : rows.get(uuid);
    return (known != null ? mayShow(caller, known, id) : visible(caller, id)).thenCompose(this::view);
  }

  public CompletionStage<SessionView> stop(Principal caller, String id) {
    return visible(caller, id)
        .thenCompose(row -> ask(row.id().toString(), replyTo -> new SessionEntity.Stop(caller.user(), replyTo))
            .thenApply(v -> rememberIfTerminated(row, v)));
  }

  public CompletionStage<SessionView> resume(Principal caller, String id) {
    return visible(caller, id)
        .thenCompose(row -> ask(row.id().toString(), SessionEntity.Resume::new));
  }

  /**
   * The session's row if the caller may see it. Anything else is 404, so that the existence of
   * another organisation's or another member's session does not leak.
   */
  public CompletionStage<SessionIndex.Row> visible(Principal caller, String id) {
    requireSessionUser(caller);
    UUID uuid = parseId(id);
    if (uuid == null) return failed(ClientError.notFound("session " + id));
    return CompletableFuture.supplyAsync(() -> {
      try {
        SessionIndex.Row row = index.find(uuid).orElseThrow(() -> ClientError.notFound("session " + id));
        if (!row.isReserved()) remember(row);
        return row;
      } catch (SQLException e) {
        throw new CompletionException(e);
      }
    }, blocking).thenCompose(row -> mayShow(caller, row, id));
  }

  private static UUID parseId(String id) {
    try {
      UUID uuid = UUID.fromString(id);
      return uuid.toString().equals(id.toLowerCase()) ? uuid : null;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static CompletionStage<SessionIndex.Row> mayShow(Principal caller, SessionIndex.Row row, String id) {
    boolean mine = caller.belongsTo(row.org()) && caller.user().equals(row.user());
    if (!mine && !caller.isOwnerOf(row.org())) return failed(ClientError.notFound("session " + id));
    return CompletableFuture.completedFuture(row);
  }

  /**
   * Keeps an index row this node has read: whom a session belongs to never changes, and a
   * terminated session does not change at all, so reads of known sessions need no query.
   */
  private void remember(SessionIndex.Row row) {
    if (rows.size() >= MAX_REMEMBERED_ROWS) rows.clear();
    rows.put(row.id(), row);
  }

  /** A session seen terminated is answered from memory from then on. */
  private SessionView rememberIfTerminated(SessionIndex.Row row, SessionView view) {
    if (view.state().isTerminated() && !row.isTerminated()) {
      remember(new SessionIndex.Row(row.id(), row.org(), row.user(), row.runnerClass(),
          view.state().phase().apiName, row.createdAt(), view.state(), Math.max(1, row.lastSeqNr())));
    }
    return view;
  }

  /**
   * Terminated sessions are answered from the index, as are sessions whose entity is being
   * started (their reservation); live ones by their entity (counters).
   */
  private CompletionStage<SessionView> view(SessionIndex.Row row) {
    if ((row.isTerminated() || row.isReserved()) && row.snapshot() != null) {
      return CompletableFuture.completedFuture(new SessionView(row.snapshot(), 0, null, null));
    }
    return ask(row.id().toString(), SessionEntity.Get::new).thenApply(v -> rememberIfTerminated(row, v));
  }

  // ---- many sessions ----

  public CompletionStage<Page> list(Principal caller, String state, String user, int limit, String cursor) {
    requireSessionUser(caller);
    if (limit < 1 || limit > 500) {
      return failed(ClientError.invalid("limit", "limit must be between 1 and 500"));
    }
    if (state != null && java.util.Arrays.stream(SessionState.Phase.values())
        .noneMatch(p -> p != SessionState.Phase.NEW && p.apiName.equals(state))) {
      return failed(ClientError.invalid("state",
          "state must be one of provisioning, active, grace-period, idle, terminated"));
    }
    String onlyUser = user;
    if (!caller.isOwnerOf(caller.org())) {
      if (user != null && !user.equals(caller.user())) {
        return failed(new ClientError(Code.FORBIDDEN, "members list only their own sessions; leave out user="));
      }
      onlyUser = caller.user();
    }
    SessionIndex.Row after = cursor == null ? null : decodeCursor(cursor);
    String filterUser = onlyUser;
    return CompletableFuture.supplyAsync(() -> {
      try {
        List<SessionIndex.Row> rows = index.list(caller.org(), filterUser, state, limit + 1, after);
        List<SessionIndex.Row> page = rows.subList(0, Math.min(limit, rows.size()));
        String next = rows.size() > limit ? encodeCursor(page.get(page.size() - 1)) : null;
        return new Page(page.stream().map(Sessions::listed).toList(), next);
      } catch (SQLException e) {
        throw new CompletionException(e);
      }
    }, blocking);
  }

  /** Listing shows the index's view and never wakes entities; counters are shown by GET. */
  private static SessionView listed(SessionIndex.Row row) {
    return new SessionView(row.snapshot(), 0, null, null);
  }

  private static String encodeCursor(SessionIndex.Row last) {
    String raw = last.createdAt().toEpochMilli() + "/" + last.id();
    return Base64.getUrlEncoder().withoutPadding().encodeToString(raw.getBytes(StandardCharsets.UTF_8));
  }

  private static SessionIndex.Row decodeCursor(String cursor) {
    try {
      String[] parts = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8).split("/", 2);
      return new SessionIndex.Row(UUID.fromString(parts[1]), null, null, null, null,
          Instant.ofEpochMilli(Long.parseLong(parts[0])), null, 0);
    } catch (RuntimeException e) {
      throw ClientError.invalid("cursor", "cursor is not one this server returned; start again without it");
    }
  }

  // ---- organisation-wide ----

  /** Ends every live session of an organisation (Offload disabled, usage limit). */
  public CompletionStage<Integer> terminateLive(String org, String reason, String by) {
    return CompletableFuture.supplyAsync(() -> {
      try (Connection c = dataSource.getConnection()) {
        List<SessionIndex.Row> live = index.live(c, org, null);
        live.forEach(row -> entity(row.id().toString())
            .tell(new SessionEntity.Terminate(reason, by, system.ignoreRef())));
        return live.size();
      } catch (SQLException e) {
        throw new CompletionException(e);
      }
    }, blocking);
  }

  // ---- asking entities ----

  private EntityRef<Command> entity(String id) {
    return sharding.entityRefFor(SessionEntity.ENTITY_KEY, id);
  }

  /** Asks an entity and turns a rejection into the API's error, a timeout into 503. */
  private CompletionStage<SessionView> ask(String id, Function<ActorRef<Reply>, Command> message) {
    return entity(id).<Reply>ask(message, askTimeout).handle((reply, failure) -> {
      Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
      if (cause instanceof TimeoutException) throw unavailable();
      if (cause != null) throw new CompletionException(cause);
      if (reply instanceof Rejected r) throw new ClientError(r.code(), r.message());
      return ((Accepted) reply).session();
    });
  }

  /** For the few places that must decide under a lock (a blocking thread). */
  private static SessionView await(CompletionStage<SessionView> view) {
    try {
      return view.toCompletableFuture().get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw unavailable();
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new CompletionException(e.getCause());
    }
  }

  private static ClientError unavailable() {
    return new ClientError(Code.UNAVAILABLE, "the session did not answer in time; try again shortly");
  }

  private static void requireSessionUser(Principal caller) {
    if (caller.isOperator()) {
      throw new ClientError(Code.FORBIDDEN,
          "operator tokens manage organisations; use an owner or member token for sessions");
    }
  }

  private static <T> CompletionStage<T> failed(ClientError error) {
    return CompletableFuture.failedFuture(error);
  }
}
