-- Product roles (issue 32). Each directory has its catalogue of roles, ordered by
-- precedence (position 0 is the highest), starting with the deployment's defaults;
-- a default role for provisioned members nothing else assigns a role to; group names
-- mapped to roles; and each member's role with where it came from.
CREATE TABLE directory_roles (
    directory_id uuid NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    id           text NOT NULL,
    display_name text NOT NULL,
    description  text NOT NULL DEFAULT '',
    position     integer NOT NULL CHECK (position >= 0),
    PRIMARY KEY (directory_id, id),
    UNIQUE (directory_id, position) DEFERRABLE INITIALLY DEFERRED
);

-- Existing directories start with the built-in defaults (a deployment's own defaults
-- apply to directories made after it sets them).
INSERT INTO directory_roles (directory_id, id, display_name, description, position)
SELECT d.id, r.id, r.display_name, r.description, r.position
FROM directories d CROSS JOIN (VALUES
    ('owner', 'Owner', 'Full control of the organization, billing included', 0),
    ('admin', 'Admin', 'Manages members, teams and settings', 1),
    ('member', 'Member', 'Uses the product', 2)
) AS r (id, display_name, description, position);

ALTER TABLE directories ADD COLUMN default_role text NOT NULL DEFAULT 'member';
ALTER TABLE directories ADD CONSTRAINT directories_default_role
    FOREIGN KEY (id, default_role) REFERENCES directory_roles (directory_id, id)
    DEFERRABLE INITIALLY DEFERRED;

CREATE TABLE role_group_mappings (
    directory_id uuid NOT NULL,
    group_name   text NOT NULL,
    role         text NOT NULL,
    PRIMARY KEY (directory_id, group_name),
    FOREIGN KEY (directory_id, role) REFERENCES directory_roles (directory_id, id)
        ON DELETE CASCADE
);

-- A member's role and its source: identity_provider (the user's `roles`), group (a
-- role mapping), default (the directory's default role) or admin (set by hand, for
-- members made by hand). event_version numbers the member's own events.
ALTER TABLE members
    ADD COLUMN role text,
    ADD COLUMN role_source text
        CHECK (role_source IN ('identity_provider', 'group', 'default', 'admin')),
    ADD COLUMN event_version bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT members_role CHECK ((role IS NULL) = (role_source IS NULL));

-- Every member had the one role the product had, the default.
UPDATE members SET role = 'member', role_source = 'default' WHERE status <> 'removed';
