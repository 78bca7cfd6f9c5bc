package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;
import picocli.CommandLine.TypeConversionException;

class IdleTimeoutTest {

  @Test
  void readsSecondsMinutesAndHours() {
    assertEquals(300, IdleTimeout.seconds("5m"));
    assertEquals(300, IdleTimeout.seconds("300s"));
    assertEquals(300, IdleTimeout.seconds("300"));
    assertEquals(3600, IdleTimeout.seconds("1h"));
    assertEquals(10, IdleTimeout.seconds(" 10s "));
  }

  @Test
  void refusesWhatIsNotADuration() {
    for (String bad : new String[] {"", "5 minutes", "-5m", "1.5m", "5d", "m", "99999999"}) {
      TypeConversionException e = assertThrows(TypeConversionException.class, () -> IdleTimeout.seconds(bad), bad);
      assertTrue(e.getMessage().contains("5m"), "the message shows how to write it: " + e.getMessage());
    }
  }
}
