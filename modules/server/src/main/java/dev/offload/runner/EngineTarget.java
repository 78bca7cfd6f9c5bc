package dev.offload.runner;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;

/**
 * Where a runner's SSH server forwards engine connections: a Unix socket (reached with an OpenSSH
 * {@code direct-streamlocal} channel) or a TCP address (reached with {@code direct-tcpip}).
 */
public sealed interface EngineTarget {

  record UnixSocket(Path path) implements EngineTarget {}

  record Tcp(String host, int port) implements EngineTarget {}

  static EngineTarget parse(String target) {
    try {
      URI uri = new URI(target);
      if ("unix".equals(uri.getScheme()) && uri.getPath() != null && !uri.getPath().isEmpty()) {
        return new UnixSocket(Path.of(uri.getPath()));
      }
      if ("tcp".equals(uri.getScheme()) && uri.getHost() != null && uri.getPort() > 0) {
        return new Tcp(uri.getHost(), uri.getPort());
      }
    } catch (URISyntaxException e) {
      // Reported below with the forms that are accepted, which says more than the parser's position.
    }
    throw new IllegalArgumentException(
        "engine target " + target + " is neither unix:///path/to/socket nor tcp://host:port");
  }
}
