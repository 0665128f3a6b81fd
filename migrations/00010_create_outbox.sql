-- +goose Up

-- Events waiting for the bus. A stage writes them in the transaction whose
-- change they announce and deletes them once JetStream acknowledged them,
-- so that a change committed before a failed publish is still announced:
-- by the retry of the same work, which resends its source's rows, or by
-- any replica once the row is stale. One row holds one batch of events,
-- encoded by package outbox; source names the work that wrote it.
CREATE TABLE outbox (
    id         bigserial PRIMARY KEY,
    source     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    events     bytea NOT NULL
);
-- A batch of thousands of small JSON events compresses poorly for what
-- compressing it costs, and it is read back at most once.
ALTER TABLE outbox ALTER COLUMN events SET STORAGE EXTERNAL;
CREATE INDEX outbox_source ON outbox (source);
CREATE INDEX outbox_created ON outbox (created_at);

-- +goose Down
DROP TABLE outbox;
