package dev.offload.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The rate limit's arithmetic, on a clock the test moves. */
class TokenBucketsTest {
  private final AtomicLong now = new AtomicLong();
  private final TokenBuckets buckets = new TokenBuckets(2, 3, now::get);

  @Test
  void aBurstIsAllowedThenOneRequestPerRefill() {
    for (int i = 0; i < 3; i++) assertEquals(Duration.ZERO, buckets.take("a"));
    assertEquals(Duration.ofMillis(500), buckets.take("a"), "the next token comes after 1/2 s");
    now.addAndGet(Duration.ofMillis(500).toNanos());
    assertEquals(Duration.ZERO, buckets.take("a"));
    assertEquals(Duration.ofMillis(500), buckets.take("a"));
  }

  @Test
  void eachTokenHasItsOwnBucketAndABucketNeverHoldsMoreThanTheBurst() {
    for (int i = 0; i < 3; i++) buckets.take("a");
    assertEquals(Duration.ZERO, buckets.take("b"), "another token is not slowed down");
    now.addAndGet(Duration.ofHours(1).toNanos());
    for (int i = 0; i < 3; i++) assertEquals(Duration.ZERO, buckets.take("a"));
    assertEquals(Duration.ofMillis(500), buckets.take("a"), "an hour of quiet still allows only the burst");
  }

  @Test
  void zeroTurnsTheLimitOffAndNonsenseIsRefused() {
    TokenBuckets off = new TokenBuckets(0, 0, now::get);
    for (int i = 0; i < 10_000; i++) assertEquals(Duration.ZERO, off.take("a"));
    assertThrows(IllegalArgumentException.class, () -> new TokenBuckets(-1, 10, now::get));
    assertThrows(IllegalArgumentException.class, () -> new TokenBuckets(5, 0, now::get));
  }
}
