package dev.offload.tunnel;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;

/**
 * The tunnel's control-message parser: any text frame is an eof, an error or an invalid message
 * with a reason; it never throws, so no frame can break a tunnel other than its own.
 * Regression mode replays src/test/resources/dev/offload/tunnel/ControlMessageFuzzTestInputs.
 */
class ControlMessageFuzzTest {

  @FuzzTest(maxDuration = "30s")
  void everyTextFrameHasAMeaning(byte[] frame) {
    String text = new String(frame, StandardCharsets.UTF_8);
    ControlMessage.Inbound parsed = ControlMessage.parse(text);
    if (parsed == null) throw new AssertionError("no meaning for " + text);
    if (parsed instanceof ControlMessage.Invalid invalid && invalid.reason().isBlank()) {
      throw new AssertionError("an invalid message without a reason: " + text);
    }
  }
}
