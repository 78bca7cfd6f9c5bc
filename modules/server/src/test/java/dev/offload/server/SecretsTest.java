package dev.offload.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import dev.offload.api.ApiClient;
import dev.offload.api.ApiClient.Response;
import dev.offload.testing.Await;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * api.md: tokens are shown once and never logged; runners-and-tunnels.md: private keys are never
 * logged nor returned. A whole run — generated operator token, organisations, tokens, a session,
 * a webhook secret, revoked and forged tokens, errors — with every log line captured (the
 * product's own at DEBUG), then searched for each secret it created.
 */
class SecretsTest {

  /** Every formatted log line with its stack trace, from every thread. */
  private static final class Captured extends AppenderBase<ILoggingEvent> {
    private final StringBuffer text = new StringBuffer();
    private final PatternLayout layout = new PatternLayout();

    Captured(LoggerContext context) {
      setContext(context);
      layout.setContext(context);
      layout.setPattern("%level %logger [%mdc] %msg%n%ex");
      layout.start();
    }

    @Override
    protected void append(ILoggingEvent event) {
      text.append(layout.doLayout(event));
    }
  }

  @Test
  void noSecretOfAWholeRunAppearsInTheLogsOrAnyAnswer() throws Exception {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    Logger product = context.getLogger("dev.offload");
    Level productLevel = product.getLevel();
    Captured logs = new Captured(context);
    logs.start();
    root.addAppender(logs);
    product.setLevel(Level.DEBUG);
    List<String> secrets = new ArrayList<>();
    List<String> answers = new ArrayList<>();
    Path dataDir;
    try (TestServer server = TestServer.start(String.join("\n",
        "offload.auth.operator-token = \"\"",
        "offload.runners.classes.standard { provider = local, min-warm = 1, max = 2 }"))) {
      ApiClient api = server.api();
      Path operatorFile = server.server().bootstrap().operatorTokenFile();
      dataDir = operatorFile.getParent();
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(operatorFile)));
      String operator = Files.readString(operatorFile).strip();
      secrets.add(operator);

      String org = "sec-" + UUID.randomUUID().toString().substring(0, 8);
      answers.add(api.post("/v1/orgs", operator, "{\"id\":\"" + org + "\"}").body());
      Response ownerToken = api.post("/v1/orgs/" + org + "/tokens", operator, "{\"user\":\"olivia\",\"role\":\"owner\"}");
      String owner = ownerToken.json().get("token").asText();
      Response memberToken = api.post("/v1/orgs/" + org + "/tokens", owner, "{\"user\":\"alice\",\"role\":\"member\"}");
      String member = memberToken.json().get("token").asText();
      secrets.add(owner);
      secrets.add(member);
      Response hook = api.post("/v1/orgs/" + org + "/webhooks", owner,
          "{\"url\":\"https://hooks.example.com/x\",\"events\":[\"session.state\"]}");
      assertEquals(201, hook.status(), hook.body());
      secrets.add(hook.json().get("secret").asText());

      Response started = api.post("/v1/sessions", member, "{\"idleTimeoutSeconds\": 60}");
      String id = started.json().get("id").asText();
      Await.until(Duration.ofSeconds(30), () -> api.get("/v1/sessions/" + id, member).json(),
          s -> s.path("state").asText().equals("grace-period"), "the session running");
      answers.add(api.get("/v1/sessions/" + id, member).body());
      answers.add(api.get("/v1/sessions/" + id + "/diagnose", member).body());
      answers.add(api.get("/v1/runners", operator).body());
      answers.add(api.get("/v1/orgs/" + org + "/usage", owner).body());
      answers.add(api.get("/v1/orgs/" + org + "/webhooks", owner).body());
      answers.add(api.delete("/v1/sessions/" + id, member).body());

      String forged = member.substring(0, member.length() - 2) + "xx";
      secrets.add(forged);
      answers.add(api.get("/v1/sessions", forged).body());
      answers.add(api.post("/v1/sessions", member, "{\"labels\": {\"token\": 1}, \"x\": \"" + member + "\"}").body());
      answers.add(api.delete("/v1/orgs/" + org + "/tokens/" + memberToken.json().get("id").asText(), owner).body());
      answers.add(api.get("/v1/sessions", member).body());
      answers.add(api.get("/version", null).body());
      answers.add(api.get("/metrics", null).body());
      answers.add(api.get("/health/ready", null).body());
      answers.add(server.server().bootstrap().toString());

      List<Path> keys;
      try (var files = Files.walk(dataDir)) {
        keys = files.filter(Files::isRegularFile).filter(SecretsTest::isPrivateKey).toList();
      }
      assertFalse(keys.isEmpty(), "the local runners' SSH keys are in the data directory");
      for (Path key : keys) {
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)), key.toString());
        for (String line : Files.readAllLines(key)) {
          if (line.length() >= 16 && !line.startsWith("-----")) secrets.add(line);
        }
      }
    } finally {
      root.detachAppender(logs);
      product.setLevel(productLevel);
    }

    String logged = logs.text.toString();
    assertTrue(logged.length() > 10_000, "the run was logged: " + logged.length() + " characters");
    assertFalse(logged.contains("PRIVATE KEY"), "no key material in the logs");
    assertTrue(secrets.size() >= 6, "tokens, webhook secret and key lines: " + secrets.size());
    for (String secret : secrets) {
      assertFalse(logged.contains(secret), "a secret in the logs: " + secret.substring(0, 6) + "…");
      for (String answer : answers) {
        assertFalse(answer.contains(secret), "a secret in an answer: " + answer);
      }
    }
    assertFalse(answers.stream().anyMatch(a -> a.contains("PRIVATE KEY")), "no key material in any answer");
  }

  private static boolean isPrivateKey(Path file) {
    try {
      return Files.size(file) < 100_000 && Files.readString(file).contains("PRIVATE KEY");
    } catch (java.io.IOException | java.io.UncheckedIOException e) {
      return false;
    }
  }
}
