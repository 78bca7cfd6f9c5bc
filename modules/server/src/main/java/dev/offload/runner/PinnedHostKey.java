package dev.offload.runner;

import com.jcraft.jsch.HostKey;
import com.jcraft.jsch.HostKeyRepository;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.UserInfo;
import java.util.Arrays;

/**
 * JSch's view of the one host key pinned for a runner: any other key, whatever host name JSch
 * looks it up under, is a changed key and fails the connection. Nothing is ever learnt from the
 * wire, so verification cannot be switched off by accepting a key on first use.
 */
final class PinnedHostKey implements HostKeyRepository {

  /** A rebuilt host and an impostor look the same from here: only the operator can tell them apart. */
  static final String WHAT_TO_DO = "; if the host was rebuilt, compare the presented key with ssh-keygen -lf on the"
      + " host and pin it where the runner is configured (the runner is not leased until then);"
      + " otherwise something else answers at its address: do not trust it";

  private final RunnerInfo runner;
  private final byte[] pinned;
  private volatile byte[] presented;

  PinnedHostKey(RunnerInfo runner) {
    this.runner = runner;
    this.pinned = runner.hostKeyBlob();
  }

  @Override
  public int check(String host, byte[] key) {
    presented = key.clone();
    return Arrays.equals(pinned, key) ? OK : CHANGED;
  }

  /** Whether the runner presented a key other than the pinned one. */
  boolean refused() {
    byte[] seen = presented;
    return seen != null && !Arrays.equals(pinned, seen);
  }

  /** Why the connection was refused, naming the runner and both fingerprints. */
  String mismatch() {
    return "host key verification failed for runner " + runner.id()
        + " at " + runner.host() + ":" + runner.port() + ": it presented "
        + RunnerInfo.fingerprint(presented) + " but " + runner.hostKeyFingerprint() + " is pinned" + WHAT_TO_DO;
  }

  @Override
  public void add(HostKey hostkey, UserInfo ui) {
    // Pinned keys come from the provider, never from a connection.
  }

  @Override
  public void remove(String host, String type) {
    // The pinned key lives as long as the runner's catalogue entry.
  }

  @Override
  public void remove(String host, String type, byte[] key) {
    // The pinned key lives as long as the runner's catalogue entry.
  }

  @Override
  public String getKnownHostsRepositoryID() {
    return "pinned host key of runner " + runner.id();
  }

  @Override
  public HostKey[] getHostKey() {
    return new HostKey[] {hostKey()};
  }

  /** Lets JSch offer the pinned key's algorithm first when a server has several host keys. */
  @Override
  public HostKey[] getHostKey(String host, String type) {
    HostKey key = hostKey();
    return type == null || type.equals(key.getType()) ? new HostKey[] {key} : new HostKey[0];
  }

  private HostKey hostKey() {
    try {
      return new HostKey(runner.host(), HostKey.GUESS, pinned);
    } catch (JSchException e) {
      throw new IllegalArgumentException(
          "host key pinned for runner " + runner.id() + " has a type JSch does not know", e);
    }
  }
}
