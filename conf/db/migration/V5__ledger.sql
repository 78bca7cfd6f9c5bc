-- The ledger: what each session is charged per UTC month, as the billing function computes it
-- from the journal. Kept by the session projection in the same transaction as its offset and
-- the session index (exactly-once); the audit recomputes it from the journal and compares.
CREATE TABLE ledger (
  session_id      uuid        NOT NULL,
  month           date        NOT NULL, -- first day of the UTC month
  org             text        NOT NULL,
  user_name       text        NOT NULL,
  runner_class    text        NOT NULL,
  charged_seconds bigint      NOT NULL,
  micros          bigint      NOT NULL,
  last_seq_nr     bigint      NOT NULL, -- the session event this row reflects
  last_hash       text        NOT NULL, -- that event's hash: the audit's witness for a session's last event
  updated_at      timestamptz NOT NULL,
  PRIMARY KEY (session_id, month)
);

CREATE INDEX ledger_by_org_month ON ledger (org, month);
