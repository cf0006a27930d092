-- What the setup page tells a customer's admin.
--
-- Where each token came from: issued with its directory, by an operator, or on a setup
-- page. Tokens issued before this column have none (shown as "earlier").
ALTER TABLE tokens ADD COLUMN origin text
    CHECK (origin IN ('directory_created', 'operator', 'setup_link'));

-- The request history names the user or group a request was about: `resource_id`, the
-- path's id or the created resource's, read with the resource's current name; and
-- `resource_name`, the userName or displayName a failed request sent (a refused
-- create has no id). The request inspector shows what a failed request sent: `body`,
-- redacted and bounded by the ingress. All nullable: adding them rewrites nothing.
ALTER TABLE request_log
    ADD COLUMN resource_id uuid,
    ADD COLUMN resource_name text,
    ADD COLUMN body text;

-- The request inspector's window: until this time the request log keeps what every
-- request of the directory sends, not only failed ones (an admin debugging a mapping
-- sets it for at most an hour).
ALTER TABLE directories ADD COLUMN inspect_until timestamptz;
