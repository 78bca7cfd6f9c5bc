package dev.offload.org;

import java.util.Objects;

/**
 * Who is calling, as proven by their bearer token. The operator belongs to no organisation, so
 * {@code org}, {@code user} and {@code tokenId} are null for it.
 */
public record Principal(Role role, String org, String user, String tokenId) {

  static final Principal OPERATOR = new Principal(Role.OPERATOR, null, null, null);

  public boolean isOperator() {
    return role == Role.OPERATOR;
  }

  public boolean isOwnerOf(String org) {
    return role == Role.OWNER && Objects.equals(this.org, org);
  }

  /** Owner or member of {@code org}; the operator belongs to none. */
  public boolean belongsTo(String org) {
    return !isOperator() && Objects.equals(this.org, org);
  }
}
