-- What granted a provisioned membership: the team mode (and, in attribute mode, the
-- attribute) it was written under. A removal's cause describes what held the member
-- even after the directory's team mode changed (docs/events.md, reason mode_changed).
-- Existing rows were written under their directory's current mode: every mode switch
-- recomputes the whole directory.
ALTER TABLE team_members
    ADD COLUMN via_mode text CHECK (via_mode IN ('mapped', 'mirrored', 'attribute')),
    ADD COLUMN via_attribute text;
UPDATE team_members tm
SET via_mode = d.team_mode, via_attribute = d.team_attribute
FROM teams t JOIN directories d ON d.id = t.directory_id
WHERE t.id = tm.team_id AND tm.source = 'provisioned';
ALTER TABLE team_members
    ADD CONSTRAINT team_members_grant CHECK (
        (source = 'provisioned') = (via_mode IS NOT NULL)
        AND (via_mode = 'attribute') = (via_attribute IS NOT NULL));
