package dev.offload.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The session's published TCP ports, made local: one listener on {@code 127.0.0.1:<hostPort>} per
 * port a running container publishes on the runner (or a free port when that one is taken here),
 * each accepted connection bridged through its own WebSocket on
 * {@code /v1/sessions/{id}/ports/{hostPort}}. Follows the list the session's event stream sends:
 * a port that disappears (its container stopped) closes its listener.
 */
final class PortForwards implements AutoCloseable {

  /** A published port as the session lists it. */
  private record Published(int hostPort, String container) {}

  private final ApiClient api;
  private final String session;
  private final Consumer<String> lines;
  private final Map<Integer, Forward> open = new HashMap<>();
  private boolean closed;

  PortForwards(ApiClient api, String session, Consumer<String> lines) {
    this.api = api;
    this.session = session;
    this.lines = lines;
  }

  /** {@code ports} is the session's whole list ({@code [{"container","hostPort","protocol",…}]}). */
  synchronized void update(JsonNode ports) {
    if (closed) return;
    Map<Integer, Published> wanted = new LinkedHashMap<>();
    for (JsonNode port : ports) {
      if (!"tcp".equals(port.path("protocol").asText())) continue;
      String name = port.path("name").asText("");
      String container = name.isEmpty() ? port.path("container").asText() : name;
      wanted.putIfAbsent(port.path("hostPort").asInt(), new Published(port.path("hostPort").asInt(), container));
    }
    open.entrySet().removeIf(entry -> {
      if (wanted.containsKey(entry.getKey())) return false;
      entry.getValue().close();
      lines.accept("container " + entry.getValue().published.container() + " no longer publishes port "
          + entry.getKey() + "; closed 127.0.0.1:" + entry.getValue().localPort());
      return true;
    });
    wanted.values().stream().filter(p -> !open.containsKey(p.hostPort())).forEach(p -> {
      Forward forward = Forward.open(p, this);
      if (forward != null) open.put(p.hostPort(), forward);
    });
  }

  @Override
  public synchronized void close() {
    closed = true;
    open.values().forEach(Forward::close);
    open.clear();
  }

  /** One listener and the thread that accepts on it. */
  private static final class Forward {
    private final Published published;
    private final ServerSocket listener;
    private Thread accepting;

    private Forward(Published published, ServerSocket listener) {
      this.published = published;
      this.listener = listener;
    }

    /** Null when no local port at all could be opened (reported). */
    static Forward open(Published published, PortForwards forwards) {
      String target = "container " + published.container() + ":" + published.hostPort();
      ServerSocket listener = bind(published.hostPort());
      if (listener != null) {
        forwards.lines.accept("forwarding 127.0.0.1:" + published.hostPort() + " → " + target);
      } else {
        listener = bind(0);
        if (listener == null) {
          forwards.lines.accept("cannot open a local port for " + target + ": check the local firewall and ports");
          return null;
        }
        forwards.lines.accept("port " + published.hostPort() + " is in use here; forwarding 127.0.0.1:"
            + listener.getLocalPort() + " → " + target);
      }
      Forward forward = new Forward(published, listener);
      Thread accept = new Thread(() -> forward.serve(forwards), "offload-port-" + published.hostPort());
      accept.setDaemon(true);
      forward.accepting = accept;
      accept.start();
      return forward;
    }

    /** 127.0.0.1 only, as the engine's listener: whoever reaches it reaches the container. */
    private static ServerSocket bind(int port) {
      try {
        ServerSocket listener = new ServerSocket();
        try {
          listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
          return listener;
        } catch (IOException e) {
          listener.close();
          return null;
        }
      } catch (IOException e) {
        return null;
      }
    }

    int localPort() {
      return listener.getLocalPort();
    }

    private void serve(PortForwards forwards) {
      var path = forwards.api.webSocket("/v1/sessions/" + forwards.session + "/ports/" + published.hostPort());
      while (!listener.isClosed()) {
        Socket client;
        try {
          client = listener.accept();
        } catch (SocketException closed) {
          return;
        } catch (IOException e) {
          forwards.lines.accept("accepting a connection on 127.0.0.1:" + localPort() + " failed (" + e.getMessage() + ")");
          continue;
        }
        TunnelConnection.open(forwards.api.http(), path, forwards.api.token(), forwards.session, client, forwards.lines);
      }
    }

    /**
     * Returns once the port is free again: the JDK releases a listening socket only when the thread
     * blocked in {@code accept} has woken up, so a port re-opened right after would otherwise fail.
     */
    void close() {
      try {
        listener.close();
      } catch (IOException ignored) {
        // Closing is all that was asked; a listener that fails to close is already unusable.
      }
      try {
        accepting.join(2_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
