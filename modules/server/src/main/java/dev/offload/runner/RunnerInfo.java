package dev.offload.runner;

import dev.offload.CborSerializable;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/**
 * A runner as a provider offers it: where its SSH endpoint is, the host key pinned for it and the
 * engine target its SSH server forwards to.
 *
 * @param hostKey the pinned host key in OpenSSH public-key form ({@code ssh-ed25519 AAAA…})
 * @param engineTarget {@code unix:///var/run/docker.sock} or {@code tcp://127.0.0.1:2375}
 */
public record RunnerInfo(
    String id,
    String runnerClass,
    String provider,
    String host,
    int port,
    String user,
    String hostKey,
    String engineTarget)
    implements CborSerializable {

  /** The pinned key's SSH wire blob, the form host-key verification compares. */
  public byte[] hostKeyBlob() {
    String[] parts = hostKey.trim().split("\\s+");
    if (parts.length < 2) {
      throw new IllegalArgumentException(
          "host key of runner " + id + " is not in OpenSSH public-key form (type base64)");
    }
    return Base64.getDecoder().decode(parts[1]);
  }

  /** As OpenSSH prints it ({@code SHA256:…}), so operators can compare it with ssh-keygen -l. */
  public String hostKeyFingerprint() {
    return fingerprint(hostKeyBlob());
  }

  static String fingerprint(byte[] keyBlob) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(keyBlob);
      return "SHA256:" + Base64.getEncoder().withoutPadding().encodeToString(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime provides SHA-256", e);
    }
  }
}
