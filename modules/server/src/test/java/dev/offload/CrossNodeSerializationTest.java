package dev.offload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.typed.ActorRef;
import akka.serialization.Serialization;
import akka.serialization.SerializationExtension;
import akka.serialization.Serializer;
import akka.serialization.Serializers;
import akka.serialization.jackson.JacksonCborSerializer;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Every message, reply, event and state type of the product (everything marked
 * {@link CborSerializable}: session and billing entity commands and replies, the runner pool's
 * protocol, journal events, snapshots) is found on the class path, filled with sample values and
 * sent through the ActorSystem's serialization as a remote node would receive it: Jackson CBOR,
 * never Java serialization, and equal after the round trip. A new message type is covered without
 * touching this test.
 */
class CrossNodeSerializationTest {

  private static final ActorTestKit TESTKIT = ActorTestKit.create();
  private static final Instant AT = Instant.parse("2026-11-28T10:00:00.250Z");
  /**
   * Wrappers a message adapter builds inside the actor from a reply that did cross nodes (and is
   * checked here as its own type): they never leave the actor's node.
   */
  private static final Set<String> LOCAL_ONLY = Set.of("dev.offload.session.SessionEntity$LeaseAnswered");

  @AfterAll
  static void stop() {
    TESTKIT.shutdownTestKit();
  }

  @Test
  void everyCrossNodeTypeRoundTripsThroughJacksonCbor() throws Exception {
    Serialization serialization = SerializationExtension.get(TESTKIT.system().classicSystem());
    List<Class<?>> types = productTypes();
    assertTrue(types.size() >= 60, "found only " + types.size() + " message types: " + types);
    List<String> checked = new ArrayList<>();
    List<String> failed = new ArrayList<>();
    for (Class<?> type : types) {
      Object message = sample(type, 0);
      Serializer serializer = serialization.findSerializerFor(message);
      assertTrue(serializer instanceof JacksonCborSerializer, type.getName() + " would use " + serializer);
      try {
        byte[] bytes = serialization.serialize(message).get();
        Object back = serialization.deserialize(bytes, serializer.identifier(), Serializers.manifestFor(serializer, message)).get();
        if (message.equals(back)) checked.add(type.getSimpleName());
        else failed.add(type.getName() + ": came back as " + back);
      } catch (Exception e) {
        failed.add(type.getName() + ": " + e.getMessage().lines().findFirst().orElse(""));
      }
    }
    System.out.println("Round-tripped " + checked.size() + " types: " + checked);
    assertEquals(List.of(), failed);
  }

  /** Concrete classes under dev.offload that are CborSerializable, from the compiled classes. */
  private static List<Class<?>> productTypes() throws URISyntaxException, Exception {
    Path root = Path.of(CborSerializable.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    List<Class<?>> found = new ArrayList<>();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".class")).toList()) {
        String name = root.relativize(file).toString().replace('/', '.').replaceAll("\\.class$", "");
        Class<?> type = Class.forName(name, false, CborSerializable.class.getClassLoader());
        if (CborSerializable.class.isAssignableFrom(type) && !type.isInterface()
            && !Modifier.isAbstract(type.getModifiers()) && !LOCAL_ONLY.contains(type.getName())) {
          found.add(type);
        }
      }
    }
    return found;
  }

  private static Object sample(Type type, int depth) throws Exception {
    if (type instanceof ParameterizedType p) {
      Class<?> raw = (Class<?>) p.getRawType();
      Type[] args = p.getActualTypeArguments();
      if (raw == List.class) return List.of(sample(args[0], depth + 1));
      if (raw == Set.class) return Set.of(sample(args[0], depth + 1));
      if (raw == Map.class) return Map.of(sample(args[0], depth + 1), sample(args[1], depth + 1));
      if (raw == Optional.class) return Optional.of(sample(args[0], depth + 1));
      if (raw == ActorRef.class) return TESTKIT.createTestProbe().ref();
      return sample(raw, depth);
    }
    Class<?> c = (Class<?>) type;
    if (c == String.class) return "7f1d3c1e-4a8b-4c39-9d6e-2b1f0c5a9e31";
    if (c == int.class || c == Integer.class) return 3;
    if (c == long.class || c == Long.class) return 42L;
    if (c == double.class || c == Double.class) return 1.5;
    if (c == boolean.class || c == Boolean.class) return true;
    if (c == Instant.class) return AT;
    if (c == Duration.class) return Duration.ofSeconds(90);
    if (c == YearMonth.class) return YearMonth.of(2026, 11);
    if (c == UUID.class) return UUID.fromString("7f1d3c1e-4a8b-4c39-9d6e-2b1f0c5a9e31");
    if (c == ActorRef.class) return TESTKIT.createTestProbe().ref();
    if (c.isEnum()) return c.getEnumConstants()[0];
    if (depth > 6) return null;
    if (c.isRecord()) {
      RecordComponent[] components = c.getRecordComponents();
      Class<?>[] types = new Class<?>[components.length];
      Object[] values = new Object[components.length];
      for (int i = 0; i < components.length; i++) {
        types[i] = components[i].getType();
        values[i] = sample(components[i].getGenericType(), depth + 1);
      }
      var constructor = c.getDeclaredConstructor(types);
      constructor.setAccessible(true);
      return constructor.newInstance(values);
    }
    if (c.isSealed()) {
      for (Class<?> permitted : c.getPermittedSubclasses()) {
        if (permitted.isRecord()) return sample(permitted, depth + 1);
      }
    }
    throw new IllegalArgumentException("no sample value for " + c.getName() + "; teach this test one");
  }
}
