-- A group member's `display` (RFC 7643 returns it by default): the user's displayName,
-- else its userName. Stored with the membership, so reading a group of 100,000 members
-- needs no lookup per member; set when a member is added (scim_store::memberships::add)
-- and kept current by every user update (scim_store::users::update_many), both through
-- this one definition.
CREATE FUNCTION scim_member_display(resource jsonb, user_name text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN coalesce(resource->>'displayName', user_name);

ALTER TABLE scim_group_members ADD COLUMN display text;

-- Rewrites every membership once (a large directory's upgrade takes that long).
UPDATE scim_group_members gm SET display = scim_member_display(u.resource, u.user_name)
FROM scim_users u WHERE u.directory_id = gm.directory_id AND u.id = gm.user_id;
