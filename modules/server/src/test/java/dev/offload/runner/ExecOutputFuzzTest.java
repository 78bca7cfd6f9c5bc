package dev.offload.runner;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;

/**
 * What an exec provider's create command prints, as the pool reads it: a runner it can use, or
 * {@link ExecRunners.CommandFailed} saying what is wrong; never another exception, which would
 * leave a runner half-created without a reason. Regression mode replays
 * src/test/resources/dev/offload/runner/ExecOutputFuzzTestInputs.
 */
class ExecOutputFuzzTest {

  @FuzzTest(maxDuration = "30s")
  void createOutputIsARunnerOrAReason(byte[] printed) {
    String stdout = new String(printed, StandardCharsets.UTF_8);
    try {
      RunnerInfo runner = ExecRunners.parseCreated(stdout, "standard", id -> { });
      if (runner.id().isBlank() || runner.host().isBlank() || runner.port() < 1 || runner.port() > 65535) {
        throw new AssertionError("a runner it cannot reach from " + stdout);
      }
    } catch (ExecRunners.CommandFailed refused) {
      if (refused.getMessage() == null || refused.getMessage().isBlank()) {
        throw new AssertionError("a refusal without a reason for " + stdout, refused);
      }
    }
  }
}
