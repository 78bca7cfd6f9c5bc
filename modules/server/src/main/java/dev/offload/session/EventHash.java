package dev.offload.session;

import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The tamper-evident chain of billing.md: each event's {@code prevHash} is the SHA-256 of the
 * previous event's canonical encoding, and the first event's is the hash of the session id. The
 * canonical encoding is the event's type name and its JSON with sorted keys and ISO instants, so
 * the audit can recompute it from any replay without the serializer's byte layout.
 */
public final class EventHash {

  private static final ObjectMapper CANONICAL =
      JsonMapper.builder()
          .addModule(new JavaTimeModule())
          .configure(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY, true)
          .configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true)
          .configure(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS, false)
          .build();

  private EventHash() {}

  /** The {@code prevHash} of a session's first event. */
  public static String genesis(String sessionId) {
    return sha256("session:" + sessionId);
  }

  /** The hash the event after this one must carry as its {@code prevHash}. */
  public static String of(SessionEvent event) {
    try {
      // The same bytes as the UTF-8 of "<type>:<json>", without building the string.
      MessageDigest digest = DIGEST.get();
      digest.update((event.getClass().getSimpleName() + ":").getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest.digest(CANONICAL.writeValueAsBytes(event)));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("session event cannot be encoded: " + event, e);
    }
  }

  private static String sha256(String text) {
    return HexFormat.of().formatHex(DIGEST.get().digest(text.getBytes(StandardCharsets.UTF_8)));
  }

  /** Hashing is on the path of every fold and replay; a digest is reset by each digest() call. */
  private static final ThreadLocal<MessageDigest> DIGEST = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  });
}
