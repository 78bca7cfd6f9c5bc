package dev.offload.tunnel;

import akka.stream.Attributes;
import akka.stream.Inlet;
import akka.stream.SinkShape;
import akka.stream.stage.AbstractInHandler;
import akka.stream.stage.AsyncCallback;
import akka.stream.stage.GraphStage;
import akka.stream.stage.GraphStageLogic;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * Hands a client's items to the engine off the stream's threads, because a write to JSch blocks
 * while the runner's window is full. One writer task per connection drains everything that
 * gathered while it wrote, so bulk data goes in large batches, and the stream keeps taking
 * messages while the writer writes: it waits for the writer only when {@link #BATCH} bytes are
 * waiting, which is how a slow engine slows the client without the node buffering more.
 */
final class EngineWriter {

  /** Client bytes gathered into one write; at least 32 KiB before a flush keeps JSch fast. */
  static final int BATCH = 256 * 1024;

  private final Executor blocking;
  private final Consumer<List<ClientMessages.Item>> write;
  private final Runnable finished;
  private final Object lock = new Object();
  private List<ClientMessages.Item> waiting = new ArrayList<>();
  private long waitingBytes;
  private boolean writing;
  private boolean upstreamDone;
  /** The stream stopped asking because the batch is full: the writer wakes it when it takes it. */
  private Runnable full;

  /**
   * @param write writes one batch, in order, and may block; called by one thread at a time
   * @param finished runs once, after the last item is written, when the client's side ends
   */
  EngineWriter(Executor blocking, Consumer<List<ClientMessages.Item>> write, Runnable finished) {
    this.blocking = blocking;
    this.write = write;
    this.finished = finished;
  }

  GraphStage<SinkShape<ClientMessages.Item>> sink() {
    return new Stage();
  }

  /** Bytes waiting for the writer, for tests. */
  long waitingBytes() {
    synchronized (lock) {
      return waitingBytes;
    }
  }

  /** Returns false when the batch is full and the stream must wait for the writer. */
  private boolean add(ClientMessages.Item item, Runnable wakeWhenRoom) {
    boolean start;
    boolean room;
    synchronized (lock) {
      waiting.add(item);
      if (item instanceof ClientMessages.Data data) waitingBytes += data.bytes().size();
      start = !writing;
      writing = true;
      room = waitingBytes < BATCH;
      if (!room) full = wakeWhenRoom;
    }
    if (start) blocking.execute(this::drain);
    return room;
  }

  private void upstreamFinished() {
    boolean start;
    synchronized (lock) {
      upstreamDone = true;
      start = !writing;
      writing = true;
    }
    if (start) blocking.execute(this::drain);
  }

  private void drain() {
    while (true) {
      List<ClientMessages.Item> batch;
      Runnable wake;
      boolean done;
      synchronized (lock) {
        batch = waiting;
        if (batch.isEmpty()) {
          writing = false;
          done = upstreamDone;
          upstreamDone = false; // finished runs once
          batch = null;
          wake = null;
        } else {
          waiting = new ArrayList<>();
          waitingBytes = 0;
          wake = full;
          full = null;
          done = false;
        }
      }
      if (batch == null) {
        if (done) finished.run();
        return;
      }
      if (wake != null) wake.run();
      write.accept(batch);
    }
  }

  private final class Stage extends GraphStage<SinkShape<ClientMessages.Item>> {
    private final Inlet<ClientMessages.Item> in = Inlet.create("EngineWriter.in");
    private final SinkShape<ClientMessages.Item> shape = SinkShape.of(in);

    @Override
    public SinkShape<ClientMessages.Item> shape() {
      return shape;
    }

    @Override
    public GraphStageLogic createLogic(Attributes attributes) {
      return new GraphStageLogic(shape) {
        private AsyncCallback<Object> room;
        private final Runnable wake = () -> room.invoke(Boolean.TRUE);

        {
          setHandler(in, new AbstractInHandler() {
            @Override
            public void onPush() {
              if (add(grab(in), wake)) pull(in);
            }

            @Override
            public void onUpstreamFinish() {
              upstreamFinished();
              completeStage();
            }

            @Override
            public void onUpstreamFailure(Throwable cause) {
              upstreamFinished();
              failStage(cause);
            }
          });
        }

        @Override
        public void preStart() {
          room = createAsyncCallback(ignored -> {
            if (!hasBeenPulled(in) && !isClosed(in)) pull(in);
          });
          pull(in);
        }
      };
    }
  }
}
