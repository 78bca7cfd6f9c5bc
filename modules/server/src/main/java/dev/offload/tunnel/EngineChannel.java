package dev.offload.tunnel;

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

  /** Writes without flushing: JSch sends a packet when its buffer is full or on {@link #flush}. */
  void write(byte[] bytes) throws IOException {
    toEngine.write(bytes);
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
