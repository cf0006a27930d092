-- The SCIM view of each directory's groups. Members live in their own table so a
-- group with 100,000 members stays cheap to read without them or to rename.
CREATE TABLE scim_groups (
    directory_id  uuid NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    -- UUIDv7, as for users: paging by id is in creation order.
    id            uuid NOT NULL,
    -- Not unique: RFC 7643 gives displayName no uniqueness, and identity providers
    -- allow two groups with one name.
    display_name  text NOT NULL,
    external_id   text,
    -- The normalized attributes other than members (no id, meta or schemas).
    resource      jsonb NOT NULL,
    -- Increases by one on every change, membership changes included.
    version       bigint NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (directory_id, id)
);
CREATE INDEX scim_groups_display_name ON scim_groups (directory_id, lower(display_name));
CREATE INDEX scim_groups_external_id ON scim_groups (directory_id, external_id);

-- No foreign keys: their per-row checks (which also lock and so rewrite every user
-- row) were most of the cost of a 256-member add. Integrity comes from locks instead
-- (see shared/src/db/groups.rs): a membership change holds its group row FOR UPDATE and
-- the directory's membership lock (shared); deleting a group or a user (or a
-- directory) deletes its membership rows in the same transaction, after taking the
-- lock that waits for such changes.
-- Group and user ids are UUIDv7, unique across directories, so the keys leave the
-- directory out (smaller, cheaper indexes); every query still filters on directory_id.
CREATE TABLE scim_group_members (
    directory_id  uuid NOT NULL,
    group_id      uuid NOT NULL,
    user_id       uuid NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX scim_group_members_user ON scim_group_members (user_id);

-- Membership events carry up to 1,000 ids: compress large outbox payloads with lz4,
-- several times cheaper than the default pglz for rows that are read once and deleted.
ALTER TABLE outbox ALTER COLUMN payload SET COMPRESSION lz4;

-- The product's teams. Provisioning fills them through mappings; people can also be
-- added by hand, and provisioning never removes those.
CREATE TABLE teams (
    id            uuid PRIMARY KEY,
    directory_id  uuid NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    name          text NOT NULL,
    -- Increases with every membership change; team events carry it.
    version       bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (directory_id, name)
);

-- Group-name mapping (the default): members of a group with one of these exact names
-- belong to the team.
CREATE TABLE team_group_mappings (
    team_id       uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    directory_id  uuid NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    group_name    text NOT NULL,
    PRIMARY KEY (team_id, group_name)
);
CREATE INDEX team_group_mappings_name ON team_group_mappings (directory_id, group_name);

-- Attribute mapping: when set, the values of this user attribute (a URN-qualified
-- extension attribute) name the user's teams, created on first use, and group
-- mappings are not used.
ALTER TABLE directories ADD COLUMN team_attribute text;
-- Increases with every announced change of the directory's settings (its events' version).
ALTER TABLE directories ADD COLUMN version bigint NOT NULL DEFAULT 0;

CREATE TABLE team_members (
    team_id     uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    member_id   uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    -- manual: added in the product, never removed by provisioning;
    -- provisioned: derived from the directory, recomputed by the worker.
    source      text NOT NULL CHECK (source IN ('manual', 'provisioned')),
    -- For provisioned rows: the mapped group names, or the attribute value, behind it.
    via         text[] NOT NULL DEFAULT '{}',
    -- While the member is deactivated or removed; kept so reactivation restores it.
    suspended   boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, member_id, source)
);
CREATE INDEX team_members_member ON team_members (member_id);
