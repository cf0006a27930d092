-- Directories: one per customer organization's identity-provider connection.
CREATE TABLE directories (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    -- Which identity provider pushes to it: okta, entra or generic.
    idp         text NOT NULL DEFAULT 'generic' CHECK (idp IN ('okta', 'entra', 'generic')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- SCIM bearer tokens. Only a SHA-256 of the secret part is stored; the id part is
-- embedded in the token so a lookup is one primary-key read.
CREATE TABLE tokens (
    id            uuid PRIMARY KEY,
    directory_id  uuid NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    secret_sha256 bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);
CREATE INDEX tokens_directory ON tokens (directory_id);

-- The SCIM view of each directory's users, as the identity provider sees them.
CREATE TABLE scim_users (
    directory_id  uuid NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    -- UUIDv7: time-ordered, so paging by id is in creation order and stable.
    id            uuid NOT NULL,
    user_name     text NOT NULL,
    external_id   text,
    active        boolean NOT NULL,
    -- The normalized SCIM attributes (no id, meta or schemas).
    resource      jsonb NOT NULL,
    -- Increases by one on every change; events carry it; meta.version is W/"<version>".
    version       bigint NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (directory_id, id)
);
-- userName is unique per directory, case-insensitively, matching the filter's rule.
CREATE UNIQUE INDEX scim_users_user_name_key ON scim_users (directory_id, lower(user_name));
CREATE INDEX scim_users_external_id ON scim_users (directory_id, external_id);

-- Transactional outbox: written in the same transaction as the change it announces,
-- published to JetStream by the relay, then deleted.
CREATE TABLE outbox (
    seq         bigserial PRIMARY KEY,
    event_id    uuid NOT NULL,
    subject     text NOT NULL,
    payload     json NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The product's member records, owned by the worker and derived from scim_users.
CREATE TABLE members (
    id             uuid PRIMARY KEY,
    directory_id   uuid NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    -- The SCIM user this member is provisioned from (NULL for members made by hand).
    scim_user_id   uuid,
    email          text,
    display_name   text,
    given_name     text,
    family_name    text,
    -- active: can sign in; deactivated: lost access; removed: deleted in the directory.
    status         text NOT NULL CHECK (status IN ('active', 'deactivated', 'removed')),
    -- The scim_users.version last applied: older events never undo newer state.
    scim_version   bigint NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (directory_id, scim_user_id)
);
