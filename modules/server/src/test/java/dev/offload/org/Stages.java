package dev.offload.org;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.offload.ClientError;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Waits for the repository's stages with a deadline, so a hang fails the test instead of blocking
 * it.
 */
final class Stages {

  private static final long DEADLINE_SECONDS = 10;

  private Stages() {}

  static <T> T result(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  static ClientError refusal(CompletionStage<?> stage) {
    ExecutionException failed =
        assertThrows(
            ExecutionException.class,
            () -> stage.toCompletableFuture().get(DEADLINE_SECONDS, TimeUnit.SECONDS));
    return assertInstanceOf(ClientError.class, failed.getCause());
  }
}
