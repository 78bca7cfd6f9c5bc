package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

/** .dockerignore as Docker reads it for a build context. */
class DockerIgnoreTest {
  private final DockerIgnore ignore = DockerIgnore.parse(List.of(
      "# comment", "", "node_modules", "/build/", "*.log", "**/*.tmp", "docs/*.md", "!docs/README.md", "secrets?"));

  @Test
  void patternsMatchAsDockerMatchesThem() {
    assertTrue(ignore.ignored("node_modules"));
    assertTrue(ignore.ignored("node_modules/left-pad/index.js"), "inside an ignored directory");
    assertFalse(ignore.ignored("src/node_modules/x.js"), "a bare name matches at the root only");
    assertTrue(ignore.ignored("build/out.o"), "leading and trailing slashes are cleaned");
    assertTrue(ignore.ignored("app.log"));
    assertFalse(ignore.ignored("logs/app.log"), "* stays within one segment");
    assertTrue(ignore.ignored("a/b/c/x.tmp"), "** spans segments");
    assertTrue(ignore.ignored("x.tmp"), "**/ matches no segment too");
    assertTrue(ignore.ignored("docs/guide.md"));
    assertFalse(ignore.ignored("docs/README.md"), "! takes a path back; the last match decides");
    assertTrue(ignore.ignored("secrets1"));
    assertFalse(ignore.ignored("secrets12"), "? is one character");
    assertFalse(ignore.ignored("src/app.py"));
  }

  @Test
  void noFileIgnoresNothing() {
    assertFalse(DockerIgnore.NONE.ignored("anything/at/all"));
  }
}
