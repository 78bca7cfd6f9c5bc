package dev.offload.runner;

import java.util.List;

/** The runners a provider offers; the pool leases from them and persists only the leases. */
public interface RunnerCatalogue {

  List<RunnerInfo> runners();
}
