package dev.offload.org;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;

/** Token generation and hashing: tokens are shown once and only their SHA-256 is kept. */
final class Secrets {

  /** Makes a leaked token recognisable to secret scanners and people alike. */
  static final String TOKEN_PREFIX = "ofl_";

  private static final SecureRandom random = new SecureRandom();
  private static final Base64.Encoder urlSafe = Base64.getUrlEncoder().withoutPadding();

  private Secrets() {}

  /** 256 random bits. */
  static String newToken() {
    return TOKEN_PREFIX + randomText(32);
  }

  /** Token ids appear in URLs; random, so that one reveals nothing about the others. */
  static String newTokenId() {
    return "tok_" + randomText(12);
  }

  static byte[] sha256(String token) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  private static String randomText(int bytes) {
    byte[] value = new byte[bytes];
    random.nextBytes(value);
    return urlSafe.encodeToString(value);
  }
}
