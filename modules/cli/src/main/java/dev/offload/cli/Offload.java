package dev.offload.cli;

import java.io.PrintWriter;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code offload}: the developer's client of the control plane, launched by {@code bin/offload}. */
@Command(
    name = "offload",
    mixinStandardHelpOptions = true,
    versionProvider = Offload.ClientVersion.class,
    description = "Run your docker builds and containers on remote runners.",
    subcommands = {
        LoginCommand.class, StartCommand.class, StopCommand.class, StatusCommand.class,
        SessionsCommand.class, UsageCommand.class, ActivityCommand.class, AuditCommand.class, SettingsCommand.class,
        DiagnoseCommand.class, VersionCommand.class,
        BridgeCommand.class, CommandLine.HelpCommand.class})
public final class Offload implements Runnable {
  @Spec CommandSpec spec;

  private final Map<String, String> env;

  Offload(Map<String, String> env) {
    this.env = env;
  }

  public static void main(String[] args) {
    System.exit(execute(System.getenv(), new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
  }

  /** Runs one command line; the exit code is 0, 1 (server or network failure) or 2 (bad usage). */
  static int execute(Map<String, String> env, PrintWriter out, PrintWriter err, String... args) {
    CommandLine cli = new CommandLine(new Offload(env));
    cli.setOut(out);
    cli.setErr(err);
    cli.setExecutionExceptionHandler((e, command, parsed) -> {
      if (e instanceof UsageFailure) {
        command.getErr().println(e.getMessage());
        return CommandLine.ExitCode.USAGE;
      }
      command.getErr().println(e instanceof CliFailure ? e.getMessage()
          : "unexpected failure (" + e + "): retry, or run offload diagnose");
      return CommandLine.ExitCode.SOFTWARE;
    });
    int code = cli.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "say what to do: offload start, offload status, offload stop, ...");
  }

  Map<String, String> env() {
    return env;
  }

  ConfigStore store() {
    return ConfigStore.from(env);
  }

  static String version() {
    String version = Offload.class.getPackage().getImplementationVersion();
    return version == null ? "development" : version;
  }

  static final class ClientVersion implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"offload " + version()};
    }
  }
}
