-- The session read model: one row per session, kept by the session-index projection from the
-- journal (the system of record) and written first by POST /v1/sessions so a new session is
-- listed at once. Listing, ownership checks and terminated sessions are served from here, so
-- reads never wake an entity that has ended.
CREATE TABLE sessions (
  id              uuid PRIMARY KEY,
  org             text        NOT NULL,
  user_name       text        NOT NULL,
  runner_class    text        NOT NULL,
  state           text        NOT NULL,
  created_at      timestamptz NOT NULL,
  terminated_at   timestamptz,
  last_seq_nr     bigint      NOT NULL DEFAULT 0,
  snapshot        jsonb,
  idempotency_key text,
  request_hash    text
);

CREATE INDEX sessions_by_org_newest ON sessions (org, created_at DESC, id DESC);
CREATE INDEX sessions_live_by_user ON sessions (org, user_name) WHERE state <> 'terminated';
CREATE UNIQUE INDEX sessions_idempotency ON sessions (org, user_name, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
