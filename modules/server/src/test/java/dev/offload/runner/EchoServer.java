package dev.offload.runner;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * A stand-in engine: echoes every byte back and closes once the peer has half-closed, the way a
 * hijacked Docker connection ends. Listens on loopback TCP (port 0) or on a Unix socket.
 */
final class EchoServer implements AutoCloseable {

  private final ServerSocketChannel listener;
  private final Thread acceptor;
  private volatile Consumer<SocketChannel> conversation = EchoServer::echo;

  private EchoServer(ServerSocketChannel listener) {
    this.listener = listener;
    this.acceptor = new Thread(this::accept, "echo-engine");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  static EchoServer tcp() throws IOException {
    ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.INET);
    listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    return new EchoServer(listener);
  }

  java.net.SocketAddress address() throws IOException {
    return listener.getLocalAddress();
  }

  static EchoServer unix(Path socket) throws IOException {
    ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    listener.bind(UnixDomainSocketAddress.of(socket));
    return new EchoServer(listener);
  }

  /**
   * Instead of echoing, an engine that answers before it is asked: it writes {@code greeting}, ends
   * its output, then reads to the end; what it read completes {@code heard}.
   */
  EchoServer speakingFirst(byte[] greeting, CompletableFuture<byte[]> heard) {
    conversation = connection -> {
      try (connection) {
        connection.write(ByteBuffer.wrap(greeting));
        connection.shutdownOutput();
        ByteArrayOutputStream read = new ByteArrayOutputStream();
        ByteBuffer buffer = ByteBuffer.allocate(16 * 1024);
        while (connection.read(buffer) >= 0) {
          read.write(buffer.array(), 0, buffer.position());
          buffer.clear();
        }
        heard.complete(read.toByteArray());
      } catch (IOException | RuntimeException e) {
        heard.completeExceptionally(e);
      }
    };
    return this;
  }

  int port() throws IOException {
    return ((InetSocketAddress) listener.getLocalAddress()).getPort();
  }

  private void accept() {
    try {
      while (true) {
        SocketChannel connection = listener.accept();
        Consumer<SocketChannel> handler = conversation;
        Thread echo = new Thread(() -> handler.accept(connection), "echo-connection");
        echo.setDaemon(true);
        echo.start();
      }
    } catch (IOException closed) {
      // close() stops accepting.
    }
  }

  private static void echo(SocketChannel connection) {
    try (connection) {
      ByteBuffer buffer = ByteBuffer.allocate(16 * 1024);
      while (connection.read(buffer) >= 0) {
        buffer.flip();
        while (buffer.hasRemaining()) {
          connection.write(buffer);
        }
        buffer.clear();
      }
      connection.shutdownOutput();
    } catch (IOException e) {
      // The peer went away; nothing to echo to.
    }
  }

  @Override
  public void close() throws IOException {
    listener.close();
  }
}
