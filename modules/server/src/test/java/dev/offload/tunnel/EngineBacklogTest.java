package dev.offload.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.ActorSystem;
import akka.http.javadsl.model.ws.Message;
import akka.stream.Attributes;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.SinkQueueWithCancel;
import akka.stream.javadsl.Source;
import dev.offload.testing.Await;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The engine's bytes on their way to a client: bounded, in order, joined when the client lags. */
class EngineBacklogTest {
  private static final String EOF = "{\"type\":\"eof\"}";
  private static ActorSystem system;

  @BeforeAll
  static void start() {
    system = ActorSystem.create("engine-backlog-test");
  }

  @AfterAll
  static void stop() throws Exception {
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  void packetsWaitingForASlowClientGoOutJoinedAndInOrder() throws Exception {
    AtomicLong taken = new AtomicLong();
    EngineBacklog backlog = new EngineBacklog(taken::addAndGet);
    byte[] data = random(EngineBacklog.CAPACITY);
    // The client has not asked yet: every packet waits, as when it reads slower than the engine.
    for (int offset = 0; offset < data.length; offset += 1000) {
      backlog.add(data, offset, Math.min(1000, data.length - offset));
    }
    backlog.finish();

    List<Message> messages = Source.fromGraph(backlog.source())
        .runWith(Sink.seq(), system).toCompletableFuture().get(30, TimeUnit.SECONDS);

    ByteArrayOutputStream received = new ByteArrayOutputStream();
    List<Message> binary = messages.subList(0, messages.size() - 1);
    for (Message message : binary) {
      byte[] bytes = message.asBinaryMessage().getStrictData().toArray();
      assertTrue(bytes.length <= EngineBacklog.MESSAGE, bytes.length + " bytes in one message");
      received.writeBytes(bytes);
    }
    assertArrayEquals(data, received.toByteArray(), "the bytes, in order, unchanged");
    assertEquals(1, binary.size(), "263 packets waiting went out as one message");
    assertEquals(EOF, messages.get(messages.size() - 1).asTextMessage().getStrictText(),
        "the engine's end comes after its bytes");
    assertEquals(data.length, taken.get());
    assertEquals(0, backlog.queued());
  }

  @Test
  void theEngineWaitsWhileTheClientDoesNotReadAndTheBacklogStaysBounded() throws Exception {
    EngineBacklog backlog = new EngineBacklog(bytes -> {});
    SinkQueueWithCancel<Message> client = Source.fromGraph(backlog.source())
        .runWith(Sink.<Message>queue().withAttributes(Attributes.inputBuffer(1, 1)), system);
    byte[] data = random(4 * 1024 * 1024);
    int packet = EngineChannel.PACKET;
    AtomicLong written = new AtomicLong();
    CompletableFuture<Void> engine = CompletableFuture.runAsync(() -> {
      try {
        for (int offset = 0; offset < data.length; offset += packet) {
          backlog.add(data, offset, packet);
          written.addAndGet(packet);
        }
        backlog.finish();
      } catch (IOException e) {
        throw new RuntimeException(e);
      }
    });

    long[] most = {0};
    Await.until(Duration.ofSeconds(30), () -> {
      most[0] = Math.max(most[0], backlog.queued());
      return backlog.queued();
    }, queued -> queued > EngineBacklog.CAPACITY - packet, "the backlog to fill");
    long writtenWhenFull = written.get();
    assertFalse(engine.isDone(), "the engine waits for room");
    assertTrue(most[0] <= EngineBacklog.CAPACITY, "held " + most[0] + " bytes");
    assertTrue(writtenWhenFull < data.length / 2, "the engine stopped early: " + writtenWhenFull);

    ByteArrayOutputStream received = new ByteArrayOutputStream();
    List<String> texts = new ArrayList<>();
    while (true) {
      Optional<Message> next = client.pull().toCompletableFuture().get(30, TimeUnit.SECONDS);
      if (next.isEmpty()) break;
      assertTrue(backlog.queued() <= EngineBacklog.CAPACITY);
      if (next.get().isText()) {
        texts.add(next.get().asTextMessage().getStrictText());
      } else {
        received.writeBytes(next.get().asBinaryMessage().getStrictData().toArray());
      }
    }
    engine.get(30, TimeUnit.SECONDS);
    assertArrayEquals(data, received.toByteArray(), "the bytes, in order, unchanged");
    assertEquals(List.of(EOF), texts);
  }

  @Test
  void aConnectionThatEndsReleasesAWaitingEngine() throws Exception {
    EngineBacklog backlog = new EngineBacklog(bytes -> {});
    byte[] packet = new byte[EngineChannel.PACKET];
    CompletableFuture<Void> engine = CompletableFuture.runAsync(() -> {
      try {
        while (true) backlog.add(packet, 0, packet.length);
      } catch (IOException e) {
        throw new RuntimeException(e);
      }
    });
    Await.until(Duration.ofSeconds(30), backlog::queued,
        queued -> queued > EngineBacklog.CAPACITY - packet.length, "the backlog to fill");

    backlog.close();

    Exception failed = assertThrows(Exception.class, () -> engine.get(30, TimeUnit.SECONDS));
    assertTrue(failed.getCause().getCause() instanceof IOException, failed.toString());
    assertEquals(0, backlog.queued());
    assertThrows(IOException.class, () -> backlog.add(packet, 0, 1), "and refuses more");
  }

  private static byte[] random(int size) {
    byte[] bytes = new byte[size];
    new Random(size).nextBytes(bytes);
    return bytes;
  }
}
