-- Webhooks: what an organisation subscribed to, and an outbox of deliveries. Deliveries are
-- written by the session projection in the same transaction as its offset (so each event is
-- queued exactly once) and sent by one worker per cluster: at least once, in order per session.
CREATE TABLE webhooks (
  id          text        PRIMARY KEY,
  org         text        NOT NULL,
  url         text        NOT NULL,
  events      text[]      NOT NULL,
  secret      text        NOT NULL,
  created_at  timestamptz NOT NULL,
  deleted_at  timestamptz
);

CREATE INDEX webhooks_by_org ON webhooks (org) WHERE deleted_at IS NULL;

CREATE TABLE webhook_deliveries (
  id              text        PRIMARY KEY, -- stable across retries: Offload-Delivery-Id
  webhook_id      text        NOT NULL REFERENCES webhooks (id),
  stream          text        NOT NULL,    -- deliveries of one stream (a session) go out in order
  position        bigint      NOT NULL,    -- the order within the stream (the event's sequence number)
  event_type      text        NOT NULL,
  body            text        NOT NULL,
  created_at      timestamptz NOT NULL,
  attempts        int         NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  last_error      text,
  delivered_at    timestamptz,
  abandoned_at    timestamptz
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
  WHERE delivered_at IS NULL AND abandoned_at IS NULL;
CREATE INDEX webhook_deliveries_stream ON webhook_deliveries (webhook_id, stream, position);
