package dev.offload.tunnel;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The JSON control messages carried in text frames (runners-and-tunnels.md): {@code eof} and
 * {@code error}, in both directions. Anything else is a protocol violation.
 */
final class ControlMessage {
  /** One JSON value per frame: {@code {"type":"eof"} rm -rf} is not an eof. */
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  /** What a client's text frame means to the bridge. */
  sealed interface Inbound {}

  /** The client closed its write side; the engine should see end of input. */
  record Eof() implements Inbound {}

  /** The client gave up on the connection and says why. */
  record Failed(String message) implements Inbound {}

  /** Not a control message this protocol knows. */
  record Invalid(String reason) implements Inbound {}

  private ControlMessage() {}

  static String eof() {
    return "{\"type\":\"eof\"}";
  }

  static String error(String code, String message) {
    ObjectNode node = JSON.createObjectNode();
    node.put("type", "error");
    node.put("code", code);
    node.put("message", message);
    return node.toString();
  }

  static Inbound parse(String text) {
    JsonNode node;
    try {
      node = JSON.readTree(text);
    } catch (JsonProcessingException e) {
      return new Invalid("a text frame must be a JSON control message");
    }
    if (node == null || !node.isObject() || !node.path("type").isTextual()) {
      return new Invalid("a control message is a JSON object with a \"type\"");
    }
    return switch (node.get("type").asText()) {
      case "eof" -> new Eof();
      case "error" -> new Failed(node.path("message").asText(""));
      default -> new Invalid(
          "unknown control message type \"" + node.get("type").asText() + "\"; expected eof or error");
    };
  }
}
