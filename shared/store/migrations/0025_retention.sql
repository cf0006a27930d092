-- Optional retention (docs/operations.md, "Retention"): a directory's users that stayed
-- deactivated and unchanged for retention_days are deleted, as a deletion by the
-- identity provider would be (user.deleted). NULL: off, the default.
ALTER TABLE directories ADD COLUMN retention_days integer CHECK (retention_days > 0);
CREATE INDEX scim_users_inactive ON scim_users (directory_id, updated_at) WHERE NOT active;
