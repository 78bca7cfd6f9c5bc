package dev.offload.runner;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.sshd.client.future.DefaultOpenFuture;
import org.apache.sshd.client.future.OpenFuture;
import org.apache.sshd.common.Closeable;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.channel.Channel;
import org.apache.sshd.common.channel.ChannelFactory;
import org.apache.sshd.common.channel.ChannelOutputStream;
import org.apache.sshd.common.channel.LocalWindow;
import org.apache.sshd.common.channel.exception.SshChannelOpenException;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.server.channel.AbstractServerChannel;

/**
 * Server side of a runner's engine channel: OpenSSH's {@code direct-streamlocal@openssh.com} to
 * the engine's Unix socket (MINA SSHD lacks it), or {@code direct-tcpip} to its TCP address or to
 * a port on the loopback interface, where the engine publishes containers' ports (runner
 * loopback, as OpenSSH's sshd forwards it). Every other path or address is refused. MINA's own
 * direct-tcpip closes the whole channel when the engine ends its output, so bytes the client
 * still sends are lost; here each direction ends on its own, as with OpenSSH's sshd. Bytes are
 * pumped on their own threads because socket I/O blocks and must never stall MINA's I/O threads;
 * the SSH windows bound what is in flight in each direction.
 */
final class DirectEngineChannel extends AbstractServerChannel {

  static final String STREAM_LOCAL = "direct-streamlocal@openssh.com";
  static final String TCPIP = "direct-tcpip";

  /**
   * Channels of type {@code name} ({@link #STREAM_LOCAL} or {@link #TCPIP}) to {@code engine} (and,
   * for TCP, to loopback ports), pumping their bytes on {@code pumps}.
   */
  record Factory(String name, EngineTarget engine, Executor pumps) implements ChannelFactory {
    @Override
    public String getName() {
      return name;
    }

    @Override
    public Channel createChannel(Session session) {
      return new DirectEngineChannel(name, engine, pumps);
    }
  }

  private static final int CHUNK = 32 * 1024;
  /** Where containers' published ports are reached on a runner; never another host. */
  private static final Set<String> LOOPBACK = Set.of("127.0.0.1", "localhost", "::1");
  private static final ByteBuffer EOF = ByteBuffer.allocate(0);
  private static final ByteBuffer STOP = ByteBuffer.allocate(0);

  private final String type;
  private final EngineTarget engineTarget;
  private final Executor pumps;
  private final LinkedBlockingQueue<ByteBuffer> toEngine = new LinkedBlockingQueue<>();
  private final AtomicInteger directionsDone = new AtomicInteger();
  private volatile EngineTarget target;
  private volatile SocketChannel engine;
  private volatile ChannelOutputStream toClient;

  private DirectEngineChannel(String type, EngineTarget engineTarget, Executor pumps) {
    super(null);
    this.type = type;
    this.engineTarget = engineTarget;
    this.pumps = pumps;
  }

  @Override
  protected OpenFuture doInit(Buffer buffer) {
    // direct-tcpip: host and port, then the originator's address; direct-streamlocal: the path.
    if (TCPIP.equals(type)) {
      EngineTarget.Tcp asked = new EngineTarget.Tcp(buffer.getString(), buffer.getInt());
      target = asked.equals(engineTarget) || LOOPBACK.contains(asked.host()) ? asked : null;
    } else {
      String path = buffer.getString();
      target = engineTarget instanceof EngineTarget.UnixSocket socket && socket.path().toString().equals(path)
          ? engineTarget : null;
    }
    OpenFuture opened = new DefaultOpenFuture(this, this);
    if (target == null) {
      refuse(opened, SshConstants.SSH_OPEN_ADMINISTRATIVELY_PROHIBITED, "Connection denied", null);
      return opened;
    }
    pumps.execute(() -> connect(opened));
    return opened;
  }

  private void connect(OpenFuture opened) {
    try {
      SocketChannel socket = target instanceof EngineTarget.Tcp
          ? SocketChannel.open()
          : SocketChannel.open(StandardProtocolFamily.UNIX);
      try {
        if (target instanceof EngineTarget.Tcp tcp) {
          // Engine API calls are small requests and answers: never hold one back for Nagle.
          socket.setOption(StandardSocketOptions.TCP_NODELAY, true);
          socket.connect(new InetSocketAddress(tcp.host(), tcp.port()));
        } else {
          socket.connect(UnixDomainSocketAddress.of(((EngineTarget.UnixSocket) target).path()));
        }
      } catch (IOException e) {
        socket.close();
        throw e;
      }
      engine = socket;
    } catch (IOException e) {
      refuse(opened, SshConstants.SSH_OPEN_CONNECT_FAILED, "engine: " + e.getMessage(), e);
      return;
    }
    toClient = new ChannelOutputStream(this, getRemoteWindow(), log, SshConstants.SSH_MSG_CHANNEL_DATA, true);
    signalChannelOpenSuccess();
    opened.setOpened();
    notifyStateChanged("engine connected");
    pumps.execute(this::pumpToClient);
    pumps.execute(this::pumpToEngine);
  }

  private void refuse(OpenFuture opened, int reason, String message, Throwable cause) {
    SshChannelOpenException refusal =
        new SshChannelOpenException(getChannelId(), reason, message, cause);
    signalChannelOpenFailure(refusal);
    try {
      opened.setException(refusal);
    } finally {
      close(true);
    }
  }

  @Override
  protected void doWriteData(byte[] data, int off, long len) {
    // MINA reuses the buffer after this returns; the window is released once the engine has the bytes.
    toEngine.add(ByteBuffer.wrap(Arrays.copyOfRange(data, off, off + (int) len)));
  }

  @Override
  protected void doWriteExtendedData(byte[] data, int off, long len) throws IOException {
    throw new IOException("an engine channel carries no extended data");
  }

  @Override
  public void handleEof() throws IOException {
    super.handleEof();
    // Half-close: the engine sees end of input and still answers (docker run -i, docker exec).
    toEngine.add(EOF);
  }

  private void pumpToEngine() {
    try {
      for (ByteBuffer chunk = toEngine.take(); chunk != STOP; chunk = toEngine.take()) {
        if (chunk == EOF) {
          engine.shutdownOutput();
          directionDone();
          return;
        }
        int length = chunk.remaining();
        while (chunk.hasRemaining()) {
          engine.write(chunk);
        }
        LocalWindow window = getLocalWindow();
        if (window.isOpen()) {
          window.release(length);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      close(false);
    }
  }

  private void pumpToClient() {
    byte[] bytes = new byte[CHUNK];
    ByteBuffer buffer = ByteBuffer.wrap(bytes);
    try {
      for (int n = engine.read(buffer); n >= 0; n = engine.read(buffer)) {
        toClient.write(bytes, 0, n);
        toClient.flush();
        buffer.clear();
      }
      toClient.close();
      directionDone();
    } catch (IOException e) {
      close(false);
    }
  }

  private void directionDone() {
    if (directionsDone.incrementAndGet() == 2) {
      close(false);
    }
  }

  @Override
  protected Closeable getInnerCloseable() {
    return builder().run(toString(), this::disconnectEngine).close(super.getInnerCloseable()).build();
  }

  private void disconnectEngine() {
    toEngine.add(STOP);
    SocketChannel socket = engine;
    if (socket != null) {
      try {
        socket.close();
      } catch (IOException e) {
        log.debug("closing the engine socket of {} failed: {}", this, e.toString());
      }
    }
  }
}
