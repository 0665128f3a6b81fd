-- +goose Up

-- Repositories as the collector or a scan named them, with what the registry
-- said of their popularity each time it was asked.
CREATE TABLE repositories (
    id          bigserial PRIMARY KEY,
    registry    text NOT NULL,
    name        text NOT NULL,
    official    boolean NOT NULL DEFAULT false,
    publisher   text NOT NULL DEFAULT '',
    first_seen  timestamptz NOT NULL,
    UNIQUE (registry, name)
);

CREATE TABLE repository_popularity (
    repository_id bigint NOT NULL REFERENCES repositories (id),
    observed_at   timestamptz NOT NULL,
    pull_count    bigint NOT NULL,
    star_count    bigint NOT NULL,
    bucket        text NOT NULL DEFAULT '',
    PRIMARY KEY (repository_id, observed_at)
);

-- Images by manifest digest. created is the config's own creation time (when
-- it was built and pushed); crawled_at is when the crawler stored it.
CREATE TABLE images (
    digest        text PRIMARY KEY,
    config_digest text NOT NULL,
    media_type    text NOT NULL,
    os_id         text NOT NULL DEFAULT '',
    os_version_id text NOT NULL DEFAULT '',
    os_codename   text NOT NULL DEFAULT '',
    os_name       text NOT NULL DEFAULT '',
    architecture  text NOT NULL DEFAULT '',
    created       timestamptz,
    config        jsonb NOT NULL,
    first_seen    timestamptz NOT NULL,
    crawled_at    timestamptz NOT NULL
);

-- Tag history: one row for each stretch of time a tag pointed at one digest.
-- A tag that moves A -> B -> A has three rows.
CREATE TABLE tag_observations (
    repository_id bigint NOT NULL REFERENCES repositories (id),
    tag           text NOT NULL,
    digest        text NOT NULL REFERENCES images (digest),
    first_seen    timestamptz NOT NULL,
    last_seen     timestamptz NOT NULL,
    PRIMARY KEY (repository_id, tag, first_seen)
);
CREATE INDEX tag_observations_digest ON tag_observations (digest);

CREATE TABLE layers (
    digest     text PRIMARY KEY,
    media_type text NOT NULL,
    size       bigint NOT NULL
);

CREATE TABLE image_layers (
    image_digest text NOT NULL REFERENCES images (digest) ON DELETE CASCADE,
    position     int NOT NULL,
    layer_digest text NOT NULL REFERENCES layers (digest),
    PRIMARY KEY (image_digest, position)
);

-- Installed packages. source_name and source_version are what notices name;
-- for dpkg they come from the status database's Source field.
CREATE TABLE image_packages (
    image_digest   text NOT NULL REFERENCES images (digest) ON DELETE CASCADE,
    ecosystem      text NOT NULL,
    name           text NOT NULL,
    version        text NOT NULL,
    arch           text NOT NULL,
    source_name    text NOT NULL,
    source_version text NOT NULL,
    layer_digest   text NOT NULL DEFAULT '',
    PRIMARY KEY (image_digest, ecosystem, name, arch)
);
CREATE INDEX image_packages_source ON image_packages (source_name);

-- Every file of the merged image, whiteouts applied.
CREATE TABLE image_files (
    image_digest text NOT NULL REFERENCES images (digest) ON DELETE CASCADE,
    path         text NOT NULL,
    type         text NOT NULL,
    mode         int NOT NULL,
    uid          int NOT NULL,
    gid          int NOT NULL,
    size         bigint NOT NULL,
    link         text NOT NULL DEFAULT '',
    layer_digest text NOT NULL,
    PRIMARY KEY (image_digest, path)
);

-- Captured configuration files. Secrets never reach this table: /etc/shadow
-- is stored with each password field reduced to its state.
CREATE TABLE image_config_files (
    image_digest text NOT NULL REFERENCES images (digest) ON DELETE CASCADE,
    path         text NOT NULL,
    content      text NOT NULL,
    PRIMARY KEY (image_digest, path)
);

-- Security notices and the (release, source package) pairs they fix.
CREATE TABLE notices (
    id           text PRIMARY KEY,
    source       text NOT NULL,
    title        text NOT NULL DEFAULT '',
    published    timestamptz,
    severity     text NOT NULL DEFAULT '',
    cves         text[] NOT NULL DEFAULT '{}',
    url          text NOT NULL DEFAULT '',
    content_hash text NOT NULL,
    updated_at   timestamptz NOT NULL
);

-- status is one of fixed, unfixed, not-affected, will-not-fix, deferred,
-- end-of-life, undetermined. fixed_version is empty unless status is fixed.
CREATE TABLE affected (
    notice_id     text NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
    ecosystem     text NOT NULL,
    release       text NOT NULL,
    package       text NOT NULL,
    fixed_version text NOT NULL DEFAULT '',
    status        text NOT NULL,
    PRIMARY KEY (notice_id, release, package)
);
CREATE INDEX affected_release_package ON affected (release, package);

-- Vulnerability findings. resolved_at is set when a later match no longer
-- finds the image affected; first_seen minus the notice's published time is
-- the time to fix.
CREATE TABLE findings (
    image_digest      text NOT NULL REFERENCES images (digest) ON DELETE CASCADE,
    package           text NOT NULL,
    notice_id         text NOT NULL REFERENCES notices (id),
    ecosystem         text NOT NULL,
    source_name       text NOT NULL,
    installed_version text NOT NULL,
    fixed_version     text NOT NULL,
    release           text NOT NULL,
    status            text NOT NULL,
    comparator        text NOT NULL,
    first_seen        timestamptz NOT NULL,
    resolved_at       timestamptz,
    PRIMARY KEY (image_digest, package, notice_id)
);
CREATE INDEX findings_notice ON findings (notice_id);

-- One result per rule and image: pass, fail, not-applicable or error.
CREATE TABLE rule_results (
    image_digest text NOT NULL REFERENCES images (digest) ON DELETE CASCADE,
    rule_id      text NOT NULL,
    category     text NOT NULL,
    severity     text NOT NULL,
    status       text NOT NULL,
    evidence     jsonb NOT NULL,
    checked_at   timestamptz NOT NULL,
    PRIMARY KEY (image_digest, rule_id)
);

-- Messages a stage gave up on, with the reason and the message itself, so
-- that nothing is lost. One row per stream message and consumer.
CREATE TABLE failures (
    consumer    text NOT NULL,
    stream      text NOT NULL,
    stream_seq  bigint NOT NULL,
    subject     text NOT NULL,
    ref         text NOT NULL DEFAULT '',
    reason      text NOT NULL,
    attempts    int NOT NULL,
    payload     bytea NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (consumer, stream, stream_seq)
);

-- +goose Down
DROP TABLE failures;
DROP TABLE rule_results;
DROP TABLE findings;
DROP TABLE affected;
DROP TABLE notices;
DROP TABLE image_config_files;
DROP TABLE image_files;
DROP TABLE image_packages;
DROP TABLE image_layers;
DROP TABLE layers;
DROP TABLE tag_observations;
DROP TABLE images;
DROP TABLE repository_popularity;
DROP TABLE repositories;
