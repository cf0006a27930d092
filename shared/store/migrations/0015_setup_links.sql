-- Setup links (the customer's IT admin's way into the directory's setup page): a
-- bearer secret, stored hashed, shown once, that expires and can be revoked. Opening
-- one exchanges it for a session (a cookie) bound to its directory; revoking the link
-- ends its sessions.
CREATE TABLE setup_links (
    id              uuid PRIMARY KEY,
    directory_id    uuid NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    secret_sha256   bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    first_used_at   timestamptz,
    -- Whether the page may change the directory's trusted domains and seat limit.
    allow_controls  boolean NOT NULL DEFAULT false
);
CREATE INDEX setup_links_directory ON setup_links (directory_id);

CREATE TABLE setup_sessions (
    id             uuid PRIMARY KEY,
    link_id        uuid NOT NULL REFERENCES setup_links (id) ON DELETE CASCADE,
    secret_sha256  bytea NOT NULL,
    -- Sent back with every state-changing request (double submit), never in a cookie.
    csrf           text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL
);
CREATE INDEX setup_sessions_link ON setup_sessions (link_id);
