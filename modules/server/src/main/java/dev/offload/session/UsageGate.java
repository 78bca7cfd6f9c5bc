package dev.offload.session;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** Whether an organisation may start a session now; the reason to refuse, if not (402). */
@FunctionalInterface
public interface UsageGate {
  UsageGate OPEN = org -> CompletableFuture.completedFuture(Optional.empty());

  CompletionStage<Optional<String>> refusal(String org);
}
