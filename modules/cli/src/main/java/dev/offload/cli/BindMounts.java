package dev.offload.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Local paths that containers bind-mount, copied to the session's workspace on its runner and
 * kept in sync from here: the first container that mounts a path copies it (a tar through
 * {@code PUT /v1/sessions/{id}/workspace/{mount}}), a watcher then sends every changed file
 * again and removes deleted ones, about {@link #SETTLE} after the change. Files the mount root's
 * {@code .dockerignore} excludes are never sent. Changes made by containers stay on the runner.
 */
final class BindMounts implements AutoCloseable {
  /** Changes are gathered this long so that a save that writes several times is sent once. */
  static final Duration SETTLE = Duration.ofMillis(150);

  /** A local path copied to the runner: {@code runnerPath} is what the engine mounts. */
  record Mount(Path local, String runnerPath) {}

  /** Why a path cannot be mounted, in words for the Docker client's user. */
  static final class Refused extends Exception {
    Refused(String message) {
      super(message);
    }
  }

  private final ApiClient api;
  private final String session;
  private final Consumer<String> lines;
  private final Map<Path, Mount> mounts = new HashMap<>();
  private final List<Sync> syncs = new ArrayList<>();
  private boolean closed;
  private long maxBytes = -1;

  BindMounts(ApiClient api, String session, Consumer<String> lines) {
    this.api = api;
    this.session = session;
    this.lines = lines;
  }

  /** Whether a bind source names something here that can be copied: a directory or a regular file. */
  static boolean isLocal(String source) {
    if (source == null || !source.startsWith("/")) return false;
    Path path = Path.of(source);
    return Files.isDirectory(path) || Files.isRegularFile(path);
  }

  /** The runner path for a local path, copying it (and starting its sync) the first time. */
  synchronized Mount mount(String source) throws Refused {
    Path local = Path.of(source).toAbsolutePath().normalize();
    Mount known = mounts.get(local);
    if (known != null) return known;
    if (closed) throw new Refused("the offload bridge is closing");
    boolean directory = Files.isDirectory(local);
    Path root = directory ? local : local.getParent();
    String only = directory ? null : local.getFileName().toString();
    String name = "m-" + HexFormat.of().formatHex(sha256(local.toString())).substring(0, 16);
    try {
      DockerIgnore ignore = directory ? DockerIgnore.read(root) : DockerIgnore.NONE;
      List<Tar.Entry> entries = entries(root, only, ignore, null);
      long length = Tar.length(entries);
      if (maxBytes < 0) maxBytes = api.get("/v1/sessions/" + session + "/workspace").path("maxBytes").asLong();
      if (length > maxBytes) {
        throw new Refused("offload cannot mount " + local + ": its files are " + mib(length)
            + " MiB as a tar, over this server's bind-mount limit of " + mib(maxBytes)
            + " MiB (offload.tunnel.workspace-max-bytes): mount a smaller directory or list what the container"
            + " does not need in .dockerignore");
      }
      long began = System.nanoTime();
      String runnerDir = upload(name, entries);
      Mount mount = new Mount(local, directory ? runnerDir : runnerDir + "/" + only);
      lines.accept(String.format("copied %s to the runner (%d files, %.1f MiB in %.1f s); local changes follow it",
          local, entries.stream().filter(e -> !e.directory()).count(),
          length / 1048576.0, (System.nanoTime() - began) / 1e9));
      Sync sync = new Sync(root, only, ignore, name);
      sync.start();
      syncs.add(sync);
      mounts.put(local, mount);
      return mount;
    } catch (IOException e) {
      throw new Refused("offload could not read " + local + " to copy it to the runner: " + e.getMessage());
    } catch (CliFailure e) {
      throw new Refused("offload could not copy " + local + " to the runner: " + e.getMessage());
    }
  }

  /** Everything under {@code root} not ignored (or just {@code only}), limited to {@code changed} when given. */
  private static List<Tar.Entry> entries(Path root, String only, DockerIgnore ignore, Set<Path> changed)
      throws IOException {
    List<Tar.Entry> entries = new ArrayList<>();
    if (only != null) {
      Path file = root.resolve(only);
      if (Files.isRegularFile(file)) entries.add(Tar.of(only, file));
      return entries;
    }
    Iterable<Path> candidates;
    if (changed == null) {
      try (Stream<Path> walk = Files.walk(root)) {
        candidates = walk.filter(p -> !p.equals(root)).sorted().toList();
      }
    } else {
      candidates = changed;
    }
    for (Path path : candidates) {
      String relative = root.relativize(path).toString();
      if (relative.isEmpty() || ignore.ignored(relative)) continue;
      if (Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS) || Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
        entries.add(Tar.of(relative, path));
      }
    }
    return entries;
  }

  /** Streams the tar with its length announced; the server refuses one over its cap before reading it. */
  private String upload(String name, List<Tar.Entry> entries) throws IOException {
    long length = Tar.length(entries);
    PipedInputStream body = new PipedInputStream(256 * 1024);
    PipedOutputStream writer = new PipedOutputStream(body);
    Thread tar = new Thread(() -> {
      try (OutputStream out = writer) {
        Tar.write(entries, out);
      } catch (IOException e) {
        // The upload ended first (refused or broken); its answer says why.
      }
    }, "offload-mount-tar");
    tar.setDaemon(true);
    HttpRequest request = HttpRequest.newBuilder(java.net.URI.create(api.server() + "/v1/sessions/" + session + "/workspace/" + name))
        .header("Authorization", "Bearer " + api.token())
        .header("Content-Type", "application/x-tar")
        .PUT(HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(() -> body), length))
        .build();
    tar.start();
    HttpResponse<String> response;
    try {
      response = api.http().send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while copying to the runner");
    } finally {
      body.close();
    }
    var json = ConfigStore.JSON.readTree(response.body().isBlank() ? "{}" : response.body());
    if (response.statusCode() / 100 != 2) {
      String message = json.path("error").path("message").asText("");
      throw new CliFailure(message.isEmpty() ? "the server answered HTTP " + response.statusCode() : message);
    }
    return json.path("path").asText();
  }

  /** The server takes at most 1,000 paths a request. */
  private void remove(String name, List<String> paths) {
    for (int from = 0; from < paths.size(); from += 1000) {
      var body = ConfigStore.JSON.createObjectNode();
      var list = body.putArray("paths");
      paths.subList(from, Math.min(paths.size(), from + 1000)).forEach(list::add);
      api.post("/v1/sessions/" + session + "/workspace/" + name + "/remove", body);
    }
  }

  @Override
  public synchronized void close() {
    closed = true;
    syncs.forEach(Sync::close);
  }

  private static long mib(long bytes) {
    return (bytes + (1 << 20) - 1) >> 20;
  }

  private static byte[] sha256(String text) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }

  /** Watches one mount's tree and sends what changed. */
  private final class Sync {
    private final Path root;
    private final String only;
    private final DockerIgnore ignore;
    private final String name;
    private final WatchService watcher;

    Sync(Path root, String only, DockerIgnore ignore, String name) throws IOException {
      this.root = root;
      this.only = only;
      this.ignore = ignore;
      this.name = name;
      this.watcher = FileSystems.getDefault().newWatchService();
    }

    void start() throws IOException {
      register(root);
      Thread thread = new Thread(this::follow, "offload-mount-sync");
      thread.setDaemon(true);
      thread.start();
    }

    /** Every directory not ignored; a file mount watches only its directory. */
    private void register(Path dir) throws IOException {
      if (only != null) {
        dir.register(watcher, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
            StandardWatchEventKinds.ENTRY_DELETE);
        return;
      }
      try (Stream<Path> walk = Files.walk(dir)) {
        for (Path d : walk.filter(Files::isDirectory).toList()) {
          String relative = root.relativize(d).toString();
          if (!relative.isEmpty() && ignore.ignored(relative)) continue;
          d.register(watcher, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
              StandardWatchEventKinds.ENTRY_DELETE);
        }
      }
    }

    private void follow() {
      try {
        while (true) {
          WatchKey first = watcher.take();
          Set<Path> changed = new LinkedHashSet<>();
          collect(first, changed);
          for (WatchKey more = watcher.poll(SETTLE.toMillis(), TimeUnit.MILLISECONDS); more != null;
              more = watcher.poll(SETTLE.toMillis(), TimeUnit.MILLISECONDS)) {
            collect(more, changed);
          }
          send(changed);
        }
      } catch (ClosedWatchServiceException | InterruptedException closed) {
        // The bridge is closing: nothing more to follow.
      }
    }

    private void collect(WatchKey key, Set<Path> changed) {
      Path dir = (Path) key.watchable();
      for (WatchEvent<?> event : key.pollEvents()) {
        if (event.kind() == StandardWatchEventKinds.OVERFLOW) continue;
        Path path = dir.resolve((Path) event.context());
        if (only != null && !path.getFileName().toString().equals(only)) continue;
        if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS) && event.kind() == StandardWatchEventKinds.ENTRY_CREATE) {
          try {
            register(path);
            try (Stream<Path> walk = Files.walk(path)) {
              walk.forEach(changed::add);
            }
          } catch (IOException e) {
            lines.accept("cannot follow new directory " + path + ": " + e.getMessage());
          }
        }
        changed.add(path);
      }
      key.reset();
    }

    /** Deletions first, so that a rename (a delete and a create) ends with the new name only. */
    private void send(Set<Path> changed) {
      try {
        List<String> gone = changed.stream()
            .filter(p -> !Files.exists(p, LinkOption.NOFOLLOW_LINKS))
            .map(p -> root.relativize(p).toString())
            .filter(p -> !p.isEmpty() && (only != null ? p.equals(only) : !ignore.ignored(p)))
            .toList();
        if (!gone.isEmpty()) remove(name, gone);
        List<Tar.Entry> entries = entries(root, only, ignore, only != null ? null : changed);
        if (entries.isEmpty()) return;
        upload(name, entries);
      } catch (IOException | CliFailure | UncheckedIOException e) {
        lines.accept("syncing " + root + " to the runner failed (" + e.getMessage() + "); the next change is sent again");
      }
    }

    void close() {
      try {
        watcher.close();
      } catch (IOException ignored) {
        // Closing is all that was asked.
      }
    }
  }
}
