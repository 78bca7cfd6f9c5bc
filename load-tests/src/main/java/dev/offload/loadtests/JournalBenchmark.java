package dev.offload.loadtests;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.javadsl.CommandHandler;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehavior;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.offload.session.SessionEntity;
import dev.offload.session.SessionEvent;
import dev.offload.session.SessionState;
import dev.offload.storage.Database;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * P1 of quality.md: session lifecycle events the control plane's journal persists per second ÷
 * one-row-insert transactions per second of a plain JDBC loop, alternately against the same
 * embedded PostgreSQL in one run.
 *
 * <p>The journal side is the product's own: its journal configuration (two journals over one
 * shared pool, batched inserts), the session's persistence ids, tags and journal choice, and its
 * events serialised by its serializer. Each of {@code BENCH_JOURNAL_WRITERS} sessions persists
 * its next lifecycle event (requested, runner assigned, activated, then grace period and resumed
 * in turn, as a session used on and off does) as soon as the previous one is written, which is
 * what many sessions do at once under load, without the rest of the control plane in the way.
 * The baseline is what {@code pgbench} would run: 20 connections (the journal's pool) each
 * committing one-row inserts.
 *
 * <p>{@code JournalBenchmark <results dir>}; BENCH_JOURNAL_WRITERS (1000), BENCH_JOURNAL_SECONDS
 * (10 per round and side), BENCH_ROUNDS (3).
 */
public final class JournalBenchmark {
  private static final int INSERT_CONNECTIONS = 20;

  public static void main(String[] args) throws Exception {
    Path out = Path.of(args[0]);
    int writers = Integer.parseInt(System.getenv().getOrDefault("BENCH_JOURNAL_WRITERS", "1000"));
    Duration window = Duration.ofSeconds(Long.parseLong(System.getenv().getOrDefault("BENCH_JOURNAL_SECONDS", "10")));
    int rounds = Integer.parseInt(System.getenv().getOrDefault("BENCH_ROUNDS", "3"));
    Path data = Files.createTempDirectory("offload-p1");
    Config config = ConfigFactory.parseMap(Map.of(
            "offload.data-dir", data.toString(), "offload.db.url", "",
            "offload.db.journal-pool-size", INSERT_CONNECTIONS))
        .withFallback(ConfigFactory.load()).resolve();
    try (Database db = Database.start(config)) {
      Config full = ConfigFactory.parseString("akka.actor.provider = local\nakka.loglevel = WARNING")
          .withFallback(db.akkaPersistenceConfig()).withFallback(config).resolve();
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "p1", full);
      try {
        LongAdder persisted = new LongAdder();
        AtomicBoolean running = new AtomicBoolean();
        List<ActorRef<Next>> sessions = new ArrayList<>();
        for (int i = 0; i < writers; i++) {
          sessions.add(system.systemActorOf(writer(UUID.randomUUID().toString(), persisted, running), "s" + i,
              akka.actor.typed.Props.empty()));
        }
        // Warm-up: every session recovers and writes a few events; both sides' code gets compiled.
        journalRate(sessions, persisted, running, Duration.ofSeconds(3));
        insertRate(db, Duration.ofSeconds(2));
        List<Double> journal = new ArrayList<>();
        List<Double> inserts = new ArrayList<>();
        for (int round = 1; round <= rounds; round++) {
          double events = journalRate(sessions, persisted, running, window);
          double rows = insertRate(db, window);
          System.err.printf("round %d: journal %.0f events/s, plain inserts %.0f/s, ratio %.2f%n",
              round, events, rows, events / rows);
          journal.add(events);
          inserts.add(rows);
        }
        write(out, writers, window, journal, inserts);
      } finally {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get();
      }
    }
  }

  /** Events persisted per second while every session writes back to back for {@code window}. */
  private static double journalRate(List<ActorRef<Next>> sessions, LongAdder persisted, AtomicBoolean running,
      Duration window) throws InterruptedException {
    running.set(true);
    sessions.forEach(s -> s.tell(Next.INSTANCE));
    Thread.sleep(1000); // every session has a write in flight before the window opens
    long before = persisted.sum();
    long started = System.nanoTime();
    Thread.sleep(window.toMillis());
    double rate = (persisted.sum() - before) / ((System.nanoTime() - started) / 1e9);
    running.set(false);
    long settled;
    do { // the writes in flight finish before the other side is measured
      settled = persisted.sum();
      Thread.sleep(300);
    } while (persisted.sum() != settled);
    return rate;
  }

  /** One-row insert transactions per second from 20 autocommit connections, as pgbench would run them. */
  private static double insertRate(Database db, Duration window) throws Exception {
    try (Connection c = connect(db); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE IF NOT EXISTS bench_plain_insert (id bigserial PRIMARY KEY, payload bytea NOT NULL)");
    }
    LongAdder inserted = new LongAdder();
    long ends = System.nanoTime() + window.toNanos();
    byte[] payload = new byte[200];
    ExecutorService threads = Executors.newFixedThreadPool(INSERT_CONNECTIONS);
    try {
      List<Future<?>> loops = new ArrayList<>();
      for (int i = 0; i < INSERT_CONNECTIONS; i++) {
        loops.add(threads.submit(() -> {
          try (Connection c = connect(db);
              PreparedStatement st = c.prepareStatement("INSERT INTO bench_plain_insert (payload) VALUES (?)")) {
            c.setAutoCommit(true);
            while (System.nanoTime() < ends) {
              st.setBytes(1, payload);
              st.executeUpdate();
              inserted.increment();
            }
          }
          return null;
        }));
      }
      for (Future<?> loop : loops) loop.get();
    } finally {
      threads.shutdown();
    }
    try (Connection c = connect(db); Statement st = c.createStatement()) {
      st.execute("TRUNCATE bench_plain_insert");
    }
    return inserted.sum() / (window.toNanos() / 1e9);
  }

  /** A connection of its own, outside the product's pool, as pgbench would open. */
  private static Connection connect(Database db) throws SQLException {
    return DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
  }

  // ---- a session that keeps writing its lifecycle ----

  enum Next { INSTANCE }

  private static Behavior<Next> writer(String id, LongAdder persisted, AtomicBoolean running) {
    return Behaviors.setup(ctx -> new Writer(id, ctx.getSelf(), persisted, running));
  }

  private static final class Writer extends EventSourcedBehavior<Next, SessionEvent, SessionState> {
    private final String id;
    private final ActorRef<Next> self;
    private final LongAdder persisted;
    private final AtomicBoolean running;

    Writer(String id, ActorRef<Next> self, LongAdder persisted, AtomicBoolean running) {
      super(PersistenceId.of(SessionEntity.ENTITY_KEY.name(), id));
      this.id = id;
      this.self = self;
      this.persisted = persisted;
      this.running = running;
    }

    @Override
    public SessionState emptyState() {
      return SessionState.empty(id);
    }

    @Override
    public String journalPluginId() {
      return SessionEntity.journalFor(id);
    }

    @Override
    public Set<String> tagsFor(SessionEvent event) {
      return Set.of(SessionEntity.tagFor(id));
    }

    @Override
    public CommandHandler<Next, SessionEvent, SessionState> commandHandler() {
      return newCommandHandlerBuilder().forAnyState().onCommand(Next.class, (state, next) ->
          Effect().persist(nextEvent(state)).thenRun(after -> {
            persisted.increment();
            if (running.get()) self.tell(Next.INSTANCE);
          })).build();
    }

    @Override
    public EventHandler<SessionState, SessionEvent> eventHandler() {
      return newEventHandlerBuilder().forAnyState().onAnyEvent(SessionState::apply);
    }

    private static SessionEvent nextEvent(SessionState s) {
      Instant now = Instant.now();
      return switch (s.phase()) {
        case NEW -> s.requested("bench", "u", "standard", 300, Map.of(), Duration.ofMinutes(2), now);
        case PROVISIONING -> s.hasRunner() ? s.activated(now) : s.runnerAssigned("r1", "standard", "127.0.0.1:22", now);
        case ACTIVE -> s.gracePeriodStarted(now);
        case GRACE_PERIOD -> s.activityResumed("tunnel-bytes", now);
        case IDLE, TERMINATED -> throw new IllegalStateException("the benchmark keeps sessions in use");
      };
    }
  }

  // ---- results ----

  private static void write(Path out, int writers, Duration window, List<Double> journal, List<Double> inserts)
      throws Exception {
    double events = Figures.median(journal);
    double rows = Figures.median(inserts);
    double ratio = events / rows;
    String table = String.join("\n",
        "| id | figure | journal (events/s) | plain one-row inserts (transactions/s) | ratio | target | holds |",
        "|---|---|---|---|---|---|---|",
        String.format("| P1 | %,d sessions writing lifecycle events, %d s per side, median of %d rounds | %,.0f | %,.0f | %.2f | ≥ 2.0 | %s |",
            writers, window.toSeconds(), journal.size(), events, rows, ratio, ratio >= 2.0 ? "yes" : "no"),
        "");
    Files.createDirectories(out);
    Files.writeString(out.resolve("p1.md"), table);
    StringBuilder raw = new StringBuilder("round,journal_events_per_s,plain_inserts_per_s\n");
    for (int i = 0; i < journal.size(); i++) {
      raw.append(i + 1).append(',').append(journal.get(i)).append(',').append(inserts.get(i)).append('\n');
    }
    Files.writeString(out.resolve("p1.csv"), raw.toString());
    System.out.print(table);
  }
}
