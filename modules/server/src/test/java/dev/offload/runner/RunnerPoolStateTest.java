package dev.offload.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RunnerPoolStateTest {

  private static final Instant T0 = Instant.parse("2025-01-01T10:00:00Z");
  private final List<RunnerInfo> offered =
      List.of(Runners.runner("local-1", "standard"), Runners.runner("local-2", "standard"),
          Runners.runner("local-3", "gpu"));

  @Test
  void freeRunnerIsTheFirstUnleasedOfTheClassInCatalogueOrder() {
    RunnerPoolState state = RunnerPoolState.empty();
    assertEquals("local-1", state.freeRunner(offered, "standard").orElseThrow().id());

    state = state.leased("local-1", "s1", T0);
    assertEquals("local-2", state.freeRunner(offered, "standard").orElseThrow().id());

    state = state.leased("local-2", "s2", T0);
    assertEquals(Optional.empty(), state.freeRunner(offered, "standard"));
    assertEquals("local-3", state.freeRunner(offered, "gpu").orElseThrow().id());
  }

  @Test
  void aRunnerIsNeverLeasedToTwoSessions() {
    RunnerPoolState state = RunnerPoolState.empty().leased("local-1", "s1", T0);
    assertThrows(IllegalStateException.class, () -> state.leased("local-1", "s2", T0));
  }

  @Test
  void aSessionNeverHoldsTwoRunners() {
    RunnerPoolState state = RunnerPoolState.empty().leased("local-1", "s1", T0);
    assertThrows(IllegalStateException.class, () -> state.leased("local-2", "s1", T0));
  }

  @Test
  void onlyTheHolderReleases() {
    RunnerPoolState state = RunnerPoolState.empty().leased("local-1", "s1", T0);
    assertTrue(state.holds("s1", "local-1"));
    assertFalse(state.holds("s2", "local-1"));
    assertFalse(state.holds("s1", "local-2"));
    assertEquals("local-1", state.leaseOf("s1").orElseThrow().runnerId());
    assertEquals(Optional.empty(), state.leaseOf("s2"));
  }

  @Test
  void aReleasedRunnerIsFreeAgainSinceItsRelease() {
    Instant later = T0.plusSeconds(60);
    RunnerPoolState state =
        RunnerPoolState.empty().leased("local-1", "s1", T0).released("local-1", later);

    assertFalse(state.isLeased("local-1"));
    assertEquals(Optional.empty(), state.leaseOf("s1"));
    assertEquals("local-1", state.freeRunner(offered, "standard").orElseThrow().id());
    RunnerPool.RunnerStatus status = state.statuses(offered, T0).get(0);
    assertEquals("warm", status.state());
    assertEquals(later, status.since());
  }

  @Test
  void offersOnlyClassesInTheCatalogue() {
    assertTrue(RunnerPoolState.offers(offered, "gpu"));
    assertFalse(RunnerPoolState.offers(offered, "arm"));
  }

  @Test
  void statusesListEveryOfferedRunnerWithItsHolder() {
    Instant started = T0.minusSeconds(5);
    List<RunnerPool.RunnerStatus> statuses =
        RunnerPoolState.empty().leased("local-2", "s9", T0).statuses(offered, started);

    assertEquals(
        List.of(
            new RunnerPool.RunnerStatus("local-1", "standard", "local", "warm", null, started,
                offered.get(0).hostKeyFingerprint()),
            new RunnerPool.RunnerStatus("local-2", "standard", "local", "leased", "s9", T0,
                offered.get(1).hostKeyFingerprint()),
            new RunnerPool.RunnerStatus("local-3", "gpu", "local", "warm", null, started,
                offered.get(2).hostKeyFingerprint())),
        statuses);
  }
}
