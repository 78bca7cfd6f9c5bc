package dev.offload.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.persistence.jdbc.query.javadsl.JdbcReadJournal;
import akka.persistence.query.EventEnvelope;
import akka.persistence.query.Offset;
import akka.persistence.query.PersistenceQuery;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.javadsl.CommandHandler;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehavior;
import akka.stream.javadsl.Sink;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.offload.CborSerializable;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The persistence fragment of {@link Database} drives a real journal, snapshot store and read
 * journal.
 */
class JournalOnDatabaseTest {

  private static ActorTestKit testKit;

  @BeforeAll
  static void startActorSystem() {
    testKit =
        ActorTestKit.create(
            "JournalOnDatabaseTest",
            TestDatabase.akkaConfig()
                .withFallback(
                    ConfigFactory.parseString(
                        "akka.actor.provider = local\n"
                            + "akka.coordinated-shutdown.run-by-jvm-shutdown-hook = off\n"
                            + "akka.actor.testkit.typed.system-shutdown-default = 30s"))
                .withFallback(ConfigFactory.load()));
  }

  @AfterAll
  static void stopActorSystem() {
    testKit.shutdownTestKit();
  }

  @Test
  void persistsRecoversSnapshotsAndFindsEventsByTag() throws Exception {
    String notebook = "notebook-" + UUID.randomUUID();
    String tag = "notes-" + UUID.randomUUID();
    TestProbe<Done> written = testKit.createTestProbe();
    ActorRef<Notes.Command> first = testKit.spawn(Notes.create(notebook, tag));
    first.tell(new Notes.Add("hello", written.ref()));
    written.expectMessage(Done.getInstance());
    testKit.stop(first);

    TestProbe<Notes.Notebook> read = testKit.createTestProbe();
    testKit.spawn(Notes.create(notebook, tag)).tell(new Notes.Read(read.ref()));
    assertEquals(List.of("hello"), read.receiveMessage().notes());

    JdbcReadJournal journal =
        PersistenceQuery.get(testKit.system())
            .getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    List<EventEnvelope> tagged =
        journal
            .currentEventsByTag(tag, Offset.noOffset())
            .runWith(Sink.seq(), testKit.system())
            .toCompletableFuture()
            .get(30, TimeUnit.SECONDS);
    assertEquals(
        List.of(new Notes.NoteAdded(notebook, "hello")),
        tagged.stream().map(EventEnvelope::event).toList());
    assertEquals(1, snapshotsOf(notebook));
  }

  @Test
  void sharesOneBatchingPoolBetweenJournalSnapshotsAndQueries() {
    Config akka = TestDatabase.akkaConfig();
    Config db = akka.getConfig("akka-persistence-jdbc.shared-databases.slick.db");

    assertTrue(db.getString("url").endsWith("?reWriteBatchedInserts=true"), db.getString("url"));
    assertEquals(4, db.getInt("numThreads"));
    assertEquals(4, db.getInt("maxConnections"));
    for (String plugin : List.of("jdbc-journal", "jdbc-journal-2", "jdbc-snapshot-store", "jdbc-read-journal")) {
      assertEquals("slick", akka.getString(plugin + ".use-shared-db"), plugin);
    }
  }

  private static int snapshotsOf(String persistenceId) throws Exception {
    try (Connection c = TestDatabase.get().dataSource().getConnection();
        PreparedStatement ps =
            c.prepareStatement("SELECT count(*) FROM snapshot WHERE persistence_id = ?")) {
      ps.setString(1, persistenceId);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  /** The smallest tagged, snapshotting entity. */
  static final class Notes
      extends EventSourcedBehavior<Notes.Command, Notes.NoteAdded, Notes.Notebook> {

    interface Command {}

    record Add(String text, ActorRef<Done> replyTo) implements Command {}

    record Read(ActorRef<Notebook> replyTo) implements Command {}

    record NoteAdded(String notebook, String text) implements CborSerializable {}

    record Notebook(String id, List<String> notes) implements CborSerializable {}

    private final String id;
    private final String tag;

    private Notes(String id, String tag) {
      super(PersistenceId.ofUniqueId(id));
      this.id = id;
      this.tag = tag;
    }

    static Behavior<Command> create(String id, String tag) {
      return new Notes(id, tag);
    }

    @Override
    public Notebook emptyState() {
      return new Notebook(id, List.of());
    }

    @Override
    public CommandHandler<Command, NoteAdded, Notebook> commandHandler() {
      return newCommandHandlerBuilder()
          .forAnyState()
          .onCommand(
              Add.class,
              add ->
                  Effect()
                      .persist(new NoteAdded(id, add.text()))
                      .thenReply(add.replyTo(), s -> Done.getInstance()))
          .onCommand(Read.class, (state, r) -> Effect().reply(r.replyTo(), state))
          .build();
    }

    @Override
    public EventHandler<Notebook, NoteAdded> eventHandler() {
      return (state, event) -> {
        List<String> notes = new ArrayList<>(state.notes());
        notes.add(event.text());
        return new Notebook(id, notes);
      };
    }

    @Override
    public Set<String> tagsFor(NoteAdded event) {
      return Set.of(tag);
    }

    @Override
    public boolean shouldSnapshot(Notebook state, NoteAdded event, long sequenceNr) {
      return true;
    }
  }
}
