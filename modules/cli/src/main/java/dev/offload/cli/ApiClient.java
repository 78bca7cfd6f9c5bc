package dev.offload.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import javax.net.ssl.SSLException;

/**
 * The control plane's HTTP API as the CLI uses it: every non-2xx answer and every network problem
 * becomes a {@link CliFailure} whose one line comes from the server's error message when it sent one.
 */
final class ApiClient {
  private static final Duration TIMEOUT = Duration.ofSeconds(15);

  /** A 2xx answer: its JSON body and the server's clock from the Date header, when present. */
  record Reply(JsonNode json, String date) {}

  /** One server-sent event; return false to stop following the stream. */
  interface EventHandler {
    boolean on(String event, JsonNode data);
  }

  private final URI server;
  private final String token;
  private final HttpClient http;

  ApiClient(String server, String token, String caPem) {
    this.server = URI.create(server.endsWith("/") ? server.substring(0, server.length() - 1) : server);
    this.token = token;
    HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5));
    if (caPem != null) builder.sslContext(TrustedCa.context(caPem));
    this.http = builder.build();
  }

  static ApiClient of(ConfigStore.Config config) {
    return new ApiClient(config.server(), config.token(), config.ca());
  }

  String server() {
    return server.toString();
  }

  HttpClient http() {
    return http;
  }

  String token() {
    return token;
  }

  /** The ws:// or wss:// address of an API path on the same server. */
  URI webSocket(String path) {
    String scheme = server.getScheme().equals("https") ? "wss" : "ws";
    return URI.create(scheme + server.toString().substring(server.getScheme().length()) + path);
  }

  static String query(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  JsonNode get(String path) {
    return send("GET", path, null).json();
  }

  JsonNode post(String path, ObjectNode body) {
    return send("POST", path, body).json();
  }

  JsonNode put(String path, ObjectNode body) {
    return send("PUT", path, body).json();
  }

  JsonNode delete(String path) {
    return send("DELETE", path, null).json();
  }

  Reply send(String method, String path, JsonNode body) {
    HttpRequest.Builder request = request(path).timeout(TIMEOUT);
    if (body == null) {
      request.method(method, HttpRequest.BodyPublishers.noBody());
    } else {
      request.header("Content-Type", "application/json")
          .method(method, HttpRequest.BodyPublishers.ofString(body.toString()));
    }
    HttpResponse<String> response = exchange(request.build(), HttpResponse.BodyHandlers.ofString());
    JsonNode json = parse(response.body());
    if (response.statusCode() / 100 != 2) throw failure(response.statusCode(), json);
    return new Reply(json, response.headers().firstValue("Date").orElse(null));
  }

  /** Follows {@code text/event-stream} until the server ends it or the handler says stop. */
  void follow(String path, EventHandler handler) {
    HttpRequest request = request(path).header("Accept", "text/event-stream").GET().build();
    HttpResponse<InputStream> response = exchange(request, HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream body = response.body();
        BufferedReader lines = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
      if (response.statusCode() / 100 != 2) {
        throw failure(response.statusCode(), parse(new String(body.readAllBytes(), StandardCharsets.UTF_8)));
      }
      String event = "message";
      StringBuilder data = new StringBuilder();
      for (String line = lines.readLine(); line != null; line = lines.readLine()) {
        if (line.isEmpty()) {
          if (data.length() > 0 && !handler.on(event, parse(data.toString()))) return;
          event = "message";
          data.setLength(0);
        } else if (line.startsWith("event:")) {
          event = line.substring(6).trim();
        } else if (line.startsWith("data:")) {
          if (data.length() > 0) data.append('\n');
          data.append(line.substring(5).stripLeading());
        }
      }
    } catch (IOException e) {
      throw network(e);
    }
  }

  private HttpRequest.Builder request(String path) {
    HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(server + path)).header("Accept", "application/json");
    if (token != null) builder.header("Authorization", "Bearer " + token);
    return builder;
  }

  private <T> HttpResponse<T> exchange(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
    try {
      return http.send(request, handler);
    } catch (IOException e) {
      throw network(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliFailure("interrupted while waiting for " + server);
    }
  }

  CliFailure network(IOException e) {
    if (e instanceof HttpConnectTimeoutException) {
      return new CliFailure("cannot reach the Offload server at " + server
          + " (unreachable: no answer to connect): check the address and your network, or run offload diagnose");
    }
    if (e instanceof ConnectException) {
      return new CliFailure("cannot reach the Offload server at " + server
          + " (unreachable: connection refused): check that it runs and the address, or run offload diagnose");
    }
    if (e instanceof HttpTimeoutException) {
      return new CliFailure("the Offload server at " + server + " did not answer within "
          + TIMEOUT.toSeconds() + " s: retry, or run offload diagnose");
    }
    if (e instanceof SSLException) {
      return new CliFailure("TLS with " + server + " failed (" + e.getMessage()
          + "): if the server uses a private CA, log in again with --ca FILE");
    }
    return new CliFailure("the connection to " + server + " failed (" + e + "): retry, or run offload diagnose");
  }

  private static CliFailure failure(int status, JsonNode json) {
    String message = json.path("error").path("message").asText("");
    if (message.isEmpty()) {
      return new CliFailure("the server answered HTTP " + status + " without an explanation: run offload diagnose");
    }
    return new CliFailure(message);
  }

  private static JsonNode parse(String text) {
    if (text == null || text.isBlank()) return ConfigStore.JSON.createObjectNode();
    try {
      return ConfigStore.JSON.readTree(text);
    } catch (IOException e) {
      return ConfigStore.JSON.createObjectNode();
    }
  }
}
