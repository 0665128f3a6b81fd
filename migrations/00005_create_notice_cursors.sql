-- +goose Up

-- Where each notice feed was left: the validators of the last document
-- stored in full, so that the next sync asks only for a changed one, and
-- its SHA-256 for servers that send none. One row per source and location;
-- a row is written only after every notice of the document is stored and
-- announced.
CREATE TABLE notice_cursors (
    source        text NOT NULL,
    location      text NOT NULL,
    etag          text NOT NULL DEFAULT '',
    last_modified text NOT NULL DEFAULT '',
    body_sha256   text NOT NULL DEFAULT '',
    synced_at     timestamptz NOT NULL,
    PRIMARY KEY (source, location)
);

-- +goose Down
DROP TABLE notice_cursors;
