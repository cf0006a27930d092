-- A queue table: every row is deleted soon after it is written. Vacuum it after a few
-- thousand deletions rather than a fraction of its (tiny) size, so the relay's ordered
-- reads do not wade through dead rows.
ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000);
