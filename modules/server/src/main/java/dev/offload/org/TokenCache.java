package dev.offload.org;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.pubsub.Topic;
import dev.offload.CborSerializable;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Who holds a token, remembered for a short while so that a client's requests do not each cost a
 * database query. A revocation removes the token here at once and is pushed to every other node;
 * the time limit bounds how long a node that missed the push (or a revocation written to the
 * database by hand) keeps accepting it.
 */
public final class TokenCache {

  /** Sent to every node when a token is revoked. */
  public record Revoked(String tokenId) implements CborSerializable {}

  private record Entry(Principal principal, long expiresAtNanos) {}

  /** Far above the tokens a node sees in a minute; beyond it the cache starts afresh. */
  private static final int MAX_ENTRIES = 100_000;

  private final long ttlNanos;
  private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();
  private volatile ActorRef<Topic.Command<Revoked>> revocations;

  public TokenCache(Duration ttl) {
    this.ttlNanos = ttl.toNanos();
  }

  /** Every lookup goes to the database. */
  public static TokenCache disabled() {
    return new TokenCache(Duration.ZERO);
  }

  /** Joins the cluster-wide topic of revocations, so revocations on other nodes reach this one. */
  public void shareRevocations(ActorSystem<?> system) {
    ActorRef<Topic.Command<Revoked>> topic =
        system.systemActorOf(Topic.create(Revoked.class, "token-revocations"), "token-revocations", Props.empty());
    ActorRef<Revoked> listener = system.systemActorOf(
        Behaviors.receiveMessage((Revoked r) -> {
          forget(r.tokenId());
          return Behaviors.same();
        }), "token-revocation-listener", Props.empty());
    topic.tell(Topic.subscribe(listener));
    revocations = topic;
  }

  /** The holder, if looked up less than the time limit ago. */
  Optional<Principal> get(byte[] tokenHash) {
    Entry entry = entries.get(HexFormat.of().formatHex(tokenHash));
    if (entry == null || System.nanoTime() - entry.expiresAtNanos() > 0) return Optional.empty();
    return Optional.of(entry.principal());
  }

  void put(byte[] tokenHash, Principal principal) {
    if (ttlNanos == 0) return;
    if (entries.size() >= MAX_ENTRIES) entries.clear();
    entries.put(HexFormat.of().formatHex(tokenHash), new Entry(principal, System.nanoTime() + ttlNanos));
  }

  void forget(byte[] tokenHash) {
    entries.remove(HexFormat.of().formatHex(tokenHash));
  }

  /** Forgets the token here and tells every other node to. */
  void revoked(String tokenId) {
    forget(tokenId);
    ActorRef<Topic.Command<Revoked>> topic = revocations;
    if (topic != null) topic.tell(Topic.publish(new Revoked(tokenId)));
  }

  private void forget(String tokenId) {
    entries.values().removeIf(e -> tokenId.equals(e.principal().tokenId()));
  }
}
