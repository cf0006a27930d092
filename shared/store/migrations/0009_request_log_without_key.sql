-- The request log's surrogate key cost a sequence call and a b-tree entry for every
-- SCIM request, a third of what writing an entry costs, and nothing needs it: entries
-- are read newest first through request_log_recent and expired through request_log_at.
-- The column stays, empty from now on, for the previous release, which still orders
-- by it; a later migration can drop it.
ALTER TABLE request_log DROP CONSTRAINT request_log_pkey;
ALTER TABLE request_log ALTER COLUMN seq DROP DEFAULT, ALTER COLUMN seq DROP NOT NULL;
DROP SEQUENCE request_log_seq_seq;
