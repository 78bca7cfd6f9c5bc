package dev.offload.org;

import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TokenCacheTest {

  private static final Principal ADA = new Principal(Role.MEMBER, "acme", "ada", "tok_ada");
  private static final Principal BOB = new Principal(Role.OWNER, "acme", "bob", "tok_bob");

  @Test
  void remembersAHolderUntilTheTokenIsRevoked() {
    TokenCache cache = new TokenCache(Duration.ofHours(1));
    cache.put(Secrets.sha256("a"), ADA);
    cache.put(Secrets.sha256("b"), BOB);
    assertEquals(Optional.of(ADA), cache.get(Secrets.sha256("a")));

    cache.revoked("tok_ada");
    assertEquals(Optional.empty(), cache.get(Secrets.sha256("a")));
    assertEquals(Optional.of(BOB), cache.get(Secrets.sha256("b")), "other tokens stay");

    cache.forget(Secrets.sha256("b"));
    assertEquals(Optional.empty(), cache.get(Secrets.sha256("b")), "a token the database no longer knows");
  }

  @Test
  void forgetsAHolderOnceItsTimeIsUp() {
    TokenCache cache = new TokenCache(Duration.ofNanos(1));
    cache.put(Secrets.sha256("a"), ADA);
    long put = System.nanoTime();
    while (System.nanoTime() - put < 1_000) Thread.onSpinWait();
    assertEquals(Optional.empty(), cache.get(Secrets.sha256("a")));
  }

  @Test
  void aDisabledCacheRemembersNothing() {
    TokenCache cache = TokenCache.disabled();
    cache.put(Secrets.sha256("a"), ADA);
    assertEquals(Optional.empty(), cache.get(Secrets.sha256("a")));
  }
}
