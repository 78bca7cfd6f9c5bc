package dev.offload.session;

import static org.junit.jupiter.api.Assertions.*;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.serialization.Serialization;
import akka.serialization.SerializationExtension;
import akka.serialization.Serializer;
import akka.serialization.Serializers;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.typesafe.config.ConfigFactory;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The journal is the system of record: events written by an earlier release must still be read.
 * {@code session-events-vN.json} holds the bytes release N's serializer wrote for one event of
 * every type it had; event classes are append-only, so these tests must keep passing unchanged.
 * Regenerate only to add a new release's file: {@code -Doffload.fixtures.write=<path of the new file>}.
 */
class JournalCompatibilityTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ActorTestKit TESTKIT =
      ActorTestKit.create(ConfigFactory.parseString("akka.actor.provider = local").withFallback(ConfigFactory.load()));

  @AfterAll
  static void shutdown() {
    TESTKIT.shutdownTestKit();
  }

  @Test
  void eventsWrittenByVersion1AreReadBack() throws Exception {
    readBack("session-events-v1.json", SessionEventFixtures.version1Events());
  }

  /** Version 2 added the ports a running container publishes. */
  @Test
  void eventsWrittenByVersion2AreReadBack() throws Exception {
    Serialization serialization = SerializationExtension.get(TESTKIT.system().classicSystem());
    String target = System.getProperty("offload.fixtures.write");
    if (target != null) write(serialization, Path.of(target));
    readBack("session-events-v2.json", SessionEventFixtures.allEvents());
  }

  private static void readBack(String file, List<SessionEvent> expected) throws Exception {
    Serialization serialization = SerializationExtension.get(TESTKIT.system().classicSystem());
    JsonNode fixtures;
    try (InputStream in = JournalCompatibilityTest.class.getResourceAsStream("/fixtures/" + file)) {
      assertNotNull(in, "fixtures/" + file + " is missing");
      fixtures = JSON.readTree(in);
    }
    assertEquals(expected.size(), fixtures.size());
    for (int i = 0; i < expected.size(); i++) {
      JsonNode f = fixtures.get(i);
      Object read = serialization.deserialize(Base64.getDecoder().decode(f.get("bytes").asText()),
          f.get("serializerId").asInt(), f.get("manifest").asText()).get();
      assertEquals(expected.get(i), read, f.get("manifest").asText());
    }
    SessionState replayed = SessionState.empty(SessionEventFixtures.SESSION_ID);
    for (JsonNode f : fixtures) {
      SessionEvent e = (SessionEvent) serialization.deserialize(Base64.getDecoder().decode(f.get("bytes").asText()),
          f.get("serializerId").asInt(), f.get("manifest").asText()).get();
      assertEquals(replayed.lastHash(), e.prevHash(), "the chain still holds after reading");
      replayed = replayed.apply(e);
    }
  }

  private static void write(Serialization serialization, Path file) throws Exception {
    ArrayNode out = JSON.createArrayNode();
    for (SessionEvent event : SessionEventFixtures.allEvents()) {
      Serializer serializer = serialization.findSerializerFor(event);
      out.addObject()
          .put("serializerId", serializer.identifier())
          .put("manifest", Serializers.manifestFor(serializer, event))
          .put("bytes", Base64.getEncoder().encodeToString(serializer.toBinary(event)));
    }
    Files.createDirectories(file.getParent());
    Files.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out));
  }
}
