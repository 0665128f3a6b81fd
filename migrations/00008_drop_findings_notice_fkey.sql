-- +goose Up

-- findings are written only from affected rows, which belong to a notice,
-- and notices are never deleted; checking the key again for every row of a
-- fleet-wide re-match cost as much as writing it.
ALTER TABLE findings DROP CONSTRAINT findings_notice_id_fkey;

-- +goose Down
ALTER TABLE findings ADD CONSTRAINT findings_notice_id_fkey
    FOREIGN KEY (notice_id) REFERENCES notices (id);
