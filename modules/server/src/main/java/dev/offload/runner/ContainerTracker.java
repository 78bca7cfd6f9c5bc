package dev.offload.runner;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.jcraft.jsch.ChannelExec;
import com.jcraft.jsch.JSchException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows the containers on one leased runner for its session (spec: container tracking): lists
 * the running ones with {@code docker ps}, then streams {@code docker events} over an SSH exec
 * channel, and reports starts and stops through the {@link SessionDirectory}, with the ports each
 * started container publishes ({@code docker container inspect}, asked before the next event is
 * read so a stop never overtakes its start). The channel's blocking reads run on the blocking
 * dispatcher; lines come back to the actor as messages. When the engine cannot be reached it
 * reports nothing and tries again with backoff.
 */
final class ContainerTracker extends AbstractBehavior<ContainerTracker.Command> {

  interface Command {}

  private record Connect() implements Command {}

  private record Listed(Map<String, String> running, Map<String, Inspection> inspected) implements Command {}

  /** {@code inspected} is what inspect said of a started container, or null for other events. */
  private record EngineEvent(String json, Inspection inspected) implements Command {}

  /** A container's name and published ports; empty when inspect could not tell. */
  record Inspection(String name, List<PublishedPort> ports) {}

  private record Ended(String reason) implements Command {}

  static final String PS = "docker ps --format '{{json .}}'";
  static final String EVENTS = "docker events --format '{{json .}}' --filter type=container";
  static final String INSPECT = "docker container inspect";
  /** Engine ids and names only: nothing else ever reaches the shell of the inspect command. */
  private static final Pattern CONTAINER_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
  private static final Inspection UNKNOWN = new Inspection("", List.of());
  private static final Duration MIN_BACKOFF = Duration.ofSeconds(1);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Logger log = LoggerFactory.getLogger(ContainerTracker.class);

  static Behavior<Command> create(RunnerInfo runner, String sessionId, RunnerFleet fleet, SessionDirectory sessions) {
    return Behaviors.setup(context -> Behaviors.withTimers(
        timers -> new ContainerTracker(context, timers, runner, sessionId, fleet, sessions)));
  }

  private final TimerScheduler<Command> timers;
  private final RunnerInfo runner;
  private final String sessionId;
  private final RunnerFleet fleet;
  private final SessionDirectory sessions;
  private final AtomicReference<ChannelExec> open = new AtomicReference<>();
  private final Map<String, String> running = new HashMap<>();
  private Duration backoff = MIN_BACKOFF;

  private ContainerTracker(ActorContext<Command> context, TimerScheduler<Command> timers, RunnerInfo runner,
      String sessionId, RunnerFleet fleet, SessionDirectory sessions) {
    super(context);
    this.timers = timers;
    this.runner = runner;
    this.sessionId = sessionId;
    this.fleet = fleet;
    this.sessions = sessions;
    context.getSelf().tell(new Connect());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Connect.class, c -> connect())
        .onMessage(Listed.class, this::onListed)
        .onMessage(EngineEvent.class, this::onEvent)
        .onMessage(Ended.class, this::onEnded)
        .onSignal(PostStop.class, s -> {
          // Closing the channel ends the blocking read and, on the runner, docker events.
          ChannelExec channel = open.getAndSet(null);
          if (channel != null) {
            channel.disconnect();
          }
          return this;
        })
        .build();
  }

  private Behavior<Command> connect() {
    ActorRef<Command> self = getContext().getSelf();
    CompletableFuture.runAsync(() -> follow(self), fleet.tracking())
        .whenComplete((done, failure) -> self.tell(new Ended(failure == null ? "the event stream ended"
            : failure.getCause() != null ? failure.getCause().getMessage() : failure.getMessage())));
    return this;
  }

  /** Blocking: the listing, then the event stream until it ends or the tracker stops. */
  private void follow(ActorRef<Command> self) {
    try {
      Map<String, String> listed = new HashMap<>();
      int status = stream(PS, line -> {
        JsonNode container = parse(line);
        if (container != null && container.hasNonNull("ID")) {
          listed.put(container.get("ID").asText(), container.path("Image").asText(""));
        }
      });
      if (status != 0) {
        throw new IllegalStateException("docker ps on runner " + runner.id() + " exited with " + status);
      }
      self.tell(new Listed(listed, inspect(List.copyOf(listed.keySet()))));
      stream(EVENTS, line -> self.tell(new EngineEvent(line, startedId(line).map(
          id -> inspect(List.of(id)).getOrDefault(id, UNKNOWN)).orElse(null))));
    } catch (JSchException | IOException e) {
      throw new IllegalStateException("cannot follow the engine of runner " + runner.id() + ": " + e.getMessage(), e);
    }
  }

  /** The id of the container a {@code start} event names, when the line is one. */
  private static Optional<String> startedId(String line) {
    JsonNode json = parse(line);
    if (json == null || !"start".equals(json.path("Action").asText(json.path("status").asText("")))) {
      return Optional.empty();
    }
    return Optional.of(json.path("Actor").path("ID").asText(json.path("id").asText("")))
        .filter(id -> !id.isEmpty());
  }

  /**
   * Blocking: names and published ports of the given containers, by the id asked with. A
   * container that is gone by now, or an engine that cannot answer, leaves its entry out: ports
   * are a convenience and never hold up tracking.
   */
  private Map<String, Inspection> inspect(List<String> ids) {
    List<String> valid = ids.stream().filter(id -> CONTAINER_ID.matcher(id).matches()).toList();
    if (valid.isEmpty()) {
      return Map.of();
    }
    StringBuilder output = new StringBuilder();
    try {
      ChannelExec channel = (ChannelExec) fleet.ssh().session(runner).openChannel("exec");
      channel.setCommand(INSPECT + " " + String.join(" ", valid));
      try (BufferedReader reader = new BufferedReader(new InputStreamReader(channel.getInputStream(), StandardCharsets.UTF_8))) {
        channel.connect(Math.toIntExact(Duration.ofSeconds(10).toMillis()));
        for (String line; (line = reader.readLine()) != null; ) {
          output.append(line).append('\n');
        }
      } finally {
        channel.disconnect();
      }
    } catch (JSchException | IOException e) {
      log.debug("Inspecting containers on runner {} failed: {}", runner.id(), e.toString());
      return Map.of();
    }
    Map<String, Inspection> inspected = new HashMap<>();
    JsonNode containers = parse(output.toString());
    if (containers == null || !containers.isArray()) {
      return inspected;
    }
    for (JsonNode container : containers) {
      String fullId = container.path("Id").asText("");
      valid.stream().filter(id -> !id.isEmpty() && fullId.startsWith(id)).findFirst().ifPresent(id ->
          inspected.put(id, new Inspection(container.path("Name").asText("").replaceFirst("^/", ""),
              publishedPorts(container.path("NetworkSettings").path("Ports")))));
    }
    return inspected;
  }

  /**
   * {@code {"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"},{"HostIp":"::","HostPort":"8080"}]}}:
   * one port per host port and protocol, whichever addresses the engine bound it on.
   */
  static List<PublishedPort> publishedPorts(JsonNode ports) {
    Set<PublishedPort> published = new TreeSet<>(
        Comparator.comparingInt(PublishedPort::hostPort).thenComparing(PublishedPort::protocol));
    ports.fields().forEachRemaining(entry -> {
      String[] portAndProtocol = entry.getKey().split("/", 2);
      for (JsonNode binding : entry.getValue()) {
        try {
          int hostPort = Integer.parseInt(binding.path("HostPort").asText(""));
          int containerPort = Integer.parseInt(portAndProtocol[0]);
          if (hostPort > 0 && hostPort < 65536) {
            published.add(new PublishedPort(hostPort, containerPort,
                portAndProtocol.length > 1 ? portAndProtocol[1] : "tcp"));
          }
        } catch (NumberFormatException e) {
          // A binding without a host port (exposed, not published) is nothing to forward.
        }
      }
    });
    return List.copyOf(published);
  }

  private int stream(String command, Consumer<String> lines) throws JSchException, IOException {
    ChannelExec channel = (ChannelExec) fleet.ssh().session(runner).openChannel("exec");
    channel.setCommand(command);
    open.set(channel);
    try (BufferedReader reader = new BufferedReader(new InputStreamReader(channel.getInputStream(), StandardCharsets.UTF_8))) {
      channel.connect(Math.toIntExact(Duration.ofSeconds(10).toMillis()));
      for (String line; (line = reader.readLine()) != null; ) {
        lines.accept(line);
      }
      return channel.getExitStatus();
    } finally {
      open.compareAndSet(channel, null);
      channel.disconnect();
    }
  }

  private Behavior<Command> onListed(Listed listed) {
    backoff = MIN_BACKOFF;
    for (String id : Map.copyOf(running).keySet()) {
      if (!listed.running().containsKey(id)) {
        stopped(id);
      }
    }
    listed.running().forEach((id, image) -> started(id, image, listed.inspected().get(id)));
    return this;
  }

  private Behavior<Command> onEvent(EngineEvent event) {
    JsonNode json = parse(event.json());
    if (json == null) {
      return this;
    }
    String id = json.path("Actor").path("ID").asText(json.path("id").asText(""));
    String action = json.path("Action").asText(json.path("status").asText(""));
    if (id.isEmpty()) {
      return this;
    }
    switch (action) {
      case "start" -> started(id, json.path("Actor").path("Attributes").path("image").asText(json.path("from").asText("")),
          event.inspected());
      case "die", "stop" -> stopped(id);
      default -> { }
    }
    return this;
  }

  private void started(String id, String image, Inspection inspected) {
    if (running.put(id, image) == null) {
      sessions.containerStarted(sessionId, id, image);
      if (inspected != null && !inspected.ports().isEmpty()) {
        sessions.portsPublished(sessionId, id, inspected.name(), inspected.ports());
      }
    }
  }

  private void stopped(String id) {
    if (running.remove(id) != null) {
      sessions.containerStopped(sessionId, id);
    }
  }

  private Behavior<Command> onEnded(Ended ended) {
    getContext().getLog().debug("Container tracking on runner {} paused: {}", runner.id(), ended.reason());
    timers.startSingleTimer(new Connect(), backoff);
    backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
    return this;
  }

  private static JsonNode parse(String line) {
    try {
      return JSON.readTree(line);
    } catch (IOException e) {
      return null;
    }
  }
}
