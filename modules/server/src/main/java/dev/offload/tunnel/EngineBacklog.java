package dev.offload.tunnel;

import akka.http.javadsl.model.ws.BinaryMessage;
import akka.http.javadsl.model.ws.Message;
import akka.http.javadsl.model.ws.TextMessage;
import akka.stream.Attributes;
import akka.stream.Outlet;
import akka.stream.SourceShape;
import akka.stream.stage.AbstractOutHandler;
import akka.stream.stage.AsyncCallback;
import akka.stream.stage.GraphStage;
import akka.stream.stage.GraphStageLogic;
import akka.util.ByteString;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayDeque;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongConsumer;

/**
 * Engine bytes a client has not taken yet, bounded in bytes. JSch's reader adds to it and blocks
 * only while it is full; the socket's stream takes everything waiting at once, as one message of up
 * to {@link #MESSAGE} bytes. So a fast client gets each packet as it comes (one hand-off, no wait
 * for the stream to acknowledge it), and a slower one gets fewer, larger messages instead of a
 * frame per 32 KiB packet.
 */
final class EngineBacklog {

  /** Engine bytes waiting for the client; the SSH reader blocks beyond this. */
  static final int CAPACITY = 256 * 1024;
  /** Largest message sent to the client: well below the 1 MiB frame limit of clients. */
  static final int MESSAGE = 256 * 1024;

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition room = lock.newCondition();
  private final ArrayDeque<ByteString> chunks = new ArrayDeque<>();
  private final LongConsumer onTaken;
  private long queued;
  private boolean eof;
  private boolean closed;
  /** The stream asked while nothing was waiting: the next arrival wakes it. */
  private Runnable waiting;

  /** {@code onTaken} hears of every byte the stream takes, on the stream's thread. */
  EngineBacklog(LongConsumer onTaken) {
    this.onTaken = onTaken;
  }

  /**
   * Adds a copy of the bytes, waiting while the backlog is full; a chunk larger than the whole
   * capacity still goes in once the backlog is empty.
   */
  void add(byte[] bytes, int offset, int length) throws IOException {
    ByteString chunk = ByteString.fromArray(bytes, offset, length);
    Runnable wake;
    lock.lock();
    try {
      while (!closed && queued > 0 && queued + length > CAPACITY) {
        room.await();
      }
      if (closed) throw new IOException("the tunnel connection is closed");
      chunks.addLast(chunk);
      queued += length;
      wake = waiting;
      waiting = null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while the client was slow");
    } finally {
      lock.unlock();
    }
    if (wake != null) wake.run();
  }

  /** The engine's end of output: delivered after the bytes already waiting. */
  void finish() {
    Runnable wake;
    lock.lock();
    try {
      eof = true;
      wake = waiting;
      waiting = null;
    } finally {
      lock.unlock();
    }
    if (wake != null) wake.run();
  }

  /** Nothing more will be taken: drops what waits and fails the writer, now and from now on. */
  void close() {
    lock.lock();
    try {
      closed = true;
      chunks.clear();
      queued = 0;
      room.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Bytes waiting, for tests. */
  long queued() {
    lock.lock();
    try {
      return queued;
    } finally {
      lock.unlock();
    }
  }

  private sealed interface Taken {}

  private record Bytes(ByteString bytes) implements Taken {}

  private record End() implements Taken {}

  private record Nothing() implements Taken {}

  private static final Taken NOTHING = new Nothing();
  private static final Taken END = new End();

  /** Everything waiting up to one message, else the end, else nothing and {@code wake} is armed. */
  private Taken take(Runnable wake) {
    lock.lock();
    try {
      if (chunks.isEmpty()) {
        if (eof) return END;
        waiting = wake;
        return NOTHING;
      }
      ByteString message = chunks.pollFirst();
      long taken = message.size();
      while (!chunks.isEmpty() && taken + chunks.peekFirst().size() <= MESSAGE) {
        ByteString next = chunks.pollFirst();
        message = message.concat(next); // a rope: joined without copying
        taken += next.size();
      }
      queued -= taken;
      room.signalAll();
      return new Bytes(message);
    } finally {
      lock.unlock();
    }
  }

  /** The socket's source of engine messages: binary ones, then the eof control message. */
  GraphStage<SourceShape<Message>> source() {
    return new Stage();
  }

  private final class Stage extends GraphStage<SourceShape<Message>> {
    private final Outlet<Message> out = Outlet.create("EngineBacklog.out");
    private final SourceShape<Message> shape = SourceShape.of(out);

    @Override
    public SourceShape<Message> shape() {
      return shape;
    }

    @Override
    public GraphStageLogic createLogic(Attributes attributes) {
      return new GraphStageLogic(shape) {
        private AsyncCallback<Object> arrived;
        private final Runnable wake = () -> arrived.invoke(Boolean.TRUE);

        {
          setHandler(out, new AbstractOutHandler() {
            @Override
            public void onPull() {
              deliver();
            }

            @Override
            public void onDownstreamFinish(Throwable cause) throws Exception {
              close();
              super.onDownstreamFinish(cause);
            }
          });
        }

        @Override
        public void preStart() {
          arrived = createAsyncCallback(ignored -> {
            if (isAvailable(out)) deliver();
          });
        }

        @Override
        public void postStop() {
          close();
        }

        private void deliver() {
          Taken taken = take(wake);
          if (taken instanceof Bytes bytes) {
            onTaken.accept(bytes.bytes().size());
            push(out, BinaryMessage.create(bytes.bytes()));
          } else if (taken instanceof End) {
            push(out, TextMessage.create(ControlMessage.eof()));
            completeStage();
          }
        }
      };
    }
  }
}
