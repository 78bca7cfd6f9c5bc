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
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Follows the containers on one leased runner for its session (spec: container tracking): lists
 * the running ones with {@code docker ps}, then streams {@code docker events} over an SSH exec
 * channel, and reports starts and stops through the {@link SessionDirectory}. The channel's
 * blocking reads run on the blocking dispatcher; lines come back to the actor as messages. When
 * the engine cannot be reached it reports nothing and tries again with backoff.
 */
final class ContainerTracker extends AbstractBehavior<ContainerTracker.Command> {

  interface Command {}

  private record Connect() implements Command {}

  private record Listed(Map<String, String> running) implements Command {}

  private record EngineEvent(String json) implements Command {}

  private record Ended(String reason) implements Command {}

  static final String PS = "docker ps --format '{{json .}}'";
  static final String EVENTS = "docker events --format '{{json .}}' --filter type=container";
  private static final Duration MIN_BACKOFF = Duration.ofSeconds(1);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
  private static final ObjectMapper JSON = new ObjectMapper();

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
    CompletableFuture.runAsync(() -> follow(self), fleet.blocking())
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
      self.tell(new Listed(listed));
      stream(EVENTS, line -> self.tell(new EngineEvent(line)));
    } catch (JSchException | IOException e) {
      throw new IllegalStateException("cannot follow the engine of runner " + runner.id() + ": " + e.getMessage(), e);
    }
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
    listed.running().forEach(this::started);
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
      case "start" -> started(id, json.path("Actor").path("Attributes").path("image").asText(json.path("from").asText("")));
      case "die", "stop" -> stopped(id);
      default -> { }
    }
    return this;
  }

  private void started(String id, String image) {
    if (running.put(id, image) == null) {
      sessions.containerStarted(sessionId, id, image);
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
