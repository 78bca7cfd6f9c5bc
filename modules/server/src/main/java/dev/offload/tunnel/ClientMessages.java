package dev.offload.tunnel;

import akka.NotUsed;
import akka.http.javadsl.model.ws.BinaryMessage;
import akka.http.javadsl.model.ws.Message;
import akka.http.javadsl.model.ws.TextMessage;
import akka.stream.StreamLimitReachedException;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Source;
import akka.util.ByteString;

/**
 * What a client's WebSocket messages mean for the engine, in order: bytes, control messages, or
 * a message too large to take. Streamed messages are read as they arrive, never whole, so a
 * large one costs no more memory than a small one.
 */
final class ClientMessages {

  /** Largest WebSocket message accepted from a client (runners-and-tunnels.md). */
  static final int MAX_MESSAGE = 1024 * 1024;

  sealed interface Item {}

  record Data(ByteString bytes) implements Item {}

  record Control(ControlMessage.Inbound message) implements Item {}

  record TooLarge() implements Item {}

  private ClientMessages() {}

  /** The client's messages as items, in order; {@link EngineWriter} batches them. */
  static Flow<Message, Item, NotUsed> items() {
    return Flow.<Message>create().flatMapConcat(ClientMessages::items);
  }

  /**
   * A strict message (the CLI sends only those) becomes its item directly: {@code flatMapConcat}
   * takes a single-element source without materialising a substream for it. Only a streamed
   * message is read as a stream.
   */
  private static Source<Item, ?> items(Message message) {
    if (message.isText()) {
      TextMessage text = message.asTextMessage();
      if (text.isStrict()) {
        String whole = text.getStrictText();
        return Source.single(whole.length() > MAX_MESSAGE
            ? new TooLarge() : new Control(ControlMessage.parse(whole)));
      }
      return text.getStreamedText()
          .limitWeighted(MAX_MESSAGE, part -> (long) part.length())
          .fold("", String::concat)
          .map(whole -> (Item) new Control(ControlMessage.parse(whole)))
          .recover(StreamLimitReachedException.class, TooLarge::new);
    }
    BinaryMessage binary = message.asBinaryMessage();
    if (binary.isStrict()) {
      ByteString bytes = binary.getStrictData();
      return Source.single(bytes.size() > MAX_MESSAGE ? new TooLarge() : new Data(bytes));
    }
    return binary.getStreamedData()
        .limitWeighted(MAX_MESSAGE, part -> (long) part.size())
        .map(part -> (Item) new Data(part))
        .recover(StreamLimitReachedException.class, TooLarge::new);
  }
}
