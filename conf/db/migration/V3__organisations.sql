-- The product's own tables for organisations, their users and API tokens (api.md
-- "Organisations, settings, tokens"). Ranges are checked by the org package, which answers with
-- a message saying what to change; the database only guards what no code path may break.

CREATE TABLE organisations (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  offload_enabled BOOLEAN NOT NULL,
  idle_timeout_seconds INTEGER NOT NULL,
  allow_user_idle_timeout BOOLEAN NOT NULL,
  max_sessions_per_user INTEGER NOT NULL,
  max_live_sessions INTEGER NOT NULL,
  on_demand_enabled BOOLEAN NOT NULL,
  -- NULL: no monthly spending limit.
  monthly_limit_cents BIGINT,
  runner_classes TEXT[] NOT NULL
);

CREATE TABLE users (
  org TEXT NOT NULL REFERENCES organisations (id),
  name TEXT NOT NULL,
  -- NULL: the organisation's idle timeout applies.
  idle_timeout_seconds INTEGER,
  created_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (org, name)
);

-- A user name may belong to several organisations; listing them must not scan every user.
CREATE INDEX users_name_idx ON users (name);

CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  org TEXT NOT NULL,
  user_name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('owner', 'member')),
  -- SHA-256 of the token; the token itself is shown once and never stored.
  token_hash BYTEA NOT NULL UNIQUE,
  created_at TIMESTAMPTZ NOT NULL,
  revoked_at TIMESTAMPTZ,
  FOREIGN KEY (org, user_name) REFERENCES users (org, name)
);
