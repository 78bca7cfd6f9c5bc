package dev.offload.runner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/** One tunnel connection to a session, as a client sees it: its text frames and how it closed. */
final class RecordedTunnel implements WebSocket.Listener {
  private static final ObjectMapper JSON = new ObjectMapper();

  final List<String> texts = new CopyOnWriteArrayList<>();
  final CompletableFuture<Integer> closed = new CompletableFuture<>();
  private final StringBuilder partial = new StringBuilder();
  WebSocket socket;

  static RecordedTunnel open(String url, String session, String token) {
    RecordedTunnel tunnel = new RecordedTunnel();
    try {
      tunnel.socket = HttpClient.newHttpClient().newWebSocketBuilder().header("Authorization", "Bearer " + token)
          .buildAsync(URI.create(url.replaceFirst("^http", "ws") + "/v1/sessions/" + session + "/tunnel"), tunnel)
          .get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("the tunnel upgrade failed", e);
    }
    return tunnel;
  }

  @Override
  public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
    partial.append(data);
    if (last) {
      texts.add(partial.toString());
      partial.setLength(0);
    }
    webSocket.request(1);
    return null;
  }

  @Override
  public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
    webSocket.request(1);
    return null;
  }

  @Override
  public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
    closed.complete(statusCode);
    return null;
  }

  @Override
  public void onError(WebSocket webSocket, Throwable error) {
    closed.completeExceptionally(error);
  }

  /** The last control message received: {@code code} and {@code message} of an error. */
  JsonNode lastError() {
    try {
      return JSON.readTree(texts.get(texts.size() - 1));
    } catch (Exception e) {
      throw new AssertionError("no error control message: " + texts, e);
    }
  }

  /** The last error control message once the tunnel closed, or an empty object if none came. */
  JsonNode refusal() {
    try {
      closed.get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("the tunnel did not close", e);
    }
    return texts.isEmpty() ? JSON.createObjectNode() : lastError();
  }
}
