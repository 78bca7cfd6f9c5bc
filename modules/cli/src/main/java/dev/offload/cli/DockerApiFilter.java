package dev.offload.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * What the Docker client sends to the bridge, as the engine should receive it: HTTP/1.1 requests
 * are followed one by one (Content-Length and chunked bodies) so that a {@code POST
 * /containers/create} (any {@code /vX.Y} prefix) whose bind mounts name local paths is answered
 * for: the paths are copied to the runner and the request forwarded with the runner paths. Every
 * other request goes on byte for byte, and after a request that upgrades the connection (attach,
 * exec) so does everything else. A create that cannot be served is answered here with an error
 * the Docker client prints, and never reaches the engine.
 */
final class DockerApiFilter extends InputStream {
  private static final Pattern REQUEST_LINE = Pattern.compile("^[A-Z]+ \\S+ HTTP/1\\.[01]\r?\n$");
  private static final Pattern CREATE = Pattern.compile("^(/v[0-9]+(\\.[0-9]+)*)?/containers/create(\\?.*)?$");
  /** Larger heads or create bodies are not Docker API requests a client sends: passed on untouched. */
  private static final int MAX_HEAD = 64 * 1024;
  /** Longer than any HTTP method. */
  private static final int MAX_METHOD = 32;
  private static final int MAX_CREATE_BODY = 8 * 1024 * 1024;

  private enum Mode { HEAD, BODY, CHUNK_SIZE, TRAILER, RAW }

  private final InputStream in;
  private final OutputStream toClient;
  private final BindMounts mounts;
  private Mode mode = Mode.HEAD;
  private long remaining;
  private boolean chunkedAfterBody;
  private byte[] ready = new byte[0];
  private int readyAt;

  DockerApiFilter(InputStream in, OutputStream toClient, BindMounts mounts) {
    // Heads are read a byte at a time: buffered, that costs no system call per byte.
    this.in = new java.io.BufferedInputStream(in, 64 * 1024);
    this.toClient = toClient;
    this.mounts = mounts;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] buffer, int offset, int length) throws IOException {
    if (length == 0) return 0;
    while (readyAt >= ready.length) {
      switch (mode) {
        case RAW -> {
          return in.read(buffer, offset, length);
        }
        case BODY -> {
          int n = in.read(buffer, offset, (int) Math.min(length, remaining));
          if (n < 0) return -1;
          remaining -= n;
          if (remaining == 0) mode = chunkedAfterBody ? Mode.CHUNK_SIZE : Mode.HEAD;
          return n;
        }
        case CHUNK_SIZE -> {
          byte[] line = line();
          if (line == null) return -1;
          long size = chunkSize(line);
          ready = line;
          readyAt = 0;
          if (size > 0) {
            mode = Mode.BODY;
            remaining = size + 2;
            chunkedAfterBody = true;
          } else {
            mode = Mode.TRAILER;
          }
        }
        case TRAILER -> {
          byte[] line = line();
          if (line == null) return -1;
          ready = line;
          readyAt = 0;
          if (line.length <= 2) mode = Mode.HEAD;
        }
        case HEAD -> {
          if (!nextRequest()) return -1;
        }
      }
    }
    int n = Math.min(length, ready.length - readyAt);
    System.arraycopy(ready, readyAt, buffer, offset, n);
    readyAt += n;
    return n;
  }

  /**
   * Reads one request head; false at the end of the client's input. Input that does not start
   * like an HTTP/1 request is not the Docker API: it passes on untouched, at once.
   */
  private boolean nextRequest() throws IOException {
    byte[] first = requestLine();
    if (first == null) return false;
    if (!REQUEST_LINE.matcher(new String(first, StandardCharsets.ISO_8859_1)).matches()) {
      deliver(first, Mode.RAW);
      return true;
    }
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    head.write(first);
    while (true) {
      byte[] line = line();
      if (line == null) {
        if (head.size() == 0) return false;
        deliver(head.toByteArray(), Mode.RAW);
        return true;
      }
      head.write(line);
      if (line.length <= 2 && head.size() > line.length) break;
      if (head.size() > MAX_HEAD) {
        deliver(head.toByteArray(), Mode.RAW);
        return true;
      }
    }
    byte[] raw = head.toByteArray();
    Request request = Request.parse(new String(raw, StandardCharsets.ISO_8859_1));
    if (request == null || request.upgrades()) {
      deliver(raw, Mode.RAW);
      return true;
    }
    if (request.method().equals("POST") && CREATE.matcher(request.path()).matches()
        && request.contentLength() <= MAX_CREATE_BODY) {
      create(raw, request);
      return true;
    }
    if (request.chunked()) {
      deliver(raw, Mode.CHUNK_SIZE);
      chunkedAfterBody = true;
    } else if (request.contentLength() > 0) {
      deliver(raw, Mode.BODY);
      remaining = request.contentLength();
      chunkedAfterBody = false;
    } else {
      deliver(raw, Mode.HEAD);
    }
    return true;
  }

  /** A container create: its body read whole, its local bind sources copied and rewritten. */
  private void create(byte[] rawHead, Request request) throws IOException {
    ByteArrayOutputStream rawBody = new ByteArrayOutputStream();
    byte[] body = request.chunked() ? dechunk(rawBody) : in.readNBytes((int) Math.min(request.contentLength(), MAX_CREATE_BODY));
    if (!request.chunked()) rawBody.write(body);
    JsonNode json;
    try {
      json = ConfigStore.JSON.readTree(body);
    } catch (IOException e) {
      json = null;
    }
    if (!(json instanceof ObjectNode create) || !(create.path("HostConfig") instanceof ObjectNode hostConfig)) {
      deliver(concat(rawHead, rawBody.toByteArray()), Mode.HEAD);
      return;
    }
    try {
      boolean rewritten = rewriteBinds(hostConfig) | rewriteMounts(hostConfig);
      if (!rewritten) {
        deliver(concat(rawHead, rawBody.toByteArray()), Mode.HEAD);
        return;
      }
    } catch (BindMounts.Refused refused) {
      refuse(refused.getMessage());
      deliver(new byte[0], Mode.HEAD);
      return;
    }
    byte[] newBody = ConfigStore.JSON.writeValueAsBytes(create);
    StringBuilder head = new StringBuilder(request.requestLine()).append("\r\n");
    request.headers().forEach((name, value) -> {
      String lower = name.toLowerCase(Locale.ROOT);
      if (!lower.equals("content-length") && !lower.equals("transfer-encoding")) {
        head.append(name).append(": ").append(value).append("\r\n");
      }
    });
    head.append("Content-Length: ").append(newBody.length).append("\r\n\r\n");
    deliver(concat(head.toString().getBytes(StandardCharsets.ISO_8859_1), newBody), Mode.HEAD);
  }

  /** {@code "src:dst[:opts]"}: a local absolute {@code src} becomes the runner path. */
  private boolean rewriteBinds(ObjectNode hostConfig) throws BindMounts.Refused {
    if (!(hostConfig.path("Binds") instanceof ArrayNode binds)) return false;
    boolean rewritten = false;
    for (int i = 0; i < binds.size(); i++) {
      String bind = binds.get(i).asText();
      int colon = bind.indexOf(':');
      String source = colon < 0 ? bind : bind.substring(0, colon);
      if (!BindMounts.isLocal(source)) continue;
      binds.set(i, mounts.mount(source).runnerPath() + (colon < 0 ? "" : bind.substring(colon)));
      rewritten = true;
    }
    return rewritten;
  }

  private boolean rewriteMounts(ObjectNode hostConfig) throws BindMounts.Refused {
    if (!(hostConfig.path("Mounts") instanceof ArrayNode list)) return false;
    boolean rewritten = false;
    for (JsonNode mount : list) {
      if (mount instanceof ObjectNode m && "bind".equals(m.path("Type").asText())
          && BindMounts.isLocal(m.path("Source").asText(null))) {
        m.put("Source", mounts.mount(m.path("Source").asText()).runnerPath());
        rewritten = true;
      }
    }
    return rewritten;
  }

  /** The engine's own error shape, so {@code docker} prints "Error response from daemon: …". */
  private void refuse(String message) throws IOException {
    byte[] body = ConfigStore.JSON.writeValueAsBytes(Map.of("message", message));
    String head = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: " + body.length
        + "\r\n\r\n";
    synchronized (toClient) {
      toClient.write(head.getBytes(StandardCharsets.ISO_8859_1));
      toClient.write(body);
      toClient.flush();
    }
  }

  /** A chunked body decoded, its raw bytes kept in {@code raw}. */
  private byte[] dechunk(ByteArrayOutputStream raw) throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    while (true) {
      byte[] line = line();
      if (line == null) throw new IOException("the client ended inside a chunked body");
      raw.write(line);
      long size = chunkSize(line);
      if (size == 0) break;
      if (body.size() + size > MAX_CREATE_BODY) throw new IOException("a container create body over 8 MiB");
      byte[] chunk = in.readNBytes((int) size + 2);
      raw.write(chunk);
      body.write(chunk, 0, (int) Math.min(size, chunk.length));
    }
    for (byte[] line = line(); line != null; line = line()) {
      raw.write(line);
      if (line.length <= 2) break;
    }
    return body.toByteArray();
  }

  private static long chunkSize(byte[] line) throws IOException {
    String text = new String(line, StandardCharsets.ISO_8859_1).strip();
    int extension = text.indexOf(';');
    try {
      return Long.parseLong(extension < 0 ? text : text.substring(0, extension).strip(), 16);
    } catch (NumberFormatException e) {
      throw new IOException("not a chunk size: " + text);
    }
  }

  /** One line with its line ending, or null at the end of input before any byte. */
  /**
   * The first line, if the input starts like a request line (a method token of capitals, then a
   * space); otherwise the bytes read so far, at once: a stream that is not HTTP may never send a
   * line end, and must not wait for one.
   */
  private byte[] requestLine() throws IOException {
    ByteArrayOutputStream start = new ByteArrayOutputStream();
    int b = in.read();
    while (b >= 'A' && b <= 'Z' && start.size() < MAX_METHOD) {
      start.write(b);
      b = in.read();
    }
    if (b < 0) return start.size() == 0 ? null : start.toByteArray();
    start.write(b);
    if (b != ' ' || start.size() == 1) return start.toByteArray();
    byte[] rest = line();
    return rest == null ? start.toByteArray() : concat(start.toByteArray(), rest);
  }

  private byte[] line() throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    for (int b = in.read(); b >= 0; b = in.read()) {
      line.write(b);
      if (b == '\n' || line.size() > MAX_HEAD) return line.toByteArray();
    }
    return line.size() == 0 ? null : line.toByteArray();
  }

  private void deliver(byte[] bytes, Mode next) {
    ready = bytes;
    readyAt = 0;
    mode = next;
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] both = new byte[a.length + b.length];
    System.arraycopy(a, 0, both, 0, a.length);
    System.arraycopy(b, 0, both, a.length, b.length);
    return both;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }

  /** A request head: its line, headers in order, and what they say about the body. */
  private record Request(String requestLine, String method, String path, Map<String, String> headers) {
    static Request parse(String head) {
      String[] lines = head.split("\r?\n");
      String[] parts = lines[0].split(" ");
      if (parts.length != 3 || !parts[2].startsWith("HTTP/1.")) return null;
      Map<String, String> headers = new LinkedHashMap<>();
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        if (colon > 0) headers.put(lines[i].substring(0, colon).strip(), lines[i].substring(colon + 1).strip());
      }
      return new Request(lines[0], parts[0], parts[1], headers);
    }

    String header(String name) {
      List<String> values = new ArrayList<>();
      headers.forEach((key, value) -> {
        if (key.equalsIgnoreCase(name)) values.add(value);
      });
      return values.isEmpty() ? "" : String.join(",", values);
    }

    boolean upgrades() {
      return header("Connection").toLowerCase(Locale.ROOT).contains("upgrade") || !header("Upgrade").isEmpty();
    }

    boolean chunked() {
      return header("Transfer-Encoding").toLowerCase(Locale.ROOT).contains("chunked");
    }

    long contentLength() {
      try {
        return header("Content-Length").isEmpty() ? 0 : Long.parseLong(header("Content-Length"));
      } catch (NumberFormatException e) {
        return 0;
      }
    }
  }
}
