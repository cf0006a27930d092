-- A SCIM token may expire (`scimctl token create --expires 90d`): past `expires_at` it
-- is refused as a revoked one is, with a detail that says it expired.
ALTER TABLE tokens ADD COLUMN expires_at timestamptz;
-- When `directory.token_expiring` was published for the token: once, by whichever
-- replica first found it within the warning window.
ALTER TABLE tokens ADD COLUMN expiry_announced_at timestamptz;
