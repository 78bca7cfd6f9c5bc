package dev.offload.org;

import java.time.Instant;

public record Organisation(String id, String name, Instant createdAt) {}
