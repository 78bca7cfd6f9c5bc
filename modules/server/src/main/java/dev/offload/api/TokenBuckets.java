package dev.offload.api;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * The per-token rate limit: a token bucket per caller that holds at most {@code burst} requests
 * and refills at {@code perSecond}. Keyed by authenticated token only, so the map grows with the
 * tokens that exist, never with what strangers send.
 */
final class TokenBuckets {
  private final double perSecond;
  private final double burst;
  private final LongSupplier nanoTime;
  private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

  /** {@code perSecond} 0 turns the limit off. */
  TokenBuckets(double perSecond, int burst, LongSupplier nanoTime) {
    if (perSecond < 0 || (perSecond > 0 && burst < 1)) {
      throw new IllegalArgumentException("offload.http.rate-limit needs requests-per-second >= 0 and burst >= 1");
    }
    this.perSecond = perSecond;
    this.burst = burst;
    this.nanoTime = nanoTime;
  }

  /** Takes one request from {@code key}'s bucket: zero when allowed, else how long until one is. */
  Duration take(String key) {
    if (perSecond == 0) return Duration.ZERO;
    return buckets.computeIfAbsent(key, k -> new Bucket(burst, nanoTime.getAsLong())).take();
  }

  private final class Bucket {
    private double tokens;
    private long refilledAt;

    Bucket(double tokens, long now) {
      this.tokens = tokens;
      this.refilledAt = now;
    }

    synchronized Duration take() {
      long now = nanoTime.getAsLong();
      tokens = Math.min(burst, tokens + (now - refilledAt) / 1e9 * perSecond);
      refilledAt = now;
      if (tokens >= 1) {
        tokens -= 1;
        return Duration.ZERO;
      }
      return Duration.ofNanos((long) Math.ceil((1 - tokens) / perSecond * 1e9));
    }
  }
}
