-- +goose Up

-- ranges holds OSV-style affected ranges for feeds that publish them
-- instead of one fixed version, as OSV's own JSON:
-- [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.3"}]}].
-- Language ecosystems (pypi, npm, go, ...) have release ''.
ALTER TABLE affected ADD COLUMN ranges jsonb NOT NULL DEFAULT '[]';
ALTER TABLE affected DROP CONSTRAINT affected_pkey;
ALTER TABLE affected ADD PRIMARY KEY (notice_id, ecosystem, release, package);
CREATE INDEX affected_ecosystem_package ON affected (ecosystem, package);

-- +goose Down
DROP INDEX affected_ecosystem_package;
ALTER TABLE affected DROP CONSTRAINT affected_pkey;
ALTER TABLE affected ADD PRIMARY KEY (notice_id, release, package);
ALTER TABLE affected DROP COLUMN ranges;
