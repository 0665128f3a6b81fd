-- +goose Up

-- Checking findings' image key row by row cost as much as writing the row
-- in a fleet-wide re-match. Findings are written only for images read in
-- the same transaction, and images are not deleted by crawlspace; when an
-- operator deletes them, this trigger deletes their findings, once per
-- statement, as the cascade did.
ALTER TABLE findings DROP CONSTRAINT findings_image_digest_fkey;

-- +goose StatementBegin
CREATE FUNCTION delete_image_findings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM findings f USING gone g WHERE f.image_digest = g.digest;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER images_delete_findings AFTER DELETE ON images
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION delete_image_findings();

-- +goose Down
DROP TRIGGER images_delete_findings ON images;
DROP FUNCTION delete_image_findings();
ALTER TABLE findings ADD CONSTRAINT findings_image_digest_fkey
    FOREIGN KEY (image_digest) REFERENCES images (digest) ON DELETE CASCADE;
