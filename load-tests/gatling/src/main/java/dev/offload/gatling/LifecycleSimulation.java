package dev.offload.gatling;

import static io.gatling.javaapi.core.CoreDsl.StringBody;
import static io.gatling.javaapi.core.CoreDsl.atOnceUsers;
import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.jmesPath;
import static io.gatling.javaapi.core.CoreDsl.listFeeder;
import static io.gatling.javaapi.core.CoreDsl.pause;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;

import io.gatling.javaapi.core.ChainBuilder;
import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The session lifecycle mix against one node or several: every virtual user is one user of an
 * organisation (one live session each) and, for the whole run, starts a session, waits until its
 * runner is verified, reads it, lists its sessions and stops it. Nodes are taken in turn per
 * virtual user, so with a cluster most sessions live on another node than the one asked.
 *
 * <p>System properties: offload.urls (comma-separated), offload.operatorToken, offload.users (50),
 * offload.seconds (60).
 */
public class LifecycleSimulation extends Simulation {
  private static final Pattern TOKEN = Pattern.compile("\"token\"\\s*:\\s*\"([^\"]+)\"");

  private final String[] urls = System.getProperty("offload.urls", "http://127.0.0.1:8080").split(",");
  private final int users = Integer.getInteger("offload.users", 50);
  private final Duration duration = Duration.ofSeconds(Integer.getInteger("offload.seconds", 60));

  private final HttpProtocolBuilder protocol = http.baseUrls(urls)
      .acceptHeader("application/json")
      .contentTypeHeader("application/json")
      .header("Authorization", "Bearer #{token}");

  private final ChainBuilder lifecycle =
      exec(http("start").post("/v1/sessions").body(StringBody("{}"))
              .check(status().is(201), jmesPath("id").saveAs("id"), jmesPath("state").saveAs("state")))
          .asLongAs(session -> "provisioning".equals(session.getString("state"))).on(
              pause(Duration.ofMillis(10))
                  .exec(http("poll until running").get("/v1/sessions/#{id}")
                      .check(status().is(200), jmesPath("state").saveAs("state"))))
          .exec(http("read").get("/v1/sessions/#{id}").check(status().is(200)))
          .exec(http("list").get("/v1/sessions?limit=10").check(status().is(200)))
          .exec(http("stop").delete("/v1/sessions/#{id}")
              .check(status().is(200), jmesPath("state").is("terminated")));

  private final ScenarioBuilder scenario = scenario("session lifecycle")
      .feed(listFeeder(users(urls[0], System.getProperty("offload.operatorToken"), users)).queue())
      .during(duration).on(lifecycle);

  {
    setUp(scenario.injectOpen(atOnceUsers(users))).protocols(protocol);
  }

  /** One organisation per 50 users (the default live-session cap is 100), one member token each. */
  private static List<Map<String, Object>> users(String url, String operator, int count) {
    if (operator == null) throw new IllegalArgumentException("set -Doffload.operatorToken");
    HttpClient client = HttpClient.newHttpClient();
    String run = Long.toString(System.currentTimeMillis() % 1_000_000, 36);
    List<Map<String, Object>> tokens = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String org = "gatling-" + run + "-" + (i / 50);
      if (i % 50 == 0) post(client, url + "/v1/orgs", operator, "{\"id\":\"" + org + "\"}");
      Matcher token = TOKEN.matcher(post(client, url + "/v1/orgs/" + org + "/tokens", operator,
          "{\"user\":\"u" + i + "\",\"role\":\"member\"}"));
      if (!token.find()) throw new IllegalStateException("no token issued for user u" + i);
      tokens.add(Map.of("token", token.group(1)));
    }
    return tokens;
  }

  private static String post(HttpClient client, String url, String token, String body) {
    try {
      HttpResponse<String> response = client.send(HttpRequest.newBuilder(URI.create(url))
              .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
          HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 201) {
        throw new IllegalStateException("POST " + url + " answered " + response.statusCode() + ": " + response.body());
      }
      return response.body();
    } catch (IOException e) {
      throw new IllegalStateException("POST " + url + " failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
