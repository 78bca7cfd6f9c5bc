package dev.offload.session;

import static org.junit.jupiter.api.Assertions.assertEquals;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.persistence.query.EventEnvelope;
import akka.persistence.typed.javadsl.CommandHandler;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehavior;
import akka.stream.javadsl.Sink;
import com.typesafe.config.ConfigFactory;
import dev.offload.storage.TestDatabase;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Event streams get each event of their session once and in order, from one tail of the journal,
 * and follow the session from whatever state they were opened with.
 */
class SessionEventStreamsTest {

  private static final List<SessionEvent> EVENTS = SessionEventFixtures.allEvents();

  private static ActorTestKit testKit;
  private static SessionEventFeed feed;

  @BeforeAll
  static void start() {
    testKit = ActorTestKit.create("SessionEventStreamsTest", TestDatabase.akkaConfig()
        .withFallback(ConfigFactory.parseString("""
            akka.actor.provider = local
            akka.coordinated-shutdown.run-by-jvm-shutdown-hook = off
            akka.actor.testkit.typed.system-shutdown-default = 30s"""))
        .withFallback(ConfigFactory.load()));
    feed = new SessionEventFeed(testKit.system(), TestDatabase.get().dataSource(), testKit.system().executionContext());
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void everyStreamOfASessionGetsEachEventOnceInOrderWhateverItOpenedAfter() throws Exception {
    String session = UUID.randomUUID().toString();
    String other = UUID.randomUUID().toString();
    ActorRef<Write> writer = testKit.spawn(Writer.create(session, Set.of()));
    ActorRef<Write> otherWriter = testKit.spawn(Writer.create(other, Set.of()));
    write(writer, EVENTS.subList(0, 3));

    List<CompletionStage<List<Long>>> streams = List.of(sequenceNrs(session), sequenceNrs(session), sequenceNrs(session));
    write(otherWriter, EVENTS.subList(0, 5));
    write(writer, EVENTS.subList(3, EVENTS.size()));

    for (CompletionStage<List<Long>> stream : streams) {
      assertEquals(allSequenceNrs(), stream.toCompletableFuture().get(20, TimeUnit.SECONDS));
    }
  }

  @Test
  void anEventTheTailDidNotDeliverIsReadFromTheJournalWhenTheNextOneShowsTheGap() throws Exception {
    String session = UUID.randomUUID().toString();
    // Untagged events are never in the tail, as if the read journal had given up on their ordering.
    ActorRef<Write> writer = testKit.spawn(Writer.create(session, Set.of(EVENTS.get(4), EVENTS.get(5))));
    write(writer, EVENTS.subList(0, 2));

    CompletionStage<List<Long>> stream = sequenceNrs(session);
    write(writer, EVENTS.subList(2, EVENTS.size()));

    assertEquals(allSequenceNrs(), stream.toCompletableFuture().get(20, TimeUnit.SECONDS));
  }

  @Test
  void aStreamThatEndsLeavesNothingRegistered() throws Exception {
    String session = UUID.randomUUID().toString();
    ActorRef<Write> writer = testKit.spawn(Writer.create(session, Set.of()));
    write(writer, EVENTS.subList(0, 3));

    List<EventEnvelope> past = feed.eventsOf(session).runWith(Sink.head(), testKit.system())
        .toCompletableFuture().get(20, TimeUnit.SECONDS);

    assertEquals(List.of(1L, 2L, 3L), past.stream().map(EventEnvelope::sequenceNr).toList());
    TestProbe<Integer> open = testKit.createTestProbe();
    open.awaitAssert(Duration.ofSeconds(5), () -> {
      assertEquals(0, feed.streamsFollowing(session));
      return null;
    });
  }

  @Test
  void aStreamOpenedWithAStateOffTheJournalsChainFollowsTheJournal() throws Exception {
    String session = UUID.randomUUID().toString();
    ActorRef<Write> writer = testKit.spawn(Writer.create(session, Set.of()));
    write(writer, EVENTS.subList(0, 3)); // requested, runner assigned, activated
    SessionState empty = SessionState.empty(session);
    SessionState placeholder = empty.apply(empty.requested("acme", "alice", "standard", 300, java.util.Map.of(),
        Duration.ofMinutes(2), java.time.Instant.parse("2026-11-28T09:59:59Z")));
    SessionUpdates updates = new SessionUpdates(feed, java.time.Clock.systemUTC(), Duration.ofMinutes(5));

    CompletionStage<List<String>> phases = updates.follow(new SessionEntity.SessionView(placeholder, 0, null, null))
        .collectType(SessionUpdates.StateChanged.class)
        .map(changed -> changed.session().state().phase().apiName)
        .take(3)
        .runWith(Sink.seq(), testKit.system());
    write(writer, EVENTS.subList(3, EVENTS.size()));

    assertEquals(List.of("provisioning", "active", "grace-period"), phases.toCompletableFuture().get(20, TimeUnit.SECONDS));
  }

  private static CompletionStage<List<Long>> sequenceNrs(String session) {
    return feed.eventsOf(session).mapConcat(events -> events).map(EventEnvelope::sequenceNr).take(EVENTS.size())
        .runWith(Sink.seq(), testKit.system());
  }

  private static List<Long> allSequenceNrs() {
    return LongStream.rangeClosed(1, EVENTS.size()).boxed().toList();
  }

  private static void write(ActorRef<Write> writer, List<SessionEvent> events) {
    TestProbe<Done> written = testKit.createTestProbe();
    for (SessionEvent event : events) {
      writer.tell(new Write(event, written.ref()));
      written.expectMessage(Duration.ofSeconds(10), Done.getInstance());
    }
  }

  record Write(SessionEvent event, ActorRef<Done> replyTo) {}

  /** Writes session events as the session entity does, leaving out the tag of {@code untagged}. */
  private static final class Writer extends EventSourcedBehavior<Write, SessionEvent, Integer> {
    private final String sessionId;
    private final Set<SessionEvent> untagged;

    static Behavior<Write> create(String sessionId, Set<SessionEvent> untagged) {
      return new Writer(sessionId, untagged);
    }

    private Writer(String sessionId, Set<SessionEvent> untagged) {
      super(SessionEntity.persistenceId(sessionId));
      this.sessionId = sessionId;
      this.untagged = untagged;
    }

    @Override
    public Integer emptyState() {
      return 0;
    }

    @Override
    public CommandHandler<Write, SessionEvent, Integer> commandHandler() {
      return newCommandHandlerBuilder().forAnyState()
          .onAnyCommand((state, write) -> Effect().persist(write.event()).thenRun(s -> write.replyTo().tell(Done.getInstance())));
    }

    @Override
    public EventHandler<Integer, SessionEvent> eventHandler() {
      return newEventHandlerBuilder().forAnyState().onAnyEvent((count, event) -> count + 1);
    }

    @Override
    public Set<String> tagsFor(SessionEvent event) {
      return untagged.contains(event) ? Set.of() : Set.of(SessionEntity.tagFor(sessionId));
    }
  }
}
