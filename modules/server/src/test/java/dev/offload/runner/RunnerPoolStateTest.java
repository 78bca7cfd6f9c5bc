package dev.offload.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RunnerPoolStateTest {

  private static final Instant T0 = Instant.parse("2025-01-01T10:00:00Z");
  private final RunnerPoolState fleet = RunnerPoolState.empty()
      .provisioned(Runners.runner("local-1", "standard"), T0)
      .provisioned(Runners.runner("local-2", "standard"), T0);

  @Test
  void aProvisionedRunnerIsCleanUntilLeased() {
    assertTrue(fleet.isClean("local-1"));
    assertFalse(fleet.leased("local-1", "s1", T0).isClean("local-1"));
    assertFalse(fleet.isClean("local-9"), "never provisioned");
  }

  @Test
  void aRunnerIsNeverLeasedToTwoSessions() {
    RunnerPoolState state = fleet.leased("local-1", "s1", T0);
    assertThrows(IllegalStateException.class, () -> state.leased("local-1", "s2", T0));
  }

  @Test
  void aSessionNeverHoldsTwoRunners() {
    RunnerPoolState state = fleet.leased("local-1", "s1", T0);
    assertThrows(IllegalStateException.class, () -> state.leased("local-2", "s1", T0));
  }

  @Test
  void onlyTheHolderReleases() {
    RunnerPoolState state = fleet.leased("local-1", "s1", T0);
    assertTrue(state.holds("s1", "local-1"));
    assertFalse(state.holds("s2", "local-1"));
    assertFalse(state.holds("s1", "local-2"));
    assertEquals("local-1", state.leaseOf("s1").orElseThrow().runnerId());
    assertEquals(Optional.empty(), state.leaseOf("s2"));
  }

  @Test
  void aReleasedRunnerIsDirtyUntilWiped() {
    Instant released = T0.plusSeconds(60);
    Instant wiped = T0.plusSeconds(70);
    RunnerPoolState state = fleet.leased("local-1", "s1", T0).released("local-1", released);

    assertFalse(state.isLeased("local-1"));
    assertEquals(Set.of("local-1"), state.dirty());
    assertFalse(state.isClean("local-1"));
    RunnerPoolState clean = state.wiped("local-1", wiped);
    assertTrue(clean.isClean("local-1"));
    assertEquals(wiped, clean.freeSince().get("local-1"));
  }

  @Test
  void aDrainingRunnerIsNotClean() {
    assertFalse(fleet.drained("local-1").isClean("local-1"));
  }

  @Test
  void aRetiredRunnerIsForgottenWithItsLease() {
    RunnerPoolState state = fleet.leased("local-1", "s1", T0).drained("local-1").retired("local-1");

    assertEquals(Set.of("local-2"), state.runners().keySet());
    assertEquals(Optional.empty(), state.leaseOf("s1"));
    assertEquals(Set.of(), state.draining());
  }

  @Test
  void anAdoptedRunnerKeepsItsLeaseAtItsNewEndpoint() {
    RunnerInfo before = fleet.runners().get("local-1");
    RunnerInfo moved = new RunnerInfo(before.id(), before.runnerClass(), before.provider(), before.host(), 40022,
        before.user(), before.hostKey(), before.engineTarget());

    RunnerPoolState state = fleet.leased("local-1", "s1", T0).adopted(moved);

    assertEquals(moved, state.runners().get("local-1"));
    assertTrue(state.holds("s1", "local-1"));
  }

  @Test
  void aSnapshotFromBeforeTheFleetReadsAsNoRunners() {
    RunnerPoolState old = new RunnerPoolState(Map.of(), Map.of(), null, null, null);
    assertEquals(RunnerPoolState.empty(), old);
  }
}
