package dev.offload.runner;

import dev.offload.CborSerializable;

/**
 * A container port the runner's engine publishes on the runner ({@code docker run -p
 * hostPort:containerPort/protocol}), as {@code docker container inspect} reports it.
 */
public record PublishedPort(int hostPort, int containerPort, String protocol) implements CborSerializable {}
