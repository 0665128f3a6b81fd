-- +goose Up

-- Why an image was or was not matched: status is matched, no-release (the
-- image's OS has no release we know, so only its language packages were
-- matched) or no-feed (no notice names the image's release). reason says
-- it in words; matched_at is when the status was last set.
CREATE TABLE image_match_status (
    image_digest text PRIMARY KEY REFERENCES images (digest) ON DELETE CASCADE,
    status       text NOT NULL,
    reason       text NOT NULL DEFAULT '',
    matched_at   timestamptz NOT NULL
);
CREATE INDEX image_match_status_status ON image_match_status (status);

-- A language package and a distribution package may share a name, so the
-- ecosystem is part of a finding's identity.
ALTER TABLE findings DROP CONSTRAINT findings_pkey;
ALTER TABLE findings ADD PRIMARY KEY (image_digest, ecosystem, package, notice_id);

-- finding_explanations is every finding with what explains it: the
-- package and its source, installed and fixed versions, the comparator,
-- the notice with its source and the release.
CREATE VIEW finding_explanations AS
SELECT f.image_digest, f.ecosystem, f.package, f.source_name, f.installed_version,
       f.fixed_version, f.comparator, f.status, f.notice_id, n.source AS notice_source,
       n.url AS notice_url, n.cves, f.release, f.first_seen, f.resolved_at
FROM findings f JOIN notices n ON n.id = f.notice_id;

-- +goose Down
DROP VIEW finding_explanations;
ALTER TABLE findings DROP CONSTRAINT findings_pkey;
ALTER TABLE findings ADD PRIMARY KEY (image_digest, package, notice_id);
DROP TABLE image_match_status;
