package dev.offload.server;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.api.ApiClient;
import dev.offload.testing.Await;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/**
 * Billing holds under a real workload: 200+ sessions over four organisations — stopped at once,
 * resumed, left idle until they expire, some running across a restart of the server process —
 * and afterwards, for every organisation, the ledger equals the replayed journal, and the usage
 * and activity views agree with it.
 */
class BillingWorkloadIT {
  private static final String OPERATOR = "operator-token-for-workload";
  private static final List<String> ORGS = List.of("north", "south", "east", "west");
  private static final int USERS_PER_ORG = 52;
  private static final int BATCH = 8;

  private record User(String org, String token) {}

  @Test
  void theLedgerEqualsTheAuditAfterAWorkloadWithARestart() throws Exception {
    Path workDir = Files.createTempDirectory("offload-workload");
    int port = ServerProcess.freePort();
    String javaOpts = String.join(" ",
        "-Doffload.runners.classes.standard.min-warm=6",
        "-Doffload.runners.classes.standard.max=16",
        "-Doffload.session.preservation-window=4s",
        "-Doffload.session.provisioning-timeout=30s");
    Map<String, String> env = Map.of("OFFLOAD_OPERATOR_TOKEN", OPERATOR);
    List<User> users = new ArrayList<>();
    Map<String, String> owners = new java.util.HashMap<>();
    List<String> acrossRestart = new ArrayList<>();
    List<User> acrossRestartUsers = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(BATCH);
    try {
      try (ServerProcess server = ServerProcess.start(workDir, port, javaOpts, env)) {
        ApiClient api = new ApiClient(server.url());
        for (String org : ORGS) {
          assertEquals(201, api.post("/v1/orgs", OPERATOR, "{\"id\":\"" + org + "\"}").status());
          owners.put(org, token(api, org, "owner", "owner"));
          for (int i = 0; i < USERS_PER_ORG; i++) users.add(new User(org, token(api, org, "u" + i, "member")));
        }
        // Four sessions go idle and expire on their own, meanwhile.
        for (User u : users.subList(0, 4)) start(api, u, 10);
        List<User> firstHalf = users.subList(4, users.size() / 2);
        runInBatches(api, pool, firstHalf);
        // Two sessions keep running while the server restarts.
        for (User u : users.subList(users.size() / 2, users.size() / 2 + 2)) {
          acrossRestart.add(running(api, u, start(api, u, 600)));
          acrossRestartUsers.add(u);
        }
        server.stop();
      }
      try (ServerProcess server = ServerProcess.start(workDir, port, javaOpts, env)) {
        ApiClient api = new ApiClient(server.url());
        runInBatches(api, pool, users.subList(users.size() / 2 + 2, users.size()));
        for (int i = 0; i < acrossRestart.size(); i++) {
          assertEquals(200, api.delete("/v1/sessions/" + acrossRestart.get(i), acrossRestartUsers.get(i).token()).status());
        }
        String month = YearMonth.now(ZoneOffset.UTC).toString();
        for (String org : ORGS) {
          String owner = owners.get(org);
          // Everything ends (the idle ones expire); then the ledger has caught up with the journal.
          Await.until(Duration.ofSeconds(60), () -> api.get("/v1/sessions?state=terminated&limit=500", owner).json()
              .get("sessions").size(), n -> n == USERS_PER_ORG, "every session of " + org + " to end");
          JsonNode audit = Await.until(Duration.ofSeconds(30), () -> api.get("/v1/orgs/" + org + "/audit?month=" + month, owner).json(),
              r -> r.path("ok").asBoolean(), "the audit of " + org + " to be ok");
          assertEquals(USERS_PER_ORG, audit.get("sessions").asInt(), audit.toString());
          long ledger = audit.get("ledgerSeconds").asLong();
          assertEquals(audit.get("replayedSeconds").asLong(), ledger);
          assertEquals(audit.get("replayedMicros").asLong(), audit.get("ledgerMicros").asLong());
          assertTrue(ledger > 0, "running sessions were charged in " + org);

          JsonNode usage = api.get("/v1/orgs/" + org + "/usage?month=" + month, owner).json();
          assertEquals(USERS_PER_ORG, usage.get("sessions").get("count").asInt(), usage.toString());
          assertEquals(ledger, usage.get("sessions").get("billableSeconds").asLong(), "the usage view agrees with the ledger");
          long activity = 0;
          for (JsonNode row : api.get("/v1/orgs/" + org + "/activity?limit=500", owner).json().get("sessions")) {
            activity += row.get("billableSeconds").asLong();
          }
          assertEquals(ledger, activity, "the activity view agrees with the ledger");
        }
        JsonNode expired = api.get("/v1/sessions?state=terminated&limit=500", owners.get(ORGS.get(0))).json().get("sessions");
        long idleExpired = 0;
        for (JsonNode s : expired) if (s.get("terminationReason").asText().equals("idle-expired")) idleExpired++;
        assertEquals(4, idleExpired, "the idle sessions expired on their own");
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /** Batches no larger than the runners: each session runs, some are resumed, all are stopped. */
  private static void runInBatches(ApiClient api, ExecutorService pool, List<User> users) {
    for (int from = 0; from < users.size(); from += BATCH) {
      List<CompletableFuture<Void>> batch = new ArrayList<>();
      for (User u : users.subList(from, Math.min(users.size(), from + BATCH))) {
        batch.add(CompletableFuture.runAsync(() -> {
          String id = running(api, u, start(api, u, 600));
          if (u.token().hashCode() % 2 == 0) {
            assertEquals(200, api.post("/v1/sessions/" + id + "/resume", u.token(), "").status());
          }
          assertEquals(200, api.delete("/v1/sessions/" + id, u.token()).status());
        }, pool));
      }
      batch.forEach(CompletableFuture::join);
    }
  }

  private static String start(ApiClient api, User u, int idleTimeout) {
    ApiClient.Response created = api.post("/v1/sessions", u.token(), "{\"idleTimeoutSeconds\": " + idleTimeout + "}");
    assertEquals(201, created.status(), created.body());
    return created.json().get("id").asText();
  }

  private static String running(ApiClient api, User u, String id) {
    Await.until(Duration.ofSeconds(30), () -> api.get("/v1/sessions/" + id, u.token()).json().get("state").asText(),
        s -> !s.equals("provisioning"), "session " + id + " to run");
    return id;
  }

  private static String token(ApiClient api, String org, String user, String role) {
    return api.post("/v1/orgs/" + org + "/tokens", OPERATOR, "{\"user\":\"" + user + "\",\"role\":\"" + role + "\"}")
        .json().get("token").asText();
  }
}
