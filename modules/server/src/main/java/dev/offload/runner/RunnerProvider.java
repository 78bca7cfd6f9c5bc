package dev.offload.runner;

import java.util.concurrent.CompletionStage;

/**
 * Where runners come from: the pool asks a provider for a runner of a class and gives it back when
 * the runner is retired. Implementations do their blocking work (processes, cloud APIs, servers)
 * on the blocking dispatcher and never on the caller's thread; docs/runners.md shows how to add one.
 */
public interface RunnerProvider {

  /** The name classes refer to in {@code offload.runners.classes.<class>.provider}. */
  String name();

  /**
   * A new runner of {@code runnerClass}, its host key known; the pool verifies it over SSH before
   * leasing it. Fails with a message an operator can act on, and then leaves no runner behind.
   */
  CompletionStage<RunnerInfo> create(String runnerClass);

  /**
   * Takes back a runner the pool provisioned before a restart; completes with its endpoint as it
   * is now (which may differ, e.g. a local runner's port), or fails when it is gone.
   */
  CompletionStage<RunnerInfo> adopt(RunnerInfo runner);

  /** Idempotent: destroying a runner that is already gone succeeds. */
  CompletionStage<Void> destroy(RunnerInfo runner);
}
