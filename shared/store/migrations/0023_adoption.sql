-- Members that existed before provisioning (docs/teams.md, "Members that were there
-- first"): who manages each member, and what a directory does when its identity
-- provider pushes someone the product already has.

-- provisioned: created from a SCIM user; adopted: made by hand (or by sign-in) and
-- taken over by the first push with its email; manual: made by hand, never touched by
-- provisioning. Provisioning changes only members it created or adopted.
ALTER TABLE members ADD COLUMN managed_by text NOT NULL DEFAULT 'provisioned'
    CHECK (managed_by IN ('provisioned', 'adopted', 'manual'));
UPDATE members SET managed_by = 'manual' WHERE scim_user_id IS NULL;

-- The members a push can adopt, found by email.
CREATE INDEX members_by_hand ON members (directory_id, lower(email)) WHERE scim_user_id IS NULL;

-- adopt (the default): a push adopts the member made by hand with its email; refuse:
-- the create answers 409 naming the member.
ALTER TABLE directories ADD COLUMN existing_members text NOT NULL DEFAULT 'adopt'
    CHECK (existing_members IN ('adopt', 'refuse'));
