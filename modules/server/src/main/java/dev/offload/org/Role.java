package dev.offload.org;

import java.util.Locale;

/** What a token may do (api.md "Authentication and roles"). */
public enum Role {
  /** Manages organisations and their tokens; belongs to no organisation. */
  OPERATOR,
  /** Everything within one organisation, including its settings and every member's usage. */
  OWNER,
  /** Their own sessions and usage within one organisation. */
  MEMBER;

  /** The role as written in the API and stored in the tokens table. */
  public String apiName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
