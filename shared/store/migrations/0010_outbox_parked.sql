-- Events the relay can never publish as they are (larger than the NATS server's
-- max_payload, for one): moved here so that everything committed after them is still
-- published, and kept until an operator re-publishes them (`scimctl outbox republish`
-- moves the row back to the outbox) or discards them (`scimctl outbox discard`).
CREATE TABLE outbox_parked (
    -- The row's outbox seq when it was set aside.
    seq           bigint PRIMARY KEY,
    event_id      uuid NOT NULL,
    subject       text NOT NULL,
    payload       json NOT NULL,
    traceparent   text,
    -- When the change was committed, and when the relay set its event aside.
    created_at    timestamptz NOT NULL,
    parked_at     timestamptz NOT NULL DEFAULT now(),
    -- Why the event could not be published, as NATS said it.
    reason        text NOT NULL
);
ALTER TABLE outbox_parked ALTER COLUMN payload SET COMPRESSION lz4;
