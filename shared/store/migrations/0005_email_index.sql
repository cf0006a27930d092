-- Lookups by email (`emails.value eq "…"`, `emails[type eq "work" and value eq "…"]`):
-- a GIN index over each user's lower-cased email values. Without it such a filter reads
-- every user of the directory (seconds at a million users).
CREATE FUNCTION scim_email_values(resource jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(lower(e ->> 'value')) FILTER (WHERE e ->> 'value' IS NOT NULL), '{}')
    FROM jsonb_array_elements(
        CASE WHEN jsonb_typeof(resource -> 'emails') = 'array' THEN resource -> 'emails' ELSE '[]'::jsonb END
    ) AS e
$$;
CREATE INDEX scim_users_email_values ON scim_users USING gin (scim_email_values(resource));
