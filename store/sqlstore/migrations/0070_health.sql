-- federation health: the last check result per connection and the claims
-- that let replicas share the checks
CREATE TABLE IF NOT EXISTS ssokit_connection_health (
  connection_id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL,
  protocol TEXT NOT NULL,
  status TEXT NOT NULL,
  reachable BOOLEAN NOT NULL,
  reason TEXT NOT NULL,
  latency_us BIGINT NOT NULL,
  checked_at BIGINT NOT NULL,
  last_healthy_at BIGINT NOT NULL,
  unhealthy_since BIGINT NOT NULL,
  consecutive_failures INTEGER NOT NULL,
  key_count INTEGER NOT NULL,
  certificates TEXT NOT NULL,
  certificate_warnings TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ssokit_health_claims (
  connection_id TEXT PRIMARY KEY,
  claimed_at BIGINT NOT NULL
);
