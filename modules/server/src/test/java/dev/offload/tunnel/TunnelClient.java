package dev.offload.tunnel;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The CLI's side of one tunnel connection over a real WebSocket: sends bytes and control
 * messages, digests what comes back, and can stop reading to play a slow client.
 */
public final class TunnelClient implements WebSocket.Listener {
  static final int FRAME = 256 * 1024;

  private final MessageDigest digest;
  private final boolean keep;
  private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
  private final List<String> texts = new CopyOnWriteArrayList<>();
  private final StringBuilder partialText = new StringBuilder();
  public final CompletableFuture<Integer> closeCode = new CompletableFuture<>();
  private volatile long received;
  private volatile boolean paused;
  private volatile boolean owed;
  private WebSocket socket;

  private TunnelClient(boolean keep) {
    try {
      this.digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    this.keep = keep;
  }

  /** Fails with a {@code WebSocketHandshakeException} when the server answers without upgrading. */
  public static TunnelClient connect(String baseUrl, String sessionId, String token, boolean keep)
      throws Exception {
    return connect(HttpClient.newHttpClient(), baseUrl, sessionId, token, keep);
  }

  static TunnelClient connect(
      HttpClient http, String baseUrl, String sessionId, String token, boolean keep) throws Exception {
    return connect(http, baseUrl, sessionId, token, keep, Duration.ofSeconds(10));
  }

  /** {@code patience}: how long the opening handshake may take, e.g. when a thousand open at once. */
  static TunnelClient connect(
      HttpClient http, String baseUrl, String sessionId, String token, boolean keep, Duration patience)
      throws Exception {
    return connectTo(http, baseUrl, "/v1/sessions/" + sessionId + "/tunnel", token, keep, patience);
  }

  /** The same over {@code /v1/sessions/{id}/ports/{port}}, to a port a container publishes. */
  static TunnelClient port(String baseUrl, String sessionId, int port, String token) throws Exception {
    return connectTo(HttpClient.newHttpClient(), baseUrl, "/v1/sessions/" + sessionId + "/ports/" + port, token, true,
        Duration.ofSeconds(10));
  }

  private static TunnelClient connectTo(
      HttpClient http, String baseUrl, String path, String token, boolean keep, Duration patience) throws Exception {
    TunnelClient client = new TunnelClient(keep);
    WebSocket.Builder builder = http.newWebSocketBuilder()
        .connectTimeout(patience);
    if (token != null) builder.header("Authorization", "Bearer " + token);
    client.socket = builder
        .buildAsync(URI.create(baseUrl.replaceFirst("^http", "ws") + path), client)
        .get(patience.toSeconds() + 30, TimeUnit.SECONDS);
    return client;
  }

  public void send(byte[] bytes) {
    for (int offset = 0; offset < bytes.length; offset += FRAME) {
      int length = Math.min(FRAME, bytes.length - offset);
      socket.sendBinary(ByteBuffer.wrap(bytes, offset, length), true).join();
    }
  }

  CompletableFuture<WebSocket> sendAsync(byte[] bytes, int offset, int length) {
    return socket.sendBinary(ByteBuffer.wrap(bytes, offset, length), true);
  }

  /** One message in several frames, which the server reads as a streamed message. */
  void sendInFragments(byte[] bytes, int fragments) {
    int size = (bytes.length + fragments - 1) / fragments;
    for (int offset = 0; offset < bytes.length; offset += size) {
      int length = Math.min(size, bytes.length - offset);
      socket.sendBinary(ByteBuffer.wrap(bytes, offset, length), offset + length == bytes.length).join();
    }
  }

  void sendTextInFragments(String text, int fragments) {
    int size = (text.length() + fragments - 1) / fragments;
    for (int offset = 0; offset < text.length(); offset += size) {
      int end = Math.min(text.length(), offset + size);
      socket.sendText(text.substring(offset, end), end == text.length()).join();
    }
  }

  void sendText(String text) {
    socket.sendText(text, true).join();
  }

  public void eof() {
    sendText("{\"type\":\"eof\"}");
  }

  void close() {
    socket.sendClose(WebSocket.NORMAL_CLOSURE, "").join();
  }

  void pause() {
    paused = true;
  }

  synchronized void resume() {
    paused = false;
    if (owed) {
      owed = false;
      socket.request(1);
    }
  }

  long received() {
    return received;
  }

  synchronized byte[] digest() {
    return digest.digest();
  }

  public synchronized byte[] bytes() {
    return kept.toByteArray();
  }

  public List<String> texts() {
    return texts;
  }

  @Override
  public synchronized CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
    byte[] bytes = new byte[data.remaining()];
    data.get(bytes);
    digest.update(bytes);
    if (keep) kept.write(bytes, 0, bytes.length);
    received += bytes.length;
    if (paused) {
      owed = true;
    } else {
      webSocket.request(1);
    }
    return null;
  }

  @Override
  public synchronized CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
    partialText.append(data);
    if (last) {
      texts.add(partialText.toString());
      partialText.setLength(0);
    }
    webSocket.request(1);
    return null;
  }

  @Override
  public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
    closeCode.complete(statusCode);
    return null;
  }

  @Override
  public void onError(WebSocket webSocket, Throwable error) {
    closeCode.completeExceptionally(error);
  }
}
