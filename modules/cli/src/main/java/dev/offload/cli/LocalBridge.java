package dev.offload.cli;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.util.function.Consumer;

/**
 * The listener the Docker client talks to: 127.0.0.1 only (anyone reaching it drives the remote
 * engine with the user's token), each accepted connection bridged by its own
 * {@link TunnelConnection}, its requests read through a {@link DockerApiFilter} that copies
 * bind-mounted local paths to the runner. A dropped WebSocket therefore only ends its own connection; the next
 * connection opens a fresh one without the user doing anything.
 */
final class LocalBridge implements AutoCloseable {
  private final ApiClient api;
  private final String session;
  private final URI tunnel;
  private final ServerSocket listener;
  private final Consumer<String> problems;
  private final BindMounts mounts;

  LocalBridge(ApiClient api, String session, int port, Consumer<String> problems) {
    this.api = api;
    this.session = session;
    this.tunnel = api.webSocket("/v1/sessions/" + session + "/tunnel");
    this.problems = problems;
    this.mounts = new BindMounts(api, session, problems);
    try {
      listener = new ServerSocket();
      listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    } catch (IOException e) {
      throw new CliFailure("cannot listen on 127.0.0.1:" + port + " (" + e.getMessage()
          + "): choose another --port or leave it out for a free one");
    }
  }

  int port() {
    return listener.getLocalPort();
  }

  /** Accepts connections until {@link #close()}. */
  void serve() {
    while (!listener.isClosed()) {
      Socket client;
      try {
        client = listener.accept();
      } catch (SocketException closed) {
        return;
      } catch (IOException e) {
        problems.accept("accepting a local connection failed (" + e.getMessage() + ")");
        continue;
      }
      try {
        client.setTcpNoDelay(true);
      } catch (SocketException ignored) {
        // Only a latency tweak: the connection works without it.
      }
      try {
        TunnelConnection.open(api.http(), tunnel, api.token(), session, client,
            new DockerApiFilter(client.getInputStream(), client.getOutputStream(), mounts), problems);
      } catch (IOException e) {
        problems.accept("a local connection failed at once (" + e.getMessage() + ")");
      }
    }
  }

  /** Whether something accepts connections on the bridge's port, as a Docker client would see it. */
  static boolean listening(int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** A bridge of the state file that still serves: its process runs, or its port answers. */
  static boolean alive(ConfigStore store, ConfigStore.BridgeState state) {
    return state.pid() != null ? BackgroundBridge.running(store).isPresent() : listening(state.port());
  }

  @Override
  public void close() {
    mounts.close();
    try {
      listener.close();
    } catch (IOException ignored) {
      // Closing is all that was asked; a listener that fails to close is already unusable.
    }
  }
}
