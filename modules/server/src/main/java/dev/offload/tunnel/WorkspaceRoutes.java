package dev.offload.tunnel;

import static akka.http.javadsl.server.Directives.*;

import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpEntity;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import akka.http.javadsl.unmarshalling.Unmarshaller;
import akka.stream.IOResult;
import akka.stream.javadsl.StreamConverters;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.jcraft.jsch.ChannelExec;
import com.jcraft.jsch.JSchException;
import dev.offload.ClientError;
import dev.offload.org.Principal;
import dev.offload.runner.RunnerInfo;
import dev.offload.runner.SshConnections;
import dev.offload.session.SessionEntity;
import dev.offload.session.SessionState;
import dev.offload.session.Sessions;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * {@code PUT /v1/sessions/{id}/workspace/{mount}}: a tar of local files the CLI bind-mounts,
 * unpacked into the session's workspace on its runner ({@code offload-workspaces/<session>/<mount>}
 * under the SSH user's working directory) by {@code tar -x} over an SSH exec channel, the body
 * streamed into its input. Answers the absolute runner path, the source the CLI rewrites the
 * mount to. The size is known before anything runs (Content-Length), so a tar over the cap
 * creates nothing. The runner's wipe removes the workspaces with the containers.
 */
final class WorkspaceRoutes {
  /** Relative to the runner's SSH working directory; the default wipe command removes it. */
  static final String ROOT = "offload-workspaces";
  private static final Pattern MOUNT = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration EXIT_WAIT = Duration.ofSeconds(10);
  private static final int MAX_REMOVALS = 1000;
  static final String ADVICE = "mount a smaller directory or list what the container does not need in .dockerignore";

  private final Sessions sessions;
  private final SshConnections ssh;
  private final Function<String, CompletionStage<Optional<RunnerInfo>>> runners;
  private final Executor blocking;
  private final ClusterSharding sharding;
  private final Duration askTimeout;
  private final long maxBytes;
  private final Duration uploadTimeout;
  private final int connectTimeoutMillis;

  WorkspaceRoutes(ActorSystem<?> system, Sessions sessions, SshConnections ssh,
      Function<String, CompletionStage<Optional<RunnerInfo>>> runners, Executor blocking, Duration askTimeout,
      int connectTimeoutMillis) {
    this.sessions = sessions;
    this.ssh = ssh;
    this.runners = runners;
    this.blocking = blocking;
    this.sharding = ClusterSharding.get(system);
    this.askTimeout = askTimeout;
    this.connectTimeoutMillis = connectTimeoutMillis;
    this.maxBytes = system.settings().config().getBytes("offload.tunnel.workspace-max-bytes");
    this.uploadTimeout = system.settings().config().getDuration("offload.tunnel.workspace-upload-timeout");
  }

  /**
   * {@code GET .../workspace}: the cap, so that the CLI refuses a mount over it before sending
   * anything; {@code PUT .../workspace/{mount}}: one tar; {@code POST .../{mount}/remove}: deletions.
   */
  Route route(Principal caller, String sessionId) {
    return concat(
        pathEnd(() -> get(() -> onSuccess(sessions.visible(caller, sessionId), row ->
            complete(HttpResponse.create().withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON,
                json(Map.of("maxBytes", maxBytes)))))))),
        path(PathMatchers.segment(), mount -> upload(caller, sessionId, mount)),
        path(PathMatchers.segment().slash("remove"), mount -> remove(caller, sessionId, mount)));
  }

  /** {@code POST .../workspace/{mount}/remove} {@code {"paths":[…]}}: files deleted locally, deleted on the runner. */
  private Route remove(Principal caller, String sessionId, String mount) {
    return post(() -> entity(Unmarshaller.entityToString(), body -> {
      if (!MOUNT.matcher(mount).matches()) {
        return failWith(ClientError.invalid("mount", "a workspace mount name is 1 to 64 lower-case letters, digits and '-'"));
      }
      List<String> paths = new ArrayList<>();
      try {
        JsonNode list = JSON.readTree(body).path("paths");
        if (!list.isArray() || list.isEmpty() || list.size() > MAX_REMOVALS) throw new IOException("not a list");
        for (JsonNode path : list) paths.add(relative(path.asText("")));
      } catch (IOException | IllegalArgumentException e) {
        return failWith(ClientError.invalid("paths", "paths is a list of 1 to " + MAX_REMOVALS
            + " relative paths inside the mount, without '..'"));
      }
      return onSuccess(sessions.visible(caller, sessionId).thenCompose(row -> runnerOf(row.id().toString())
              .thenApplyAsync(runner -> run(runner, "cd '" + ROOT + "/" + row.id() + "/" + mount + "' && rm -rf -- "
                  + String.join(" ", paths.stream().map(WorkspaceRoutes::quoted).toList())), blocking)),
          removed -> complete(HttpResponse.create().withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON,
              json(Map.of("removed", paths.size()))))));
    }));
  }

  /** A path inside the mount, never outside it: relative, normalised, no {@code ..}. */
  private static String relative(String path) {
    Path normalized = Path.of(path).normalize();
    if (path.isEmpty() || normalized.isAbsolute() || normalized.toString().isEmpty()
        || normalized.startsWith("..") || path.indexOf('\0') >= 0) {
      throw new IllegalArgumentException(path);
    }
    return normalized.toString();
  }

  /** One shell word whatever the name holds. */
  private static String quoted(String word) {
    return "'" + word.replace("'", "'\\''") + "'";
  }

  /** Blocking: a short command on the runner; its failure is the runner's error output. */
  private String run(RunnerInfo runner, String command) {
    try {
      ChannelExec channel = (ChannelExec) ssh.session(runner).openChannel("exec");
      channel.setCommand(command);
      Exec exec = new Exec(channel, channel.getOutputStream(), channel.getInputStream(), channel.getErrStream());
      channel.connect(connectTimeoutMillis);
      exec.stdin().close();
      try {
        return exec.finish(runner);
      } finally {
        channel.disconnect();
      }
    } catch (JSchException | IOException e) {
      throw new ClientError(ClientError.Code.UNAVAILABLE, "cannot reach runner " + runner.id() + ": " + e.getMessage());
    }
  }

  /**
   * Reads and drops the request's body when {@code before} fails, before the error is answered:
   * a server that answers early and closes leaves a client still sending with a broken pipe
   * instead of the error.
   */
  private static <T> CompletionStage<T> drainedOnFailure(
      akka.http.javadsl.model.HttpEntity entity, akka.stream.Materializer materializer, CompletionStage<T> before) {
    return before.handle((value, failure) -> failure == null
            ? CompletableFuture.completedFuture(value)
            : entity.discardBytes(materializer).completionStage()
                .handle((done, ignored) -> CompletableFuture.<T>failedFuture(failure))
                .thenCompose(f -> f))
        .thenCompose(f -> f);
  }

  private Route upload(Principal caller, String sessionId, String mount) {
    // The limit applies to the entity extracted inside it, so it comes first.
    return put(() -> withSizeLimit(maxBytes, () -> extractRequestEntity(entity -> {
      if (!MOUNT.matcher(mount).matches()) {
        return failWith(ClientError.invalid("mount", "a workspace mount name is 1 to 64 lower-case letters, digits and '-'"));
      }
      if (entity.getContentLengthOption().isEmpty()) {
        return failWith(ClientError.invalid("Content-Length", "a workspace upload needs a Content-Length (a tar of known size)"));
      }
      long length = entity.getContentLengthOption().getAsLong();
      if (length > maxBytes) {
        return failWith(new ClientError(ClientError.Code.PAYLOAD_TOO_LARGE, "the files to mount are " + mib(length)
            + " MiB as a tar, over this server's bind-mount limit of " + mib(maxBytes)
            + " MiB (offload.tunnel.workspace-max-bytes): " + ADVICE));
      }
      return withRequestTimeout(scala.concurrent.duration.Duration.fromNanos(uploadTimeout.toNanos()), () ->
          extractMaterializer(materializer -> onSuccess(
              drainedOnFailure(entity, materializer, sessions.visible(caller, sessionId)
                  .thenCompose(row -> runnerOf(row.id().toString()).thenApply(runner -> Map.entry(row, runner))))
                  .thenCompose(found -> unpack(found.getValue(), found.getKey().id().toString(), mount, entity, materializer)),
              path -> complete(HttpResponse.create().withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON,
                  json(Map.of("path", path, "bytes", length))))))));
    })));
  }

  private CompletionStage<RunnerInfo> runnerOf(String sessionId) {
    return sharding.entityRefFor(SessionEntity.ENTITY_KEY, sessionId)
        .<SessionEntity.Reply>ask(SessionEntity.Get::new, askTimeout)
        .thenCompose(reply -> {
          if (reply instanceof SessionEntity.Rejected rejected) throw new ClientError(rejected.code(), rejected.message());
          SessionState state = ((SessionEntity.Accepted) reply).session().state();
          if (state.isTerminated()) {
            throw new ClientError(ClientError.Code.SESSION_TERMINATED,
                "session " + sessionId + " is terminated; start a new one with offload start");
          }
          if (!state.isRunning()) {
            throw new ClientError(ClientError.Code.SESSION_NOT_READY,
                "session " + sessionId + " is " + state.phase().apiName + ": files are copied only to an active session");
          }
          return runners.apply(state.runnerId()).thenApply(runner -> runner.orElseThrow(() -> new ClientError(
              ClientError.Code.UNAVAILABLE, "runner " + state.runnerId() + " is not known to the runner pool any more")));
        });
  }

  /** Blocking parts on the blocking executor: JSch calls may wait on the network or the window. */
  private CompletionStage<String> unpack(RunnerInfo runner, String sessionId, String mount, HttpEntity entity,
      akka.stream.Materializer materializer) {
    String dir = ROOT + "/" + sessionId + "/" + mount;
    return CompletableFuture.supplyAsync(() -> {
      try {
        ChannelExec channel = (ChannelExec) ssh.session(runner).openChannel("exec");
        channel.setCommand("mkdir -p '" + dir + "' && cd '" + dir + "' && tar -xf - && pwd");
        return new Exec(channel, channel.getOutputStream(), channel.getInputStream(), channel.getErrStream());
      } catch (JSchException | IOException e) {
        throw new ClientError(ClientError.Code.UNAVAILABLE, "cannot reach runner " + runner.id() + ": " + e.getMessage());
      }
    }, blocking).thenCompose(exec -> {
      try {
        exec.channel().connect(connectTimeoutMillis);
      } catch (JSchException e) {
        throw new ClientError(ClientError.Code.UNAVAILABLE, "cannot reach runner " + runner.id() + ": " + e.getMessage());
      }
      CompletionStage<IOResult> written = entity.getDataBytes()
          .runWith(StreamConverters.fromOutputStream(exec::stdin), materializer);
      return written.thenApplyAsync(done -> {
            String path = exec.finish(runner);
            if (path.isEmpty()) {
              throw new ClientError(ClientError.Code.UNAVAILABLE, "runner " + runner.id() + " did not say where it unpacked the files");
            }
            return path;
          }, blocking)
          .whenComplete((path, failure) -> exec.channel().disconnect());
    });
  }

  private record Exec(ChannelExec channel, OutputStream stdin, InputStream stdout, InputStream stderr) {
    /** After the input was written: what the command printed, or why it failed. */
    String finish(RunnerInfo runner) {
      try {
        String out = new String(stdout.readAllBytes(), StandardCharsets.UTF_8).trim();
        String err = new String(readAll(stderr), StandardCharsets.UTF_8).trim();
        // JSch offers no callback: the exit status follows the end of output within milliseconds.
        long deadline = System.nanoTime() + EXIT_WAIT.toNanos();
        while (!channel.isClosed() && System.nanoTime() < deadline) {
          LockSupport.parkNanos(Duration.ofMillis(5).toNanos());
        }
        if (channel.getExitStatus() != 0) {
          throw new ClientError(ClientError.Code.UNAVAILABLE, "changing the files on runner " + runner.id()
              + " failed (exit " + channel.getExitStatus() + "): " + err);
        }
        return out;
      } catch (IOException e) {
        throw new ClientError(ClientError.Code.UNAVAILABLE, "changing the files on runner " + runner.id()
            + " failed: " + e.getMessage());
      }
    }

    private static byte[] readAll(InputStream in) throws IOException {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      in.transferTo(out);
      return out.toByteArray();
    }
  }

  private static long mib(long bytes) {
    return (bytes + (1 << 20) - 1) >> 20;
  }

  private static String json(Object body) {
    try {
      return JSON.writeValueAsString(body);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
