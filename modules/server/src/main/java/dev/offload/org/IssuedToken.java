package dev.offload.org;

/**
 * A token just created: the only time {@code token} itself is available, since only its hash is
 * kept.
 */
public record IssuedToken(String id, String token, String org, String user, Role role) {

  /** Without the token, so that logging the record cannot leak it. */
  @Override
  public String toString() {
    return "IssuedToken[id="
        + id
        + ", org="
        + org
        + ", user="
        + user
        + ", role="
        + role.apiName()
        + "]";
  }
}
