-- The W3C trace context (traceparent) of the request that wrote each event, so the relay
-- can carry it to JetStream and the worker's processing joins the request's trace.
-- NULL when traces are not exported.
ALTER TABLE outbox ADD COLUMN traceparent text;
