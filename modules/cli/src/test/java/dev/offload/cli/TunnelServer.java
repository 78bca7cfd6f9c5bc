package dev.offload.cli;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The server's side of the tunnel protocol for bridge tests: a minimal RFC 6455 server on a plain
 * ServerSocket (the JDK has no WebSocket server), checking the bearer token on the upgrade and
 * handing each connection to a test-chosen behaviour.
 */
final class TunnelServer implements AutoCloseable {
  interface Behaviour {
    void serve(Peer peer, int connection) throws IOException;
  }

  /** A message as received: opcode 1 text, 2 binary, 8 close. */
  record Message(int opcode, byte[] data) {
    String text() {
      return new String(data, StandardCharsets.UTF_8);
    }

    boolean isEof() {
      return opcode == 1 && text().contains("\"eof\"");
    }
  }

  private final ServerSocket listener;
  private final String token;
  private final Behaviour behaviour;
  final List<String> upgrades = new CopyOnWriteArrayList<>();
  final List<Throwable> failures = new CopyOnWriteArrayList<>();

  TunnelServer(String token, Behaviour behaviour) {
    this.token = token;
    this.behaviour = behaviour;
    try {
      listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Thread accept = new Thread(this::accept, "tunnel-server");
    accept.setDaemon(true);
    accept.start();
  }

  String url() {
    return "http://127.0.0.1:" + listener.getLocalPort();
  }

  private void accept() {
    int count = 0;
    while (!listener.isClosed()) {
      try {
        Socket socket = listener.accept();
        int connection = count++;
        Thread handler = new Thread(() -> handle(socket, connection), "tunnel-server-" + connection);
        handler.setDaemon(true);
        handler.start();
      } catch (IOException closed) {
        return;
      }
    }
  }

  private void handle(Socket socket, int connection) {
    try (socket) {
      InputStream in = socket.getInputStream();
      OutputStream out = socket.getOutputStream();
      String requestLine = line(in);
      Map<String, String> headers = new HashMap<>();
      for (String h = line(in); !h.isEmpty(); h = line(in)) {
        int colon = h.indexOf(':');
        headers.put(h.substring(0, colon).trim().toLowerCase(), h.substring(colon + 1).trim());
      }
      upgrades.add(requestLine);
      if (!("Bearer " + token).equals(headers.get("authorization"))) {
        byte[] body = "{\"error\":{\"code\":\"unauthenticated\",\"message\":\"bad token\"}}".getBytes(StandardCharsets.UTF_8);
        out.write(("HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: " + body.length
            + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
        return;
      }
      out.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          + "Sec-WebSocket-Accept: " + accept(headers.get("sec-websocket-key")) + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      behaviour.serve(new Peer(socket), connection);
    } catch (IOException | RuntimeException e) {
      failures.add(e);
    }
  }

  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    for (int b = in.read(); b != '\n'; b = in.read()) {
      if (b < 0) throw new IOException("connection closed during the upgrade");
      if (b != '\r') line.write(b);
    }
    return line.toString(StandardCharsets.US_ASCII);
  }

  private static String accept(String key) {
    try {
      byte[] sha1 = MessageDigest.getInstance("SHA-1")
          .digest((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").getBytes(StandardCharsets.US_ASCII));
      return Base64.getEncoder().encodeToString(sha1);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() throws IOException {
    listener.close();
  }

  /** One upgraded connection: reads the client's masked frames, writes unmasked ones. */
  static final class Peer {
    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;

    Peer(Socket socket) throws IOException {
      this.socket = socket;
      this.in = new DataInputStream(socket.getInputStream());
      this.out = socket.getOutputStream();
    }

    /** The next whole data or close message; pings are answered on the way. */
    Message receive() throws IOException {
      ByteArrayOutputStream message = new ByteArrayOutputStream();
      int messageOpcode = -1;
      while (true) {
        int b0 = in.readUnsignedByte();
        int b1 = in.readUnsignedByte();
        boolean fin = (b0 & 0x80) != 0;
        int opcode = b0 & 0x0f;
        long length = b1 & 0x7f;
        if (length == 126) length = in.readUnsignedShort();
        else if (length == 127) length = in.readLong();
        if ((b1 & 0x80) == 0) throw new IOException("client frames must be masked");
        if (length > (1 << 20)) throw new IOException("frame of " + length + " bytes exceeds the 1 MiB limit");
        byte[] mask = new byte[4];
        in.readFully(mask);
        byte[] payload = new byte[(int) length];
        in.readFully(payload);
        for (int i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
        if (opcode == 9) {
          send(10, payload);
          continue;
        }
        if (opcode == 10) continue;
        if (opcode == 8) return new Message(8, payload);
        if (opcode != 0) messageOpcode = opcode;
        message.write(payload);
        if (fin) return new Message(messageOpcode, message.toByteArray());
      }
    }

    void sendBinary(byte[] data) throws IOException {
      send(2, data);
    }

    void sendText(String text) throws IOException {
      send(1, text.getBytes(StandardCharsets.UTF_8));
    }

    void close(int code, String reason) throws IOException {
      byte[] why = reason.getBytes(StandardCharsets.UTF_8);
      send(8, ByteBuffer.allocate(2 + why.length).putShort((short) code).put(why).array());
    }

    /** Drops the TCP connection without a close frame, as a crashed node would. */
    void drop() throws IOException {
      socket.close();
    }

    private synchronized void send(int opcode, byte[] payload) throws IOException {
      ByteArrayOutputStream frame = new ByteArrayOutputStream(payload.length + 10);
      frame.write(0x80 | opcode);
      if (payload.length < 126) {
        frame.write(payload.length);
      } else if (payload.length < 65536) {
        frame.write(126);
        frame.write(payload.length >>> 8);
        frame.write(payload.length & 0xff);
      } else {
        frame.write(127);
        frame.write(ByteBuffer.allocate(8).putLong(payload.length).array());
      }
      frame.write(payload);
      out.write(frame.toByteArray());
      out.flush();
    }
  }
}
