-- Pausing a directory's provisioning (docs/operations.md, "Pausing a directory"): while
-- paused_at is set the SCIM API keeps answering and recording, and the worker leaves
-- the product's data as it is; resuming recomputes it from the directory.
ALTER TABLE directories ADD COLUMN paused_at timestamptz;
