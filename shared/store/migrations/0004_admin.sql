-- Directory controls set through the admin API.
-- seat_limit: most active users the directory may have (NULL: no limit).
-- trusted_domains: when any, only users whose emails are on these domains are accepted.
-- last_request_at: the last SCIM request under the directory's base URL.
ALTER TABLE directories
    ADD COLUMN seat_limit integer CHECK (seat_limit >= 0),
    ADD COLUMN trusted_domains text[] NOT NULL DEFAULT '{}',
    ADD COLUMN last_request_at timestamptz;

ALTER TABLE tokens ADD COLUMN last_used_at timestamptz;

-- Every SCIM request under a directory's base URL, newest first, kept for
-- REQUEST_LOG_DAYS. Written in batches off the request path; never holds the token or
-- the request body.
CREATE TABLE request_log (
    seq           bigserial PRIMARY KEY,
    directory_id  uuid NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    at            timestamptz NOT NULL,
    method        text NOT NULL,
    path          text NOT NULL,
    status        smallint NOT NULL,
    duration_ms   real NOT NULL,
    -- The SCIM Error detail returned, for errors.
    detail        text
);
CREATE INDEX request_log_recent ON request_log (directory_id, at DESC);
CREATE INDEX request_log_at ON request_log (at);

-- Every admin action: who, what, when. Outlives the directory it names.
CREATE TABLE audit_log (
    id            uuid PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    actor         text NOT NULL,
    action        text NOT NULL,
    directory_id  uuid,
    details       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_recent ON audit_log (at DESC);
