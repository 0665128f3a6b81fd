#!/usr/bin/env bash
# run.sh [REF...] runs crawlspace on the embedded default on this machine: it
# installs what is missing, starts a local PostgreSQL on 127.0.0.1:55433 with
# its data in .crawlspace/pg (or reuses the one a previous run left running),
# builds bin/crawlspace, applies the schema and loads Debian security notices.
# Then it scans REF..., or, with no REF, builds the sample images from real
# Debian packages (build-test-images.sh), pushes them to a local registry on
# 127.0.0.1:5001 (storage in .crawlspace/registry, stopped on exit) and scans
# test/debian:bookworm and test/debian-ssh:planted. It prints the results as a
# table; the exit status is the scans'.
#
# Notices: the real DSA list from the Debian security tracker when it can be
# reached, and always the input derive-notices.sh derives from this machine's
# bookworm-security index (not a real DSA; see that script), because the DSA
# list need not name the sample's bookworm packages.
#
# CRAWLSPACE_STATE_DIR: where PostgreSQL, the registry and the data dir live
# (default .crawlspace in the repository). CRAWLSPACE_CACHE_DIR: image cache
# (default /var/cache/crawlspace-test). crawlspace logs warnings and errors as
# text unless CRAWLSPACE_LOG_LEVEL or CRAWLSPACE_LOG_FORMAT say otherwise.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_PORT=55433
REGISTRY_ADDR=127.0.0.1:5001
DSA_URL=https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/data/DSA/list

# load_notices loads the real DSA list when it can be fetched, then the
# derived bookworm input.
load_notices() {
	local dir="$STATE/notices" derived real
	mkdir -p "$dir"
	real="$dir/DSA-list"
	derived="$dir/bookworm-security.dsa"

	if curl -fsSL --connect-timeout 5 --max-time 30 -o "$real.tmp" "$DSA_URL" &&
		[[ $(head -c 1 "$real.tmp") == '[' ]]; then
		mv "$real.tmp" "$real"
		log "fetched the DSA list from the Debian security tracker"
		timed "load the DSA list" "$CLI" notices load --source dsa "${COMMON[@]}" "$real"
	else
		rm -f "$real.tmp"
		log "the Debian security tracker cannot be reached from here ($DSA_URL):" \
			"using only the notice input derived from this machine's bookworm-security index"
	fi

	log "loading the notice input derived from the bookworm-security archive index" \
		"(derived from the archive, not a real DSA; it covers the bookworm packages the" \
		"security archive ships)"
	"$REPO_ROOT/scripts/derive-notices.sh" "$derived"
	timed "load the derived notices" "$CLI" notices load --source dsa "${COMMON[@]}" "$derived"
}

# start_local_registry starts the registry on REGISTRY_ADDR, or uses the one
# already answering there.
start_local_registry() {
	if registry_answers "$REGISTRY_ADDR"; then
		log "using the registry already answering on $REGISTRY_ADDR"
		return 0
	fi
	port_in_use "${REGISTRY_ADDR##*:}" &&
		die "$REGISTRY_ADDR is taken by something that is not a registry"
	start_registry "$STATE/registry" "$REGISTRY_ADDR"
}

# scan REF... scans and prints a table; it returns the scan's status.
scan() {
	local start rc=0
	start=$(date +%s.%N)
	"$CLI" scan "${COMMON[@]}" --format table "${INSECURE[@]}" "$@" || rc=$?
	log "crawlspace scan $*: $(elapsed_since "$start")$( ((rc == 0)) || echo " (failed, status $rc)")"
	return "$rc"
}

main() {
	local start pg rc=0
	start=$(date +%s.%N)
	cd "$REPO_ROOT"
	STATE=${CRAWLSPACE_STATE_DIR:-$REPO_ROOT/.crawlspace}
	mkdir -p "$STATE"
	STATE=$(cd "$STATE" && pwd)
	chmod 755 "$STATE"

	timed "install missing Debian packages" ensure_packages
	command -v go >/dev/null || die "go is not on PATH"
	timed "start PostgreSQL" start_postgres "$STATE/pg" "$PG_PORT" persist
	pg=$(pg_url "$PG_PORT")

	export CRAWLSPACE_LOG_LEVEL=${CRAWLSPACE_LOG_LEVEL:-warn}
	export CRAWLSPACE_LOG_FORMAT=${CRAWLSPACE_LOG_FORMAT:-text}
	CLI="$REPO_ROOT/bin/crawlspace"
	timed "build bin/crawlspace" env CGO_ENABLED=0 go build -o "$CLI" ./services/cmd/crawlspace
	COMMON=(--pg-url "$pg" --data-dir "$STATE/data")
	INSECURE=()
	timed "crawlspace migrate" "$CLI" migrate --pg-url "$pg"

	if (($# == 0)); then
		timed "start registry" start_local_registry
		timed "sample images" "$REPO_ROOT/scripts/build-test-images.sh" \
			"${CRAWLSPACE_CACHE_DIR:-/var/cache/crawlspace-test}" "$REGISTRY_ADDR"
		INSECURE=(--insecure-registry "$REGISTRY_ADDR")
		load_notices
		scan "$REGISTRY_ADDR/test/debian:bookworm" || rc=$?
		scan "$REGISTRY_ADDR/test/debian-ssh:planted" || rc=$?
	else
		load_notices
		scan "$@" || rc=$?
	fi

	log "PostgreSQL keeps running on 127.0.0.1:$PG_PORT (data $STATE/pg); stop it with:" \
		"runuser -u postgres -- $PG_BIN/pg_ctl -D $STATE/pg stop"
	log "total: $(elapsed_since "$start")"
	return "$rc"
}

main "$@"
