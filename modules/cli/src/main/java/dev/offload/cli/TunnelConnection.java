package dev.offload.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;

/**
 * One local TCP connection of the Docker client bridged to its own WebSocket on
 * {@code /v1/sessions/{id}/tunnel}: binary frames carry the bytes in order, {@code {"type":"eof"}}
 * carries a half-close each way (docker run -i and exec need it), {@code {"type":"error"}} ends
 * the connection with one line for the user.
 */
final class TunnelConnection implements WebSocket.Listener {
  /**
   * The largest frame sent: below the protocol's 1 MiB limit and as large as the node's own
   * messages, so bulk uploads cost few frames (each is masked and parsed whole).
   */
  private static final int CHUNK = 256 * 1024;
  /** Received bytes pass through one reused array on their way to the local socket. */
  private static final int COPY = 64 * 1024;

  private static final String EOF = "{\"type\":\"eof\"}";

  private final Socket socket;
  private final InputStream local;
  private final String session;
  private final Consumer<String> problems;
  private final StringBuilder text = new StringBuilder();
  /** Used by onBinary only, which the WebSocket calls one at a time (it asks for one message). */
  private final byte[] received = new byte[COPY];
  private volatile WebSocket webSocket;
  private boolean localDone;
  private boolean remoteDone;
  private boolean reported;

  private TunnelConnection(Socket socket, InputStream local, String session, Consumer<String> problems) {
    this.socket = socket;
    this.local = local;
    this.session = session;
    this.problems = problems;
  }

  /**
   * Opens the WebSocket for {@code socket} and bridges until both sides are done. Returns at once;
   * a refused upgrade closes the socket and reports one line.
   */
  static void open(HttpClient http, URI tunnel, String token, String session, Socket socket, Consumer<String> problems) {
    try {
      open(http, tunnel, token, session, socket, socket.getInputStream(), problems);
    } catch (IOException e) {
      problems.accept("a local connection failed at once (" + e.getMessage() + ")");
    }
  }

  /** The same, with what the local client sends read through {@code local} (e.g. a {@link DockerApiFilter}). */
  static void open(HttpClient http, URI tunnel, String token, String session, Socket socket, InputStream local,
      Consumer<String> problems) {
    TunnelConnection connection = new TunnelConnection(socket, local, session, problems);
    http.newWebSocketBuilder()
        .header("Authorization", "Bearer " + token)
        .buildAsync(tunnel, connection)
        .whenComplete((ws, failure) -> {
          if (failure != null) connection.refused(failure);
          else connection.pumpLocalToRemote(ws);
        });
  }

  private void pumpLocalToRemote(WebSocket ws) {
    Thread pump = new Thread(() -> {
      byte[] buffer = new byte[CHUNK];
      // Not try-with-resources: closing a socket's input stream closes the socket, and the other
      // direction may still be delivering after the local half-close.
      try {
        InputStream in = local;
        for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
          if (n > 0) ws.sendBinary(ByteBuffer.wrap(buffer, 0, n), true).join();
        }
        ws.sendText(EOF, true).join();
        localFinished();
      } catch (IOException | CompletionException e) {
        // The other direction ended the connection, or the WebSocket failed: it has reported.
        close();
      }
    }, "offload-tunnel-upload");
    pump.setDaemon(true);
    pump.start();
  }

  @Override
  public void onOpen(WebSocket ws) {
    webSocket = ws;
    ws.request(1);
  }

  @Override
  public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
    try {
      OutputStream out = socket.getOutputStream();
      if (data.hasArray()) {
        out.write(data.array(), data.arrayOffset() + data.position(), data.remaining());
      } else {
        while (data.hasRemaining()) {
          int n = Math.min(data.remaining(), received.length);
          data.get(received, 0, n);
          out.write(received, 0, n);
        }
      }
      ws.request(1);
    } catch (IOException e) {
      // The Docker client went away: nothing left to deliver to.
      ws.abort();
      close();
    }
    return null;
  }

  @Override
  public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
    text.append(data);
    if (last) {
      control(ws, text.toString());
      text.setLength(0);
    }
    ws.request(1);
    return null;
  }

  private void control(WebSocket ws, String message) {
    JsonNode json;
    try {
      json = ConfigStore.JSON.readTree(message);
    } catch (IOException e) {
      json = ConfigStore.JSON.createObjectNode();
    }
    switch (json.path("type").asText()) {
      case "eof" -> {
        try {
          socket.shutdownOutput();
        } catch (IOException e) {
          close();
        }
        remoteFinished();
      }
      case "error" -> {
        report(describe(json.path("code").asText(""), json.path("message").asText("the server ended the connection")));
        ws.abort();
        close();
      }
      default -> { }
    }
  }

  @Override
  public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
    if (statusCode != WebSocket.NORMAL_CLOSURE && !finished()) {
      report(describe(statusCode == 1013 ? "session_not_ready" : statusCode == 1008 ? "session_terminated" : "",
          reason.isEmpty() ? "the tunnel to session " + session + " closed unexpectedly (code " + statusCode
              + "); the next connection opens a new one" : reason));
    }
    close();
    return null;
  }

  @Override
  public void onError(WebSocket ws, Throwable error) {
    report("the tunnel to session " + session + " broke (" + error.getMessage() + "); new connections open a new one");
    close();
  }

  private synchronized boolean finished() {
    return localDone && remoteDone;
  }

  private synchronized void localFinished() {
    localDone = true;
    if (remoteDone) finish();
  }

  private synchronized void remoteFinished() {
    remoteDone = true;
    if (localDone) finish();
  }

  /** Both directions delivered everything in order, so nothing is lost by closing now. */
  private void finish() {
    WebSocket ws = webSocket;
    if (ws != null) ws.sendClose(WebSocket.NORMAL_CLOSURE, "").exceptionally(e -> null);
    close();
  }

  private void refused(Throwable failure) {
    Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    if (cause instanceof WebSocketHandshakeException handshake) {
      int status = handshake.getResponse().statusCode();
      report("the server refused the tunnel to session " + session + " (HTTP " + status + "): "
          + (status == 401 ? "log in again with offload login" : "check the session with offload status"));
    } else {
      report("cannot open the tunnel to session " + session + " (" + cause.getMessage() + "): run offload diagnose");
    }
    close();
  }

  private String describe(String code, String message) {
    return switch (code) {
      case "session_not_ready" -> message + ": the session is still starting; retry in a moment";
      case "session_terminated" -> message + ": start a new session with offload start";
      default -> message;
    };
  }

  private synchronized void report(String line) {
    if (reported) return;
    reported = true;
    problems.accept(line);
  }

  private void close() {
    try {
      socket.close();
    } catch (IOException ignored) {
      // Already closed: the goal of this method.
    }
  }
}
