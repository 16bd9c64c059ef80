-- The initial schema. Each migration runs in its own transaction; the migrate
-- command records it in schema_migrations.

-- A license is a customer account. Its keys and queries belong to it.
CREATE TABLE licenses (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  -- Hourly request limit for its keys; NULL means the service default.
  rate_limit        integer CHECK (rate_limit BETWEEN 1 AND 10000),
  -- How long a finished query stays readable.
  retention_seconds integer NOT NULL DEFAULT 3600
                    CHECK (retention_seconds BETWEEN 0 AND 31536000),
  created_at        timestamptz NOT NULL DEFAULT now()
);

-- API keys: only the SHA-256 of the token is stored, never the token.
CREATE TABLE api_keys (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  license_id   bigint NOT NULL REFERENCES licenses (id),
  token_sha256 text NOT NULL CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
  -- Hourly limit of this key; NULL means its license's.
  rate_limit   integer CHECK (rate_limit BETWEEN 1 AND 10000),
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz,
  revoked_at   timestamptz
);
-- The hot read: a key by the hash of the presented token.
CREATE UNIQUE INDEX api_keys_token_sha256 ON api_keys (token_sha256);
CREATE INDEX api_keys_license ON api_keys (license_id);

-- Asynchronous queries. schedule_id is globally unique: it is what clients
-- poll with.
CREATE TABLE queries (
  schedule_id   text PRIMARY KEY CHECK (schedule_id ~ '^[A-Za-z0-9_-]{1,50}$'),
  license_id    bigint NOT NULL REFERENCES licenses (id),
  status_code   text NOT NULL CHECK (status_code IN
                  ('SCHEDULED', 'QUEUED', 'RUNNING', 'SUCCESS', 'FAILURE', 'STOPPED')),
  queries_ready integer NOT NULL DEFAULT 0 CHECK (queries_ready BETWEEN 0 AND 10000),
  queries_total integer NOT NULL DEFAULT 0 CHECK (queries_total BETWEEN 0 AND 10000),
  -- Rows in result_rows for this query: indexes 0 .. total_rows - 1.
  total_rows    bigint NOT NULL DEFAULT 0 CHECK (total_rows >= 0),
  -- Set when the status becomes SUCCESS, FAILURE or STOPPED; the result is
  -- readable until finished_at + the license's retention.
  finished_at   timestamptz,
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX queries_license ON queries (license_id);

-- Result rows, one JSON object each, kept as the text that was loaded (json,
-- not jsonb) so a page is served without re-serialising.
CREATE TABLE result_rows (
  schedule_id text NOT NULL REFERENCES queries (schedule_id) ON DELETE CASCADE,
  row_index   bigint NOT NULL CHECK (row_index >= 0),
  data        json NOT NULL CHECK (json_typeof(data) = 'object'),
  -- The hot read: a range of rows of one query, in order.
  PRIMARY KEY (schedule_id, row_index)
);

-- Each license's queue counts, shown as meta.workflow.
CREATE TABLE license_queues (
  license_id      bigint PRIMARY KEY REFERENCES licenses (id),
  tasks_scheduled integer NOT NULL DEFAULT 0 CHECK (tasks_scheduled BETWEEN 0 AND 1000),
  tasks_running   integer NOT NULL DEFAULT 0 CHECK (tasks_running BETWEEN 0 AND 1000),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
