-- +goose Up

-- release is the key the matcher joins on affected.release, from
-- services/platform/distro: "bookworm", "jammy", "v3.19", "el9", or '' when
-- the image's distribution has no feed.
ALTER TABLE images ADD COLUMN release text NOT NULL DEFAULT '';
UPDATE images SET release = os_codename WHERE os_id IN ('debian', 'ubuntu');
CREATE INDEX images_release ON images (release);

-- +goose Down
DROP INDEX images_release;
ALTER TABLE images DROP COLUMN release;
