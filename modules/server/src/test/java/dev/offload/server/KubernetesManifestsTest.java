package dev.offload.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * deploy/k8s against what the configuration relies on: pods labelled for Kubernetes API discovery,
 * a management port named as bootstrap looks for it and probed on the health paths, RBAC that lets
 * the nodes list their pods, secrets referenced rather than written, heap sized by RAM percentage,
 * and a disruption budget that keeps the majority keep-majority needs.
 */
class KubernetesManifestsTest {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private static Map<String, JsonNode> byKind;
  private static Config node;

  @BeforeAll
  static void read() throws IOException {
    byKind = new HashMap<>();
    Path dir = ServerProcess.repositoryRoot().resolve("deploy/k8s");
    List<Path> files;
    try (Stream<Path> listed = Files.list(dir)) {
      files = listed.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
    }
    for (Path file : files) {
      try (YAMLParser parser = (YAMLParser) YAML.getFactory().createParser(file.toFile())) {
        for (JsonNode doc : (Iterable<JsonNode>) () -> readAll(parser)) {
          String kind = doc.path("kind").asText();
          assertFalse(byKind.containsKey(kind), "one " + kind + " expected");
          byKind.put(kind, doc);
        }
      }
    }
    // The ConfigMap's file, layered as a node layers it over the reference (the include names a path in the image).
    String conf = byKind.get("ConfigMap").path("data").path("offload.conf").asText()
        .replaceAll("(?m)^include .*$", "");
    node = ConfigFactory.parseString(conf).withFallback(ConfigFactory.defaultReference()).resolve();
  }

  private static java.util.Iterator<JsonNode> readAll(YAMLParser parser) {
    try {
      return YAML.readValues(parser, JsonNode.class);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void everyObjectTheClusterNeedsIsThere() {
    assertEquals(Set.of("ConfigMap", "Deployment", "Service", "ServiceAccount", "Role", "RoleBinding",
        "PodDisruptionBudget"), byKind.keySet());
  }

  @Test
  void podsCarryTheLabelDiscoverySelects() {
    assertEquals("kubernetes-api", node.getString("offload.cluster.discovery"));
    assertFalse(node.getBoolean("offload.cluster.join-self"), "the nodes bootstrap a cluster");
    String selector = String.format(node.getString("akka.discovery.kubernetes-api.pod-label-selector"),
        node.getString("akka.management.cluster.bootstrap.contact-point-discovery.service-name"));
    String[] label = selector.split("=");
    JsonNode deployment = byKind.get("Deployment");
    assertEquals(label[1], deployment.at("/spec/template/metadata/labels/" + label[0]).asText(), selector);
    assertEquals(label[1], deployment.at("/spec/selector/matchLabels/" + label[0]).asText());
    assertEquals(label[1], byKind.get("Service").at("/spec/selector/" + label[0]).asText());
    assertEquals(label[1], byKind.get("PodDisruptionBudget").at("/spec/selector/matchLabels/" + label[0]).asText());
  }

  @Test
  void threeReplicasAndAMajorityKeptThroughDisruptions() {
    int replicas = byKind.get("Deployment").at("/spec/replicas").asInt();
    assertEquals(3, replicas);
    assertEquals(replicas, node.getInt("offload.cluster.required-contact-points"));
    assertEquals("keep-majority", node.getString("akka.cluster.split-brain-resolver.active-strategy"));
    assertEquals(replicas / 2 + 1, byKind.get("PodDisruptionBudget").at("/spec/minAvailable").asInt());
    assertEquals(0, byKind.get("Deployment").at("/spec/strategy/rollingUpdate/maxUnavailable").asInt());
  }

  @Test
  void portsAndProbesMatchTheConfiguration() {
    JsonNode container = container();
    Map<String, Integer> ports = new HashMap<>();
    for (JsonNode port : container.path("ports")) ports.put(port.path("name").asText(), port.path("containerPort").asInt());
    String managementName = node.getString("akka.management.cluster.bootstrap.contact-point-discovery.port-name");
    assertEquals(node.getInt("akka.management.http.port"), ports.get(managementName), "bootstrap finds the port by name");
    assertEquals(node.getInt("offload.http.port"), ports.get("http"));
    assertEquals(node.getInt("akka.remote.artery.canonical.port"), ports.get("remoting"));

    assertEquals("/" + node.getString("akka.management.health-checks.readiness-path"),
        container.at("/readinessProbe/httpGet/path").asText());
    assertEquals("/" + node.getString("akka.management.health-checks.liveness-path"),
        container.at("/livenessProbe/httpGet/path").asText());
    for (String probe : List.of("readinessProbe", "livenessProbe", "startupProbe")) {
      assertEquals(managementName, container.at("/" + probe + "/httpGet/port").asText(), probe);
    }
    assertEquals("http", byKind.get("Service").at("/spec/ports/0/targetPort").asText());
    assertTrue(byKind.get("Deployment").at("/spec/template/spec/terminationGracePeriodSeconds").asInt() >= 30,
        "time for coordinated shutdown to hand over shards");
  }

  @Test
  void theClusterAddressIsThePodsAndSecretsAreReferenced() {
    Map<String, JsonNode> env = env();
    assertEquals("status.podIP", env.get("OFFLOAD_CLUSTER_HOST").at("/valueFrom/fieldRef/fieldPath").asText());
    for (String secret : List.of("OFFLOAD_DB_URL", "OFFLOAD_DB_USER", "OFFLOAD_DB_PASSWORD", "OFFLOAD_OPERATOR_TOKEN")) {
      assertTrue(env.get(secret).at("/valueFrom/secretKeyRef/name").isTextual(), secret + " from a Secret");
      assertFalse(env.get(secret).has("value"), secret + " never written in the manifest");
    }
    String javaOptions = env.get("JAVA_TOOL_OPTIONS").path("value").asText();
    assertTrue(javaOptions.contains("-XX:MaxRAMPercentage="), javaOptions);
    assertFalse(javaOptions.contains("-Xmx"), "heap follows the container's limit: " + javaOptions);
    assertTrue(container().at("/resources/limits/memory").isTextual(), "a memory limit the percentages apply to");
    String identity = node.getString("offload.runners.ssh.identity");
    assertTrue(container().path("volumeMounts").findValues("mountPath").stream()
        .anyMatch(path -> identity.startsWith(path.asText() + "/")), "the SSH key " + identity + " is mounted");
  }

  @Test
  void theNodesMayListTheirPodsAndNothingMore() {
    JsonNode binding = byKind.get("RoleBinding");
    String account = byKind.get("Deployment").at("/spec/template/spec/serviceAccountName").asText();
    assertEquals(byKind.get("ServiceAccount").at("/metadata/name").asText(), account);
    assertEquals("ServiceAccount", binding.at("/subjects/0/kind").asText());
    assertEquals(account, binding.at("/subjects/0/name").asText());
    assertEquals("Role", binding.at("/roleRef/kind").asText());
    assertEquals(byKind.get("Role").at("/metadata/name").asText(), binding.at("/roleRef/name").asText());
    JsonNode rules = byKind.get("Role").path("rules");
    assertEquals(1, rules.size());
    assertEquals(List.of(""), texts(rules.get(0).path("apiGroups")));
    assertEquals(List.of("pods"), texts(rules.get(0).path("resources")));
    assertEquals(Set.of("get", "watch", "list"), Set.copyOf(texts(rules.get(0).path("verbs"))));
  }

  private static JsonNode container() {
    JsonNode containers = byKind.get("Deployment").at("/spec/template/spec/containers");
    assertEquals(1, containers.size());
    return containers.get(0);
  }

  private static Map<String, JsonNode> env() {
    Map<String, JsonNode> env = new HashMap<>();
    for (JsonNode variable : container().path("env")) env.put(variable.path("name").asText(), variable);
    return env;
  }

  private static List<String> texts(JsonNode array) {
    List<String> texts = new ArrayList<>();
    array.forEach(n -> texts.add(n.asText()));
    return texts;
  }
}
