package dev.offload.runner;

import dev.offload.CborSerializable;
import java.time.Instant;

/** A runner held by a session since an instant. */
public record RunnerLease(String runnerId, String sessionId, Instant since) implements CborSerializable {}
