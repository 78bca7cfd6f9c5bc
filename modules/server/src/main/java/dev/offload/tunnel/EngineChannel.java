package dev.offload.tunnel;

import akka.util.ByteIterator;
import akka.util.ByteString;
import com.jcraft.jsch.Channel;
import com.jcraft.jsch.ChannelDirectStreamLocal;
import com.jcraft.jsch.ChannelDirectTCPIP;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.Session;
import dev.offload.runner.EngineTarget;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.reflect.Method;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One SSH channel to a runner's engine target, on the runner's shared SSH connection: {@code
 * direct-streamlocal@openssh.com} for a Unix socket, {@code direct-tcpip} for a TCP address.
 * Received bytes are pushed into the sink given (JSch's pull-style pipe is slower and corrupts
 * data above 32 KiB of buffer, pitfalls.md). All calls block: run them on the blocking dispatcher.
 */
final class EngineChannel {
  private static final Logger log = LoggerFactory.getLogger(EngineChannel.class);

  /** The default 128 KiB window, not the cipher, limits JSch's throughput (pitfalls.md). */
  static final int WINDOW = 2 * 1024 * 1024;
  /** Largest chunk the runner sends in one packet, so the largest write into the sink. */
  static final int PACKET = 32 * 1024;

  private final Channel channel;
  private final OutputStream toEngine;
  /** Only the one writer of this channel uses it (client bytes are written one batch at a time). */
  private final byte[] scratch = new byte[PACKET];

  private EngineChannel(Channel channel, OutputStream toEngine) {
    this.channel = channel;
    this.toEngine = toEngine;
  }

  static EngineChannel open(
      Session session, EngineTarget target, OutputStream fromEngine, int timeoutMillis)
      throws JSchException, IOException {
    ChannelDirectTCPIP channel;
    if (target instanceof EngineTarget.UnixSocket socket) {
      ChannelDirectStreamLocal local =
          (ChannelDirectStreamLocal) session.openChannel("direct-streamlocal@openssh.com");
      local.setSocketPath(socket.path().toString());
      channel = local;
    } else {
      EngineTarget.Tcp tcp = (EngineTarget.Tcp) target;
      channel = (ChannelDirectTCPIP) session.openChannel("direct-tcpip");
      channel.setHost(tcp.host());
      channel.setPort(tcp.port());
    }
    widen(channel);
    channel.setOutputStream(fromEngine);
    OutputStream toEngine = channel.getOutputStream();
    channel.connect(timeoutMillis);
    // JSch's connect() reports some refusals only by leaving the channel closed.
    if (!channel.isConnected()) {
      throw new JSchException("the runner refused the engine channel");
    }
    return new EngineChannel(channel, toEngine);
  }

  /**
   * JSch 0.2.21 keeps the window and packet setters package-private; a newer upstream commit makes
   * them public. Until that is released they are set reflectively, falling back to the defaults.
   */
  private static void widen(Channel channel) {
    try {
      invoke(channel, "setLocalWindowSizeMax", WINDOW);
      invoke(channel, "setLocalWindowSize", WINDOW);
      invoke(channel, "setLocalPacketSize", PACKET);
    } catch (ReflectiveOperationException | RuntimeException e) {
      log.warn("Cannot widen the SSH channel window, tunnels will be slower: {}", e.toString());
    }
  }

  private static void invoke(Channel channel, String setter, int value)
      throws ReflectiveOperationException {
    Method method = Channel.class.getDeclaredMethod(setter, int.class);
    method.setAccessible(true);
    method.invoke(channel, value);
  }

  /**
   * Writes without flushing: JSch sends a packet when its buffer is full or on {@link #flush}.
   * JSch copies what it is given into its packet, so the bytes go through one reused array (or
   * straight from the message's own array) rather than a new array per message.
   */
  void write(ByteString bytes) throws IOException {
    int size = bytes.size();
    if (size == 0) return;
    if (bytes instanceof ByteString.ByteString1C) {
      toEngine.write(bytes.toArrayUnsafe()); // the whole array, not copied
      return;
    }
    ByteIterator from = bytes.iterator();
    for (int left = size; left > 0; ) {
      int n = Math.min(left, scratch.length);
      from.getBytes(scratch, 0, n);
      toEngine.write(scratch, 0, n);
      left -= n;
    }
  }

  void flush() throws IOException {
    toEngine.flush();
  }

  /** Half-close: the engine sees end of input and can still answer. */
  void shutdownOutput() throws IOException {
    toEngine.close();
  }

  void disconnect() {
    channel.disconnect();
  }
}
