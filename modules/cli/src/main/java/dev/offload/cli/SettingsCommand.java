package dev.offload.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "settings", description = "Show the organisation's settings, or change one (owners): settings set KEY VALUE")
final class SettingsCommand implements Runnable {
  @ParentCommand Offload offload;

  @Parameters(index = "0", arity = "0..1", paramLabel = "get|set", defaultValue = "get")
  String action;

  @Parameters(index = "1", arity = "0..1", paramLabel = "KEY")
  String key;

  @Parameters(index = "2", arity = "0..1", paramLabel = "VALUE", description = "JSON (300, true, null, [\"standard\"]) or a plain word")
  String value;

  @Mixin Organisation organisation;

  @Option(names = "--json", description = "the server's JSON")
  boolean json;

  @Override
  public void run() {
    ConfigStore.Config config = offload.store().require();
    ApiClient api = ApiClient.of(config);
    String path = "/v1/orgs/" + ApiClient.query(organisation.choose(api, config)) + "/settings";
    JsonNode settings = switch (action) {
      case "get" -> {
        if (key != null) throw new UsageFailure("settings get takes no KEY: it shows every setting");
        yield api.get(path);
      }
      case "set" -> {
        if (key == null || value == null) throw new UsageFailure("settings set needs KEY and VALUE, e.g. settings set idleTimeoutSeconds 600");
        ObjectNode patch = ConfigStore.JSON.createObjectNode();
        patch.set(key, parse(value));
        yield api.put(path, patch);
      }
      default -> throw new UsageFailure("settings takes get or set KEY VALUE, not " + action);
    };
    PrintWriter out = offload.spec.commandLine().getOut();
    if (json) {
      Table.json(out, settings);
      return;
    }
    Table table = new Table("SETTING", "VALUE");
    for (Map.Entry<String, JsonNode> field : (Iterable<Map.Entry<String, JsonNode>>) settings::fields) {
      table.row(field.getKey(), field.getValue().isTextual() ? field.getValue().asText() : field.getValue().toString());
    }
    table.print(out);
  }

  private static JsonNode parse(String value) {
    try {
      return ConfigStore.JSON.readTree(value);
    } catch (IOException notJson) {
      return ConfigStore.JSON.getNodeFactory().textNode(value);
    }
  }
}
