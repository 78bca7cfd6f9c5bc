package dev.offload.runner;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The system's OpenSSH {@code sshd} on a loopback port, with a host key generated for the test,
 * accepting only {@code clientKey} for the current user, and {@code bin} first on the PATH of
 * commands. Skips the calling test when there is no sshd to run.
 */
final class OpenSshServer implements AutoCloseable {

  private static final Path SSHD = Path.of("/usr/sbin/sshd");

  final int port;
  final String hostKey;
  final String user = System.getProperty("user.name");
  private final Process process;

  private OpenSshServer(int port, String hostKey, Process process) {
    this.port = port;
    this.hostKey = hostKey;
    this.process = process;
  }

  static OpenSshServer start(Path dir, Path clientPublicKey, Path bin) throws Exception {
    assumeTrue(Files.isExecutable(SSHD), "OpenSSH interop skipped: " + SSHD + " is not installed");
    assumeTrue(!"root".equals(System.getProperty("user.name")) || Files.isDirectory(Path.of("/run/sshd")),
        "OpenSSH interop skipped: sshd run as root needs its privilege separation directory /run/sshd");
    Path hostKeyFile = dir.resolve("ssh_host_ed25519_key");
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "offload test runner", "-f", hostKeyFile.toString());
    String[] publicKey = Files.readString(dir.resolve("ssh_host_ed25519_key.pub")).trim().split("\\s+");
    Path authorized = dir.resolve("authorized_keys");
    Files.copy(clientPublicKey, authorized);
    int port;
    try (ServerSocket free = new ServerSocket(0)) {
      port = free.getLocalPort();
    }
    Path config = dir.resolve("sshd_config");
    Files.writeString(config, String.join("\n",
        "ListenAddress 127.0.0.1:" + port,
        "HostKey " + hostKeyFile,
        "PidFile " + dir.resolve("sshd.pid"),
        "AuthorizedKeysFile " + authorized,
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "PermitRootLogin prohibit-password",
        "AllowUsers " + System.getProperty("user.name"),
        "SetEnv PATH=" + bin + ":/usr/local/bin:/usr/bin:/bin",
        ""));
    Process process = new ProcessBuilder(SSHD.toString(), "-D", "-e", "-f", config.toString())
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve("sshd.log").toFile())
        .start();
    OpenSshServer server = new OpenSshServer(port, publicKey[0] + " " + publicKey[1], process);
    server.awaitListening(dir);
    return server;
  }

  private void awaitListening(Path dir) throws IOException {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("sshd exited: " + Files.readString(dir.resolve("sshd.log")));
      }
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return;
      } catch (IOException notYet) {
        // Not listening yet: try again until the deadline.
      }
    }
    throw new IllegalStateException("sshd did not listen on port " + port + ": " + Files.readString(dir.resolve("sshd.log")));
  }

  private static void run(String... command) throws Exception {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes());
    if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
    }
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
