package dev.offload.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The exclusions of a {@code .dockerignore} at a mount's root, read as Docker reads them: one
 * pattern a line, {@code #} comments, {@code *} and {@code ?} within a path segment, {@code **}
 * across segments, {@code !} to take a path back; the last matching line decides, and a pattern
 * that matches a directory excludes what is inside it.
 */
final class DockerIgnore {
  private record Rule(Pattern pattern, boolean exception) {}

  static final DockerIgnore NONE = new DockerIgnore(List.of());

  private final List<Rule> rules;

  private DockerIgnore(List<Rule> rules) {
    this.rules = rules;
  }

  static DockerIgnore read(Path root) throws IOException {
    Path file = root.resolve(".dockerignore");
    return Files.isRegularFile(file) ? parse(Files.readAllLines(file)) : NONE;
  }

  static DockerIgnore parse(List<String> lines) {
    List<Rule> rules = new ArrayList<>();
    for (String raw : lines) {
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#")) continue;
      boolean exception = line.startsWith("!");
      String pattern = (exception ? line.substring(1) : line).strip();
      pattern = Path.of("/" + pattern).normalize().toString().substring(1);
      if (pattern.isEmpty()) continue;
      rules.add(new Rule(Pattern.compile(regex(pattern)), exception));
    }
    return new DockerIgnore(List.copyOf(rules));
  }

  /** {@code path} is relative to the mount's root, with {@code /} between segments. */
  boolean ignored(String path) {
    boolean ignored = false;
    for (Rule rule : rules) {
      if (matchesOrParent(rule.pattern(), path)) ignored = !rule.exception();
    }
    return ignored;
  }

  private static boolean matchesOrParent(Pattern pattern, String path) {
    if (pattern.matcher(path).matches()) return true;
    for (int slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1)) {
      if (pattern.matcher(path.substring(0, slash)).matches()) return true;
    }
    return false;
  }

  private static String regex(String pattern) {
    StringBuilder regex = new StringBuilder();
    for (int i = 0; i < pattern.length(); i++) {
      char c = pattern.charAt(i);
      if (c == '*' && i + 1 < pattern.length() && pattern.charAt(i + 1) == '*') {
        i++;
        if (i + 1 < pattern.length() && pattern.charAt(i + 1) == '/') {
          i++;
          regex.append("(.*/)?");
        } else {
          regex.append(".*");
        }
      } else if (c == '*') {
        regex.append("[^/]*");
      } else if (c == '?') {
        regex.append("[^/]");
      } else {
        regex.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return regex.toString();
  }
}
