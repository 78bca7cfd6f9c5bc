package dev.offload.cli;

import java.io.PrintWriter;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** The detached bridge's process (started by {@code start --detach}, stopped by {@code stop}). */
@Command(name = "bridge", hidden = true, description = "Serve the local bridge of a session (used by start --detach).")
final class BridgeCommand implements Runnable {
  @ParentCommand Offload offload;

  @Parameters(index = "0", paramLabel = "SESSION")
  String session;

  @Option(names = "--port", defaultValue = "0")
  int port;

  @Override
  public void run() {
    ConfigStore store = offload.store();
    ApiClient api = ApiClient.of(store.require());
    PrintWriter log = offload.spec.commandLine().getErr();
    try (LocalBridge bridge = new LocalBridge(api, session, port, line -> log(log, line));
        PortForwards ports = new PortForwards(api, session, line -> log(log, line))) {
      long pid = ProcessHandle.current().pid();
      store.saveState(new ConfigStore.BridgeState(session, bridge.port(), pid));
      SessionWatch.start(api, session, SessionWatch.RETRY, ports::update, ended -> {
        log(log, "session " + session + " terminated (" + Table.text(ended.path("terminationReason")) + "); bridge closed");
        store.state().filter(s -> Long.valueOf(pid).equals(s.pid())).ifPresent(s -> store.clearState());
        ports.close();
        bridge.close();
      });
      log(log, "bridging 127.0.0.1:" + bridge.port() + " to session " + session);
      bridge.serve();
    }
  }

  private static void log(PrintWriter log, String line) {
    log.println(Instant.now().truncatedTo(ChronoUnit.SECONDS) + " " + line);
    log.flush();
  }
}
