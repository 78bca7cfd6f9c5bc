package dev.offload.cli;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Waits for a condition with a deadline, never for a fixed time. */
final class Await {
  private Await() {}

  static void until(Duration timeout, BooleanSupplier done, Supplier<String> lastSeen) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) throw new AssertionError("timed out after " + timeout + "; last seen: " + lastSeen.get());
      LockSupport.parkNanos(Duration.ofMillis(20).toNanos());
    }
  }
}
