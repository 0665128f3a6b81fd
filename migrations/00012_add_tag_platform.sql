-- +goose Up

-- A tag that names a manifest list points at one image per platform, so
-- its history is kept per platform ("linux/arm64/v8"): crawling every
-- platform of a list records each, and a tag that moves for one platform
-- leaves the others' stretches alone. Existing rows take their image's
-- platform from its config.
ALTER TABLE tag_observations ADD COLUMN platform text NOT NULL DEFAULT '';
UPDATE tag_observations o
SET platform = coalesce(nullif(i.config ->> 'os', ''), 'linux') || '/' || i.architecture
    || coalesce('/' || nullif(i.config ->> 'variant', ''), '')
FROM images i
WHERE i.digest = o.digest AND i.architecture <> '';
ALTER TABLE tag_observations DROP CONSTRAINT tag_observations_pkey;
ALTER TABLE tag_observations ADD PRIMARY KEY (repository_id, tag, platform, first_seen);

-- +goose Down
DELETE FROM tag_observations o USING tag_observations n
WHERE n.repository_id = o.repository_id AND n.tag = o.tag AND n.first_seen = o.first_seen
  AND n.platform < o.platform;
ALTER TABLE tag_observations DROP CONSTRAINT tag_observations_pkey;
ALTER TABLE tag_observations ADD PRIMARY KEY (repository_id, tag, first_seen);
ALTER TABLE tag_observations DROP COLUMN platform;
