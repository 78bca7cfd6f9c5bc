package dev.offload.cli;

/**
 * A failure the user can act on, exit code 1: its message is the one line printed, saying what
 * went wrong and what to do.
 */
final class CliFailure extends RuntimeException {
  CliFailure(String message) {
    super(message, null, false, false);
  }
}
