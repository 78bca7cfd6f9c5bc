package dev.offload.org;

import static dev.offload.org.Stages.refusal;
import static dev.offload.org.Stages.result;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.offload.ClientError;
import dev.offload.ClientError.Code;
import dev.offload.storage.TestDatabase;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SettingsTest {

  private static final List<String> RUNNER_CLASSES = List.of("standard", "gpu");
  private static final ExecutorService blocking = Executors.newFixedThreadPool(4);
  private static final Organisations orgs =
      new Organisations(
          TestDatabase.get().dataSource(), blocking, Clock.systemUTC(), RUNNER_CLASSES);

  @AfterAll
  static void stopExecutor() {
    blocking.shutdown();
  }

  private static String newOrg() throws Exception {
    String id = OrganisationsTest.newOrgId();
    result(orgs.create(id, null));
    return id;
  }

  private static SettingsPatch none() {
    return new SettingsPatch(null, null, null, null, null, null, null, null);
  }

  @Test
  void startsWithTheDefaults() throws Exception {
    Settings settings = result(orgs.settings(newOrg()));

    assertEquals(Settings.defaults(RUNNER_CLASSES), settings);
    assertEquals(new Settings(true, 300, true, 1, 100, false, null, RUNNER_CLASSES), settings);
  }

  @Test
  void changesOnlyTheFieldsAPatchSets() throws Exception {
    String org = newOrg();

    Settings first =
        result(
            orgs.updateSettings(
                org, new SettingsPatch(null, 600, null, null, null, null, null, null)));
    Settings second =
        result(
            orgs.updateSettings(
                org, new SettingsPatch(false, null, false, 3, 50, true, Optional.of(12_000L), List.of("gpu"))));
    Settings unchanged = result(orgs.updateSettings(org, none()));

    assertEquals(new Settings(true, 600, true, 1, 100, false, null, RUNNER_CLASSES), first);
    assertEquals(new Settings(false, 600, false, 3, 50, true, 12_000L, List.of("gpu")), second);
    assertEquals(second, unchanged);
    assertEquals(second, result(orgs.settings(org)));
  }

  @Test
  void acceptsTheBoundsOfEveryRange() throws Exception {
    String org = newOrg();

    Settings low =
        result(orgs.updateSettings(org, new SettingsPatch(null, 10, null, 1, 1, null, Optional.of(0L), null)));
    Settings high =
        result(
            orgs.updateSettings(
                org, new SettingsPatch(null, 3600, null, 100, 100_000, null, null, null)));

    assertEquals(new Settings(true, 10, true, 1, 1, false, 0L, RUNNER_CLASSES), low);
    assertEquals(new Settings(true, 3600, true, 100, 100_000, false, 0L, RUNNER_CLASSES), high);
  }

  @Test
  void listsEachRunnerClassOnce() throws Exception {
    SettingsPatch patch =
        new SettingsPatch(
            null, null, null, null, null, null, null, List.of("gpu", "standard", "gpu"));

    Settings settings = result(orgs.updateSettings(newOrg(), patch));

    assertEquals(List.of("gpu", "standard"), settings.runnerClasses());
  }

  static Stream<Arguments> refusedPatches() {
    String idle = "idleTimeoutSeconds must be between 10 and 3600";
    String perUser = "maxSessionsPerUser must be between 1 and 100";
    String live = "maxLiveSessions must be between 1 and 100000";
    String unknown = "runnerClasses may only name standard, gpu; unknown: ";
    return Stream.of(
        Arguments.of(patch(9, null, null, null, null), "idleTimeoutSeconds", idle),
        Arguments.of(patch(3601, null, null, null, null), "idleTimeoutSeconds", idle),
        Arguments.of(patch(null, 0, null, null, null), "maxSessionsPerUser", perUser),
        Arguments.of(patch(null, 101, null, null, null), "maxSessionsPerUser", perUser),
        Arguments.of(patch(null, null, 0, null, null), "maxLiveSessions", live),
        Arguments.of(patch(null, null, 100_001, null, null), "maxLiveSessions", live),
        Arguments.of(
            patch(null, null, null, -1L, null),
            "monthlyLimitCents",
            "monthlyLimitCents must be 0 or more"),
        Arguments.of(
            patch(null, null, null, null, List.of()),
            "runnerClasses",
            "runnerClasses must name at least one of: standard, gpu"),
        Arguments.of(
            patch(null, null, null, null, List.of("gpu", "tpu")),
            "runnerClasses",
            unknown + "[tpu]"),
        Arguments.of(
            patch(null, null, null, null, Arrays.asList("gpu", null)),
            "runnerClasses",
            unknown + "[null]"));
  }

  /** A patch of the numeric and list fields, the ones with rules. */
  private static SettingsPatch patch(
      Integer idleTimeoutSeconds,
      Integer maxSessionsPerUser,
      Integer maxLiveSessions,
      Long monthlyLimitCents,
      List<String> runnerClasses) {
    return new SettingsPatch(
        null,
        idleTimeoutSeconds,
        null,
        maxSessionsPerUser,
        maxLiveSessions,
        null,
        monthlyLimitCents == null ? null : Optional.of(monthlyLimitCents),
        runnerClasses);
  }

  @ParameterizedTest
  @MethodSource("refusedPatches")
  void refusesAValueOutOfRangeAndChangesNothing(SettingsPatch patch, String field, String message)
      throws Exception {
    String org = newOrg();
    // Every other field set to a valid, different value: none of them may be applied either.
    SettingsPatch withValidChanges =
        new SettingsPatch(
            false,
            patch.idleTimeoutSeconds() == null ? 900 : patch.idleTimeoutSeconds(),
            false,
            patch.maxSessionsPerUser() == null ? 5 : patch.maxSessionsPerUser(),
            patch.maxLiveSessions() == null ? 500 : patch.maxLiveSessions(),
            true,
            patch.monthlyLimitCents() == null ? Optional.of(100L) : patch.monthlyLimitCents(),
            patch.runnerClasses() == null ? List.of("gpu") : patch.runnerClasses());

    ClientError refused = refusal(orgs.updateSettings(org, withValidChanges));

    assertEquals(Code.INVALID_ARGUMENT, refused.code());
    assertEquals(field, refused.field());
    assertEquals(message, refused.getMessage());
    assertEquals(Settings.defaults(RUNNER_CLASSES), result(orgs.settings(org)));
  }

  @Test
  void reportsSettingsOfAnUnknownOrganisationAsNotFound() {
    String org = OrganisationsTest.newOrgId();

    assertEquals(Code.NOT_FOUND, refusal(orgs.settings(org)).code());
    assertEquals(Code.NOT_FOUND, refusal(orgs.updateSettings(org, none())).code());
  }
}
