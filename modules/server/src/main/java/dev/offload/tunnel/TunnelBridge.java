package dev.offload.tunnel;

import akka.NotUsed;
import akka.stream.KillSwitches;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.http.javadsl.model.ws.Message;
import akka.http.javadsl.model.ws.TextMessage;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * One tunnel connection: the client's WebSocket on one side, an SSH channel to the engine on the
 * other. Backpressure holds end to end: engine bytes wait in a small queue the SSH reader blocks
 * on (so the runner's window stops the engine), client bytes are written by one blocking call at a
 * time (so JSch's remote window stops the WebSocket). The connection ends when both sides have
 * half-closed, when either goes away, or when it is closed for the session.
 */
final class TunnelBridge {

  /**
   * The most engine bytes one connection holds on this node, whatever its client does: the
   * backlog and the one packet the SSH reader waits to add. The backlog is the socket's own
   * source, so no stream boundary adds a read-ahead buffer of its own.
   */
  static final long MAX_BUFFERED = (long) EngineBacklog.CAPACITY + EngineChannel.PACKET;

  private final String sessionId;
  private final String connectionId;
  private final Executor blocking;
  private final Consumer<TunnelBridge> onEnded;
  private final TunnelSocket.Closing closing = new TunnelSocket.Closing();
  private final EngineBacklog backlog = new EngineBacklog(this::delivered);
  /** Exists once akka-http runs the socket's streams. */
  private final CompletableFuture<UniqueKillSwitch> engineSwitch = new CompletableFuture<>();
  private final CompletableFuture<List<Message>> lastMessages = new CompletableFuture<>();
  private final AtomicBoolean ending = new AtomicBoolean();
  private final AtomicBoolean cleanedUp = new AtomicBoolean();
  private final AtomicBoolean engineEof = new AtomicBoolean();
  private final AtomicLong buffered = new AtomicLong();
  private final AtomicLong unreportedBytes = new AtomicLong();
  private final long createdNanos = System.nanoTime();
  private volatile boolean claimed;
  private volatile boolean clientEof;
  private volatile EngineChannel channel;

  TunnelBridge(String sessionId, String connectionId, Executor blocking, Consumer<TunnelBridge> onEnded) {
    this.sessionId = sessionId;
    this.connectionId = connectionId;
    this.blocking = blocking;
    this.onEnded = onEnded;
  }

  String sessionId() {
    return sessionId;
  }

  String connectionId() {
    return connectionId;
  }

  TunnelSocket.Closing closing() {
    return closing;
  }

  /** Where the engine channel pushes what the engine sends. */
  OutputStream engineSink() {
    return new EngineSink();
  }

  void attach(EngineChannel channel) {
    this.channel = channel;
  }

  long buffered() {
    return buffered.get();
  }

  /** Bytes moved since the last call, for the session's activity. */
  long takeBytes() {
    return unreportedBytes.getAndSet(0);
  }

  Flow<Message, Message, NotUsed> flow() {
    Sink<Message, NotUsed> fromClient =
        ClientMessages.items()
            .to(new EngineWriter(blocking, this::toEngine, () -> end(TunnelSocket.NORMAL, List.of(), true)).sink());
    Source<Message, NotUsed> toClient =
        Source.fromGraph(backlog.source())
            .viaMat(KillSwitches.single(), Keep.right())
            .mapMaterializedValue(killSwitch -> {
              engineSwitch.complete(killSwitch);
              return NotUsed.getInstance();
            })
            .concat(Source.completionStage(lastMessages).mapConcat(last -> last))
            .watchTermination((mat, done) -> {
              claimed = true;
              done.whenComplete((ok, failure) -> cleanUp());
              return mat;
            });
    return Flow.fromSinkAndSource(fromClient, toClient);
  }

  /**
   * True when akka-http never ran this connection's streams: the client left before the upgrade
   * response reached it, and nothing else would ever end the connection.
   */
  boolean unclaimedFor(Duration time) {
    return !claimed && System.nanoTime() - createdNanos > time.toNanos();
  }

  void abandon() {
    cleanUp();
  }

  /** Ends the connection for a reason of the session's, telling the client why. */
  void close(int code, String errorCode, String message) {
    end(code, List.of(TextMessage.create(ControlMessage.error(errorCode, message))), true);
  }

  // ---- client to engine ----

  /** Blocks while the runner's window is full, which is what slows a fast client down. */
  private void toEngine(List<ClientMessages.Item> items) {
    boolean unflushed = false;
    try {
      for (ClientMessages.Item item : items) {
        if (ending.get()) return;
        if (item instanceof ClientMessages.Data data) {
          if (clientEof) {
            failProtocol("bytes after eof; open a new connection instead");
            return;
          }
          channel.write(data.bytes());
          unflushed = true;
          TunnelMetrics.BYTES.labelValues("in").inc(data.bytes().size());
          unreportedBytes.addAndGet(data.bytes().size());
        } else if (item instanceof ClientMessages.TooLarge) {
          end(TunnelSocket.TOO_BIG, List.of(error("payload_too_large",
              "WebSocket messages are limited to 1 MiB (" + ClientMessages.MAX_MESSAGE
                  + " bytes); send the data in smaller messages")), true);
          return;
        } else {
          ControlMessage.Inbound control = ((ClientMessages.Control) item).message();
          if (control instanceof ControlMessage.Eof) {
            channel.shutdownOutput(); // flushes what is still buffered first
            unflushed = false;
            clientEof = true;
            if (engineEof.get()) end(TunnelSocket.NORMAL, List.of(), false);
          } else if (control instanceof ControlMessage.Failed) {
            end(TunnelSocket.NORMAL, List.of(), true);
            return;
          } else {
            failProtocol(((ControlMessage.Invalid) control).reason());
            return;
          }
        }
      }
      if (unflushed) channel.flush();
    } catch (IOException | RuntimeException e) {
      // Ends the connection whatever failed: the writer task must not die with it unnoticed.
      end(TunnelSocket.INTERNAL_ERROR,
          List.of(error("internal", "the connection to the engine failed: " + e.getMessage())), true);
    }
  }

  private void failProtocol(String reason) {
    end(TunnelSocket.POLICY_VIOLATION, List.of(error("invalid_argument", reason)), true);
  }

  // ---- engine to client ----

  private void delivered(long size) {
    buffered.addAndGet(-size);
    TunnelMetrics.BYTES.labelValues("out").inc(size);
    unreportedBytes.addAndGet(size);
  }

  /**
   * Called by JSch's reader thread; blocking it while the backlog is full is how a slow client
   * slows the engine. JSch reads
   * every channel of an SSH connection on that one thread and grants window without asking the
   * reader, so until tunnels get connections of their own, a client that stops reading also holds
   * up the other tunnels to the same runner until it reads again.
   */
  private final class EngineSink extends OutputStream {
    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] bytes, int offset, int length) throws IOException {
      if (length == 0) return;
      buffered.addAndGet(length);
      try {
        backlog.add(bytes, offset, length);
      } catch (IOException e) {
        buffered.addAndGet(-length);
        throw e;
      }
    }

    /**
     * JSch closes the sink on the engine's EOF, again when the channel closes, and also when the
     * channel fails to open, before the socket's streams exist: so the eof goes behind the bytes
     * already waiting, without waiting for the streams, and never blocks the caller.
     */
    @Override
    public void close() {
      if (!engineEof.compareAndSet(false, true)) return;
      backlog.finish();
      if (clientEof) end(TunnelSocket.NORMAL, List.of(), false);
    }
  }

  // ---- ending ----

  /**
   * Decides how the connection ends, once: the last messages to the client and the close code.
   * An abrupt end drops engine bytes not yet delivered; an orderly one delivers them first.
   */
  private void end(int code, List<Message> last, boolean abrupt) {
    if (!ending.compareAndSet(false, true)) return;
    closing.with(code, "");
    lastMessages.complete(last);
    if (abrupt) engineSwitch.thenAccept(UniqueKillSwitch::shutdown);
  }

  /** Once the client has had everything it will get. */
  private void cleanUp() {
    if (!cleanedUp.compareAndSet(false, true)) return;
    end(TunnelSocket.NORMAL, List.of(), true);
    backlog.close();
    EngineChannel open = channel;
    if (open != null) blocking.execute(open::disconnect);
    onEnded.accept(this);
  }

  private static Message error(String code, String message) {
    return TextMessage.create(ControlMessage.error(code, message));
  }
}
