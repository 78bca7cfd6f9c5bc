package dev.offload.cli;

/** Flags that parse but must not be used together or as given, exit code 2, one line. */
final class UsageFailure extends RuntimeException {
  UsageFailure(String message) {
    super(message, null, false, false);
  }
}
