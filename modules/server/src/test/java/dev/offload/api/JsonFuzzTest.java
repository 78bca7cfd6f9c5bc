package dev.offload.api;

import akka.util.ByteString;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.offload.ClientError;
import dev.offload.org.SettingsPatch;
import dev.offload.session.Sessions;

/**
 * Request bodies as the API decodes them: whatever the bytes, the answer is a value or a
 * {@link ClientError} (a 400 with a message), never another exception, which would be a 500.
 * Regression mode (the normal build) replays src/test/resources/dev/offload/api/JsonFuzzTestInputs;
 * docs/security.md says how to fuzz for longer.
 */
class JsonFuzzTest {
  private static final Class<?>[] BODIES = {
      Sessions.StartRequest.class, SettingsPatch.class, OrgRoutes.CreateOrg.class, OrgRoutes.IssueToken.class,
      GrantRoutes.GrantRequest.class, WebhookRoutes.Registration.class};

  @FuzzTest(maxDuration = "30s")
  void requestBodiesDecodeOrAreRefusedAsClientErrors(byte[] body) {
    ByteString bytes = ByteString.fromArray(body);
    for (Class<?> type : BODIES) {
      try {
        Json.parse(bytes, type);
      } catch (ClientError refused) {
        if (refused.code() != ClientError.Code.INVALID_ARGUMENT || refused.getMessage().isBlank()) {
          throw new AssertionError("a body is refused as a 400 with a message, not " + refused.code(), refused);
        }
      }
    }
  }
}
