package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tar the CLI uploads: its announced length is exact, and tar reads it back. */
class TarTest {
  @TempDir Path dir;

  @Test
  void tarUnpacksWhatWasWrittenAtTheAnnouncedLength() throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/tar")) || Files.isExecutable(Path.of("/bin/tar")),
        "tar is not installed (Debian package tar): skipping the round trip");
    Path from = Files.createDirectories(dir.resolve("from/sub"));
    byte[] data = new byte[70_001];
    new SplittableRandom(9).nextBytes(data);
    Files.write(from.resolve("data.bin"), data);
    String longName = "n".repeat(150) + ".txt";
    Files.writeString(from.resolve(longName), "long\n");
    Path script = from.resolve("run.sh");
    Files.writeString(script, "#!/bin/sh\n");
    assertTrue(script.toFile().setExecutable(true));
    List<Tar.Entry> entries = List.of(Tar.of("sub", from), Tar.of("sub/data.bin", from.resolve("data.bin")),
        Tar.of("sub/" + longName, from.resolve(longName)), Tar.of("sub/run.sh", script));

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Tar.write(entries, out);
    assertEquals(Tar.length(entries), out.size(), "the length announced before writing");

    Path to = Files.createDirectories(dir.resolve("to"));
    Process tar = new ProcessBuilder("tar", "-xf", "-", "-C", to.toString()).redirectErrorStream(true).start();
    tar.getOutputStream().write(out.toByteArray());
    tar.getOutputStream().close();
    String output = new String(tar.getInputStream().readAllBytes());
    assertEquals(0, tar.waitFor(), output);
    assertArrayEquals(data, Files.readAllBytes(to.resolve("sub/data.bin")));
    assertEquals("long\n", Files.readString(to.resolve("sub/" + longName)));
    assertTrue(Files.isExecutable(to.resolve("sub/run.sh")), "the executable bit survives");
  }
}
