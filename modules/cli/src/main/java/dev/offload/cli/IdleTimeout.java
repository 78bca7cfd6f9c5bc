package dev.offload.cli;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code --idle-timeout} as people write it (5m, 300s, 300, 1h) in the whole seconds the API
 * takes; the server checks the range, so its message names the organisation's limits.
 */
final class IdleTimeout implements ITypeConverter<Integer> {
  private static final Pattern FORM = Pattern.compile("(\\d{1,7})([smh]?)");

  @Override
  public Integer convert(String value) {
    return seconds(value);
  }

  static int seconds(String value) {
    Matcher m = FORM.matcher(value.trim());
    if (!m.matches()) {
      throw new TypeConversionException(
          "'" + value + "' is not a duration; write seconds (300 or 300s), minutes (5m) or hours (1h)");
    }
    int amount = Integer.parseInt(m.group(1));
    return switch (m.group(2)) {
      case "m" -> amount * 60;
      case "h" -> amount * 3600;
      default -> amount;
    };
  }
}
