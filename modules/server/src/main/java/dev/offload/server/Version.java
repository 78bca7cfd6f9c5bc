package dev.offload.server;

/** The product version, from the jar's manifest (the Maven project version). */
public final class Version {
  private Version() {}

  public static String current() {
    String version = Version.class.getPackage().getImplementationVersion();
    return version == null ? "development" : version;
  }
}
