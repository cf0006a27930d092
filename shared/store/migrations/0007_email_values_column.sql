-- Users' lower-cased email values in a column the ingress writes with every insert and
-- update, indexed for `emails.value eq` lookups. It replaces migration 0005's index on
-- scim_email_values(resource): that SQL function cannot be inlined, so Postgres parsed
-- and planned its body again in every statement that wrote a user (~65 µs each), and
-- an index on the whole `resource` made every update rewrite every index entry of the
-- row. Now an update that leaves userName, externalId and the emails alone can be HOT.
ALTER TABLE scim_users ADD COLUMN email_values text[];
UPDATE scim_users SET email_values = scim_email_values(resource);

-- For the previous release while it still runs (rolling upgrade or rollback): it does
-- not know the column, so fill it in when a write left it unset or stale. The
-- conditions are evaluated without calling the function; the current release only
-- meets them when it changes emails but not their values (the same values come out).
-- A later migration drops the triggers and scim_email_values together.
CREATE FUNCTION scim_users_fill_email_values() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.email_values := scim_email_values(NEW.resource);
    RETURN NEW;
END
$$;
CREATE TRIGGER scim_users_email_values_insert BEFORE INSERT ON scim_users
    FOR EACH ROW WHEN (NEW.email_values IS NULL)
    EXECUTE FUNCTION scim_users_fill_email_values();
CREATE TRIGGER scim_users_email_values_update BEFORE UPDATE ON scim_users
    FOR EACH ROW WHEN (NEW.email_values IS NOT DISTINCT FROM OLD.email_values
                       AND NEW.resource -> 'emails' IS DISTINCT FROM OLD.resource -> 'emails')
    EXECUTE FUNCTION scim_users_fill_email_values();

ALTER TABLE scim_users ALTER COLUMN email_values SET NOT NULL;
DROP INDEX scim_users_email_values;
CREATE INDEX scim_users_email_values ON scim_users USING gin (email_values);

-- Room on each page for the new versions of updated rows (HOT updates), so an update
-- touches one page and no index.
ALTER TABLE scim_users SET (fillfactor = 85);
