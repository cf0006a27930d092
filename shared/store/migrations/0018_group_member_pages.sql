-- A group's members after a user id, in id order, at most n: a batch of the members a
-- response writes in (scim_store::memberships::of_group). Planned with bitmap scans and
-- sorts off: with statistics from when the group was small (no analyze since it grew),
-- Postgres otherwise gathered and sorted all of the group's members for every batch
-- (20 ms a batch at 100,000 members, a second for the group) where the primary key
-- reads the batch in order (0.5 ms).
CREATE FUNCTION scim_group_members_after(directory uuid, grp uuid, after uuid, n bigint)
RETURNS TABLE (id uuid, display text)
LANGUAGE sql STABLE
SET enable_bitmapscan = off SET enable_sort = off
AS $$
    SELECT gm.user_id,
           -- The display stored with each membership (0012), but for a member the
           -- previous release added during an upgrade.
           coalesce(gm.display,
                    (SELECT scim_member_display(u.resource, u.user_name) FROM scim_users u
                     WHERE u.directory_id = gm.directory_id AND u.id = gm.user_id),
                    '')
    FROM scim_group_members gm
    WHERE gm.group_id = grp AND gm.user_id > after AND gm.directory_id = directory
    ORDER BY gm.user_id
    LIMIT n
$$;
