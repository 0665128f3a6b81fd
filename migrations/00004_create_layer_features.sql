-- +goose Up

-- The crawler's layer cache: what one layer blob holds (entries, whiteouts,
-- captured file contents, parsed packages), so that a layer shared by many
-- images is read once. extractor names the crawler version and options the
-- features were scanned with; features is zstd-compressed JSON that only
-- the crawler reads. No foreign key to layers: the cache fills before the
-- image that needed it is stored.
CREATE TABLE layer_features (
    digest     text NOT NULL,
    extractor  text NOT NULL,
    features   bytea NOT NULL,
    size       int NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (digest, extractor)
);

-- Set for images without an operating system ("scratch") and for
-- distroless ones ("distroless"); '' otherwise.
ALTER TABLE images ADD COLUMN os_variant text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE images DROP COLUMN os_variant;
DROP TABLE layer_features;
