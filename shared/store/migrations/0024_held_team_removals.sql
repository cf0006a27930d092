-- The mass-deprovisioning hold also keeps team memberships: when a group push ends the
-- memberships of more active members within the hour than the threshold allows (a group
-- that feeds every team emptied by mistake), the rest stay, held, until decided.
CREATE TABLE held_team_removals (
    directory_id uuid NOT NULL REFERENCES holds (directory_id) ON DELETE CASCADE,
    member_id    uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    team_id      uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    held_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (directory_id, member_id, team_id)
);
