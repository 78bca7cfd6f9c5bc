package dev.offload.api;

import static akka.http.javadsl.server.Directives.*;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.AskPattern;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import dev.offload.ClientError;
import dev.offload.org.Principal;
import dev.offload.runner.RunnerPool;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/** /v1/runners (operator): the fleet as the runner pool sees it, and draining a runner. */
final class RunnerRoutes {
  private static final List<String> STATES =
      List.of("provisioning", "warm", "leased", "wiping", "unhealthy", "destroying");

  private final ActorSystem<?> system;
  private final ActorRef<RunnerPool.Command> pool;
  private final Duration askTimeout;

  RunnerRoutes(ActorSystem<?> system, ActorRef<RunnerPool.Command> pool, Duration askTimeout) {
    this.system = system;
    this.pool = pool;
    this.askTimeout = askTimeout;
  }

  Route routes(Principal caller) {
    return pathPrefix("runners", () -> operatorOnly(caller, () -> concat(
        pathEnd(() -> get(() -> parameterOptional("class", runnerClass -> parameterOptional("state", state ->
            list(runnerClass, state))))),
        path(PathMatchers.segment().slash("drain"), id -> post(() -> onSuccess(
            AskPattern.<RunnerPool.Command, RunnerPool.DrainReply>ask(
                pool, replyTo -> new RunnerPool.Drain(id, replyTo), askTimeout, system.scheduler()),
            reply -> reply instanceof RunnerPool.Draining
                ? complete(Json.response(StatusCodes.ACCEPTED, Map.of("id", id, "draining", true)))
                : ErrorResponses.complete(ClientError.notFound("runner " + id))))))));
  }

  private Route list(Optional<String> runnerClass, Optional<String> state) {
    if (state.isPresent() && !STATES.contains(state.get())) {
      throw ClientError.invalid("state", "state must be one of " + String.join(", ", STATES));
    }
    return onSuccess(AskPattern.<RunnerPool.Command, RunnerPool.RunnerList>ask(
        pool, RunnerPool.GetRunners::new, askTimeout, system.scheduler()), list -> Json.ok(Map.of("runners",
            list.runners().stream()
                .filter(r -> runnerClass.map(r.runnerClass()::equals).orElse(true))
                .filter(r -> state.map(r.state()::equals).orElse(true))
                .map(RunnerRoutes::json).toList())));
  }

  /** api.md's runner JSON: {@code class}, not the Java field name. */
  private static Map<String, Object> json(RunnerPool.RunnerStatus r) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("id", r.id());
    json.put("class", r.runnerClass());
    json.put("provider", r.provider());
    json.put("state", r.state());
    json.put("session", r.session());
    json.put("since", r.since());
    json.put("lastHealthAt", r.lastHealthAt());
    json.put("hostKeyFingerprint", r.hostKeyFingerprint());
    json.put("draining", r.draining());
    json.put("reason", r.reason());
    return json;
  }

  private static Route operatorOnly(Principal caller, Supplier<Route> inner) {
    if (caller.isOperator()) return inner.get();
    return ErrorResponses.complete(new ClientError(ClientError.Code.FORBIDDEN, "only the operator token manages runners"));
  }
}
