package dev.offload;

/**
 * Marker for every message, event and state that crosses nodes or is persisted. Bound to Akka's
 * Jackson CBOR serializer in {@code reference.conf}, so adding a message type needs no
 * configuration change.
 */
public interface CborSerializable {}
