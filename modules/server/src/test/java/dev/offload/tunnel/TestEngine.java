package dev.offload.tunnel;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A stand-in engine: echoes every byte and, once the peer has half-closed, still answers with
 * {@link #ANSWER} before closing, the way a hijacked Docker connection answers after stdin ends.
 */
public final class TestEngine implements AutoCloseable {
  public static final byte[] ANSWER = "engine saw eof".getBytes(StandardCharsets.US_ASCII);

  private final ServerSocketChannel listener;

  private TestEngine(ServerSocketChannel listener) {
    this.listener = listener;
    Thread acceptor = new Thread(this::accept, "test-engine");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  public static TestEngine tcp() throws IOException {
    ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.INET);
    listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    return new TestEngine(listener);
  }

  static TestEngine unix(Path socket) throws IOException {
    ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    listener.bind(UnixDomainSocketAddress.of(socket));
    return new TestEngine(listener);
  }

  public String target() throws IOException {
    if (listener.getLocalAddress() instanceof InetSocketAddress inet) {
      return "tcp://127.0.0.1:" + inet.getPort();
    }
    return "unix://" + ((UnixDomainSocketAddress) listener.getLocalAddress()).getPath();
  }

  private void accept() {
    try {
      while (true) {
        SocketChannel connection = listener.accept();
        Thread echo = new Thread(() -> echo(connection), "test-engine-connection");
        echo.setDaemon(true);
        echo.start();
      }
    } catch (IOException closed) {
      // close() stops accepting.
    }
  }

  private static void echo(SocketChannel connection) {
    try (connection) {
      ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
      while (connection.read(buffer) >= 0) {
        buffer.flip();
        while (buffer.hasRemaining()) connection.write(buffer);
        buffer.clear();
      }
      ByteBuffer answer = ByteBuffer.wrap(ANSWER);
      while (answer.hasRemaining()) connection.write(answer);
      connection.shutdownOutput();
    } catch (IOException e) {
      // The peer went away; nothing to answer.
    }
  }

  @Override
  public void close() throws IOException {
    listener.close();
  }
}
