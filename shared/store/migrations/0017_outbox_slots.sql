-- The outbox's rows in 16 slots by directory (the subject's third token), so that
-- several relays publish at once, each the slots it holds (an advisory lock per slot,
-- scim_store::outbox::claim), while one directory's events still leave one relay in
-- the order they were committed; the index reads a slot's oldest rows. Adding the
-- column rewrites the table once (it is nearly always empty).
ALTER TABLE outbox ADD COLUMN slot smallint NOT NULL
    GENERATED ALWAYS AS ((hashtext(split_part(subject, '.', 3)) & 15)::smallint) STORED;
CREATE INDEX outbox_slot_seq ON outbox (slot, seq);
