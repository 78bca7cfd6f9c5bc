package dev.offload.runner;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PublicKey;
import java.util.Iterator;
import java.util.Set;
import org.apache.sshd.common.NamedResource;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.writer.openssh.OpenSSHKeyPairResourceWriter;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.common.util.security.SecurityUtils;

/** Ed25519 key files in OpenSSH format, created once and reused, readable only by the owner. */
final class SshKeys {

  private SshKeys() {}

  /**
   * Loads the key pair at {@code privateKey}, generating it on first use. A generated key is
   * written to a private temporary file and moved into place, so a crash never leaves a partial key
   * that would fail every later start; {@code <privateKey>.pub} is kept next to it.
   */
  static KeyPair loadOrCreate(Path privateKey, String comment) {
    try {
      Path dir = privateKey.toAbsolutePath().getParent();
      createPrivateDirectories(dir);
      if (!Files.exists(privateKey)) {
        KeyPair generated = KeyUtils.generateKeyPair(KeyPairProvider.SSH_ED25519, 256);
        Path tmp = Files.createTempFile(dir, ".key-", ".tmp", ownerOnly());
        try {
          try (OutputStream out = Files.newOutputStream(tmp)) {
            OpenSSHKeyPairResourceWriter.INSTANCE.writePrivateKey(generated, comment, null, out);
          }
          Files.move(tmp, privateKey, StandardCopyOption.ATOMIC_MOVE);
        } finally {
          Files.deleteIfExists(tmp);
        }
      }
      KeyPair keyPair = read(privateKey);
      Path publicKey = privateKey.resolveSibling(privateKey.getFileName() + ".pub");
      if (!Files.exists(publicKey)) {
        Files.writeString(publicKey, openSsh(keyPair.getPublic()) + " " + comment + "\n");
      }
      return keyPair;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create or read the SSH key " + privateKey, e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot create or read the SSH key " + privateKey, e);
    }
  }

  /** {@code ssh-ed25519 AAAA…} without comment, the form {@link RunnerInfo#hostKey()} pins. */
  static String openSsh(PublicKey key) {
    return PublicKeyEntry.toString(key);
  }

  private static KeyPair read(Path privateKey) throws IOException, GeneralSecurityException {
    try (InputStream in = Files.newInputStream(privateKey)) {
      Iterator<KeyPair> keys =
          SecurityUtils.loadKeyPairIdentities(
                  null, NamedResource.ofName(privateKey.toString()), in, null)
              .iterator();
      if (!keys.hasNext()) {
        throw new GeneralSecurityException("no key pair in " + privateKey);
      }
      return keys.next();
    }
  }

  private static void createPrivateDirectories(Path dir) throws IOException {
    Files.createDirectories(
        dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
  }

  private static FileAttribute<Set<PosixFilePermission>> ownerOnly() {
    return PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
  }
}
