package dev.offload.cli;

import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "login", description = "Check a token against a server and remember both.")
final class LoginCommand implements Runnable {
  @ParentCommand Offload offload;

  @Option(names = "--server", required = true, paramLabel = "URL", description = "e.g. https://offload.example.com")
  String server;

  @Option(names = "--token", required = true, paramLabel = "TOKEN")
  String token;

  @Option(names = "--ca", paramLabel = "FILE", description = "PEM certificate of a private CA to trust for HTTPS")
  Path ca;

  @Option(names = "--org", paramLabel = "ORG", description = "organisation used by settings when --org is left out")
  String org;

  @Option(names = "--insecure", description = "allow plain http:// to a host other than this machine")
  boolean insecure;

  @Override
  public void run() {
    URI uri = checkedServer();
    String pem = readCa();
    ApiClient api = new ApiClient(uri.toString(), token, pem);
    api.get("/v1/sessions?limit=1");
    if (org != null) api.get("/v1/orgs/" + ApiClient.query(org));
    ConfigStore store = offload.store();
    store.save(new ConfigStore.Config(api.server(), token, pem, org));
    offload.spec.commandLine().getOut().println("Logged in to " + api.server() + "; saved in " + store.configFile());
  }

  private URI checkedServer() {
    URI uri;
    try {
      uri = URI.create(server);
    } catch (IllegalArgumentException e) {
      throw new UsageFailure("--server " + server + " is not a URL: write it as https://HOST[:PORT]");
    }
    if (uri.getHost() == null || !("https".equals(uri.getScheme()) || "http".equals(uri.getScheme()))) {
      throw new UsageFailure("--server " + server + " is not an http(s) URL: write it as https://HOST[:PORT]");
    }
    // Plain HTTP would send the token in clear over the network; on the loopback it never leaves the host.
    if ("http".equals(uri.getScheme()) && !insecure && !loopback(uri.getHost())) {
      throw new UsageFailure("refusing plain http:// to " + uri.getHost()
          + ": the token would travel unencrypted; use https:// (with --ca FILE for a private CA) or add --insecure");
    }
    return uri;
  }

  private static boolean loopback(String host) {
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  private String readCa() {
    if (ca == null) return null;
    try {
      return Files.readString(ca);
    } catch (IOException e) {
      throw new UsageFailure("cannot read --ca " + ca + " (" + e.getMessage() + "): pass a readable PEM file");
    }
  }
}
