-- webhook subscriptions: the durable cursor of each in-process subscriber
-- into each organization's audit trail (the Seq of the last event handled).
CREATE TABLE IF NOT EXISTS ssokit_webhook_cursors (
  name TEXT NOT NULL,
  org_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  PRIMARY KEY (name, org_id)
);
