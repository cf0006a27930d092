-- Each directory's numbers of users, active users and groups, kept by the statements
-- that change them (statement-level triggers over transition tables: one counter write
-- per statement, however many rows it touched), so a list's totalResults and a
-- directory's summary no longer count the directory. A directory's counts are spread
-- over 16 slots, summed when read, so concurrent writers of one directory rarely wait
-- on one row.
CREATE TABLE directory_counts (
    directory_id  uuid NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    slot          smallint NOT NULL,
    users         bigint NOT NULL DEFAULT 0,
    active_users  bigint NOT NULL DEFAULT 0,
    groups        bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (directory_id, slot)
);

-- Adds the changes to a slot of each directory. A directory being deleted (its rows go
-- with it by cascade) is no longer visible here, and is skipped.
CREATE FUNCTION scim_count(changes jsonb) RETURNS void LANGUAGE sql AS $$
    INSERT INTO directory_counts AS c (directory_id, slot, users, active_users, groups)
    SELECT d.id, floor(random() * 16)::smallint, ch.users, ch.active_users, ch.groups
    FROM jsonb_to_recordset(changes)
         AS ch(directory_id uuid, users bigint, active_users bigint, groups bigint)
    JOIN directories d ON d.id = ch.directory_id
    WHERE ch.users <> 0 OR ch.active_users <> 0 OR ch.groups <> 0
    ON CONFLICT (directory_id, slot) DO UPDATE
    SET users = c.users + excluded.users,
        active_users = c.active_users + excluded.active_users,
        groups = c.groups + excluded.groups
$$;

CREATE FUNCTION scim_count_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM scim_count(coalesce((SELECT jsonb_agg(x) FROM (
            SELECT directory_id, count(*) AS users, count(*) FILTER (WHERE active) AS active_users,
                   0 AS groups
            FROM added GROUP BY directory_id) x), '[]'));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM scim_count(coalesce((SELECT jsonb_agg(x) FROM (
            SELECT directory_id, -count(*) AS users, -count(*) FILTER (WHERE active) AS active_users,
                   0 AS groups
            FROM removed GROUP BY directory_id) x), '[]'));
    ELSE
        PERFORM scim_count(coalesce((SELECT jsonb_agg(x) FROM (
            SELECT directory_id, 0 AS users, sum(change) AS active_users, 0 AS groups
            FROM (SELECT directory_id, 1 AS change FROM added WHERE active
                  UNION ALL
                  SELECT directory_id, -1 FROM removed WHERE active) a
            GROUP BY directory_id) x), '[]'));
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION scim_count_groups() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM scim_count(coalesce((SELECT jsonb_agg(x) FROM (
            SELECT directory_id, 0 AS users, 0 AS active_users, count(*) AS groups
            FROM added GROUP BY directory_id) x), '[]'));
    ELSE
        PERFORM scim_count(coalesce((SELECT jsonb_agg(x) FROM (
            SELECT directory_id, 0 AS users, 0 AS active_users, -count(*) AS groups
            FROM removed GROUP BY directory_id) x), '[]'));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER scim_users_counted_insert AFTER INSERT ON scim_users
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION scim_count_users();
CREATE TRIGGER scim_users_counted_delete AFTER DELETE ON scim_users
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION scim_count_users();
CREATE TRIGGER scim_users_counted_update AFTER UPDATE ON scim_users
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION scim_count_users();
CREATE TRIGGER scim_groups_counted_insert AFTER INSERT ON scim_groups
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION scim_count_groups();
CREATE TRIGGER scim_groups_counted_delete AFTER DELETE ON scim_groups
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION scim_count_groups();

-- The counts so far (the triggers' locks keep writers out until this commits).
INSERT INTO directory_counts (directory_id, slot, users, active_users, groups)
SELECT d.id, 0,
       (SELECT count(*) FROM scim_users u WHERE u.directory_id = d.id),
       (SELECT count(*) FROM scim_users u WHERE u.directory_id = d.id AND u.active),
       (SELECT count(*) FROM scim_groups g WHERE g.directory_id = d.id)
FROM directories d;
