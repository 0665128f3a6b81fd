-- +goose Up

-- Collection runs, with a cursor so that a stopped run resumes: the key of
-- the last repository whose names were all published (a registry
-- repository name, or a Docker Hub walk or sort position).
CREATE TABLE collect_runs (
    run_id       text PRIMARY KEY,
    spec         jsonb NOT NULL,
    cursor       text NOT NULL DEFAULT '',
    repositories int NOT NULL DEFAULT 0,
    names        int NOT NULL DEFAULT 0,
    started_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    error        text NOT NULL DEFAULT ''
);

-- The names a run published, so that a resumed run names each once.
CREATE TABLE collect_named (
    run_id   text NOT NULL REFERENCES collect_runs (run_id) ON DELETE CASCADE,
    ref      text NOT NULL,
    named_at timestamptz NOT NULL,
    PRIMARY KEY (run_id, ref)
);

-- Every tag the collector saw listed for a repository, and when, whether or
-- not the run's tag policy named it.
CREATE TABLE repository_tags (
    repository_id bigint NOT NULL REFERENCES repositories (id),
    tag           text NOT NULL,
    first_seen    timestamptz NOT NULL,
    last_seen     timestamptz NOT NULL,
    PRIMARY KEY (repository_id, tag)
);

-- When the collector last listed the repository.
ALTER TABLE repositories ADD COLUMN collected_at timestamptz;

-- Docker Hub's last_updated for the repository, when the collector read it.
ALTER TABLE repository_popularity ADD COLUMN last_updated timestamptz;

-- +goose Down
ALTER TABLE repository_popularity DROP COLUMN last_updated;
ALTER TABLE repositories DROP COLUMN collected_at;
DROP TABLE repository_tags;
DROP TABLE collect_named;
DROP TABLE collect_runs;
