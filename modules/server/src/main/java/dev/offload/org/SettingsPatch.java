package dev.offload.org;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * A settings update as sent in a PUT: a null field keeps the current value. The monthly limit
 * can also be removed, so it tells three cases apart: null (field left out) keeps it, an empty
 * Optional (JSON {@code null}) removes it, a value sets it.
 */
public record SettingsPatch(
    Boolean offloadEnabled,
    Integer idleTimeoutSeconds,
    Boolean allowUserIdleTimeout,
    Integer maxSessionsPerUser,
    Integer maxLiveSessions,
    Boolean onDemandEnabled,
    @JsonDeserialize(using = RemovableLimit.class) Optional<Long> monthlyLimitCents,
    List<String> runnerClasses) {

  /** JSON null is "no limit", a left-out field is "unchanged". */
  static final class RemovableLimit extends JsonDeserializer<Optional<Long>> {
    @Override
    public Optional<Long> deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      return Optional.of(ctxt.readValue(p, Long.class));
    }

    @Override
    public Optional<Long> getNullValue(DeserializationContext ctxt) {
      return Optional.empty();
    }

    @Override
    public Object getAbsentValue(DeserializationContext ctxt) {
      return null;
    }
  }
}
