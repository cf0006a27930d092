-- How a directory's provisioning assigns teams (scim_store::directories::TeamMode):
-- mapped (admins map teams to group names), mirrored (each pushed group is a team,
-- optionally only groups whose names match mirror_pattern) or attribute (the values
-- of team_attribute name the teams).
ALTER TABLE directories ADD COLUMN team_mode text NOT NULL DEFAULT 'mapped'
    CHECK (team_mode IN ('mapped', 'mirrored', 'attribute'));
UPDATE directories SET team_mode = 'attribute' WHERE team_attribute IS NOT NULL;
ALTER TABLE directories ADD COLUMN mirror_pattern text;
ALTER TABLE directories ADD CONSTRAINT directories_team_mode_settings CHECK (
    (team_mode = 'attribute') = (team_attribute IS NOT NULL)
    AND (mirror_pattern IS NULL OR team_mode = 'mirrored'));

-- The SCIM group a mirrored team mirrors: created on the group's push, renamed with
-- it, deleted with it. Kept when the directory leaves mirrored mode, so returning to
-- it finds the same teams.
ALTER TABLE teams ADD COLUMN group_id uuid;
CREATE UNIQUE INDEX teams_group ON teams (directory_id, group_id) WHERE group_id IS NOT NULL;

-- Attribute mode's value table (the Calendly way): an attribute value, as the identity
-- provider sends it, names an existing team; several values may name one team. A value
-- not in the table makes a team of its name, or is ignored (unmapped_values).
ALTER TABLE directories ADD COLUMN unmapped_values text NOT NULL DEFAULT 'create'
    CHECK (unmapped_values IN ('create', 'ignore'));
CREATE TABLE team_value_mappings (
    directory_id  uuid NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    value         text NOT NULL,
    team_id       uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    PRIMARY KEY (directory_id, value)
);
CREATE INDEX team_value_mappings_team ON team_value_mappings (team_id);

-- Mapped mode: a mapping pinned to the group it matched follows that group through
-- renames (matched by id); an unpinned one matches any group of its name.
ALTER TABLE team_group_mappings ADD COLUMN group_id uuid;
CREATE INDEX team_group_mappings_group ON team_group_mappings (group_id) WHERE group_id IS NOT NULL;

-- For provisioned memberships of group modes: the ids of the groups behind `via`'s
-- names (team events' cause.group_ids).
ALTER TABLE team_members ADD COLUMN via_groups uuid[] NOT NULL DEFAULT '{}';
