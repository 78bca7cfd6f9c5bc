package dev.offload.server;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.serialization.SerializationExtension;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.offload.billing.Audit;
import dev.offload.billing.Rates;
import java.time.YearMonth;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * {@code offload-server audit --jdbc-url URL [--user U] [--password P] --org ORG --month YYYY-MM}:
 * the billing audit against any copy of the database (a backup, a read replica), with no cluster
 * running. Prints the report as JSON; exits 0 when it is ok, 1 when it found a problem.
 */
final class AuditCommand {
  static final String USAGE =
      "usage: offload-server audit --jdbc-url URL [--user USER] [--password PASSWORD] --org ORG --month YYYY-MM";

  private AuditCommand() {}

  static int run(List<String> args, Config config) throws Exception {
    Map<String, String> options = new HashMap<>();
    for (int i = 0; i + 1 < args.size(); i += 2) {
      if (!args.get(i).startsWith("--")) return usage("unexpected " + args.get(i));
      options.put(args.get(i).substring(2), args.get(i + 1));
    }
    if (args.size() % 2 != 0 || !options.keySet().stream().allMatch(List.of("jdbc-url", "user", "password", "org", "month")::contains)
        || !options.containsKey("jdbc-url") || !options.containsKey("org") || !options.containsKey("month")) {
      return usage(null);
    }
    YearMonth month;
    try {
      month = YearMonth.parse(options.get("month"));
    } catch (java.time.format.DateTimeParseException e) {
      return usage("--month must be written YYYY-MM");
    }
    PGSimpleDataSource dataSource = new PGSimpleDataSource();
    dataSource.setUrl(options.get("jdbc-url"));
    if (options.containsKey("user")) dataSource.setUser(options.get("user"));
    if (options.containsKey("password")) dataSource.setPassword(options.get("password"));

    // Only the serializer is needed: a local actor system reads events as the nodes wrote them.
    Config local = ConfigFactory.parseString("akka.actor.provider = local\nakka.loglevel = WARNING").withFallback(config);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "offload-audit", local);
    try {
      Audit.Report report = new Audit(dataSource, SerializationExtension.get(system.classicSystem()), Rates.fromConfig(local))
          .run(options.get("org"), month);
      System.out.println(JsonMapper.builder().addModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS).enable(SerializationFeature.INDENT_OUTPUT).build()
          .writeValueAsString(report));
      return report.ok() ? 0 : 1;
    } finally {
      system.terminate();
    }
  }

  private static int usage(String problem) {
    if (problem != null) System.err.println(problem);
    System.err.println(USAGE);
    return 2;
  }
}
