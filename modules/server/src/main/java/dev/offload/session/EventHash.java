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
      return sha256(event.getClass().getSimpleName() + ":" + CANONICAL.writeValueAsString(event));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("session event cannot be encoded: " + event, e);
    }
  }

  private static String sha256(String text) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(digest.digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }
}
