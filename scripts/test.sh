#!/usr/bin/env bash
# test.sh [GO TEST FLAGS...] runs the whole crawlspace suite: it installs what
# is missing, starts a throwaway PostgreSQL, NATS JetStream server and OCI
# registry on free ports in a per-run temporary directory, builds (or reuses)
# the test images and pushes them, then runs `go vet` and `go test` for every
# module in go.work with the services' addresses in CRAWLSPACE_TEST_*, and
# lints and renders the Helm chart.
# Arguments go to `go test` (scripts/test.sh -run TestE2E -v). The exit status
# is the tests' (or vet's, when the tests pass and vet does not).
#
# CRAWLSPACE_CACHE_DIR: image cache (default /var/cache/crawlspace-test).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
	local start step cache run port packages vet=0 rc=0
	start=$(date +%s.%N)
	cache=${CRAWLSPACE_CACHE_DIR:-/var/cache/crawlspace-test}
	cd "$REPO_ROOT"

	timed "install missing Debian packages" ensure_packages
	timed "install missing Go tools" ensure_go_tools
	PATH="$(gobin):$PATH"
	export PATH

	# Services, each on a free port, in a directory removed on success.
	run=$(mktemp -d "${TMPDIR:-/tmp}/crawlspace-test.XXXXXX")
	chmod 755 "$run"
	on_exit remove_run_dir "$run"
	port=$(free_port)
	timed "start PostgreSQL" start_postgres "$run/pg" "$port"
	export CRAWLSPACE_TEST_PG
	CRAWLSPACE_TEST_PG=$(pg_url "$port")
	port=$(free_port)
	timed "start NATS" start_nats "$run/nats" "$port"
	export CRAWLSPACE_TEST_NATS="nats://127.0.0.1:$port"
	port=$(free_port)
	timed "start registry" start_registry "$run/registry" "127.0.0.1:$port"
	export CRAWLSPACE_TEST_REGISTRY="127.0.0.1:$port"

	timed "test images" "$REPO_ROOT/scripts/build-test-images.sh" "$cache" "$CRAWLSPACE_TEST_REGISTRY"
	export CRAWLSPACE_TEST_IMAGES
	CRAWLSPACE_TEST_IMAGES=$(cd "$cache" && pwd)
	export CRAWLSPACE_TEST_NOTICES="$CRAWLSPACE_TEST_IMAGES/notices/bookworm-security.dsa"
	export CRAWLSPACE_TEST_FIXTURES
	CRAWLSPACE_TEST_FIXTURES=$(cd "$REPO_ROOT/../shared/fixtures" 2>/dev/null && pwd) ||
		die "no fixtures at $REPO_ROOT/../shared/fixtures"
	env | grep '^CRAWLSPACE_TEST_' | sort >&2

	# Every module in go.work, as package patterns (./proto/... ...).
	export CGO_ENABLED=0
	mapfile -t packages < <(go work edit -json | jq -r '.Use[].DiskPath | sub("/$"; "") + "/..."')
	((${#packages[@]})) || die "go.work lists no modules"
	step=$(date +%s.%N)
	go vet "${packages[@]}" || vet=$?
	log "go vet: $(elapsed_since "$step")$( ((vet == 0)) || echo " (failed, status $vet)")"
	step=$(date +%s.%N)
	go test -count=1 -timeout 30m "$@" "${packages[@]}" || rc=$?
	log "go test: $(elapsed_since "$step")$( ((rc == 0)) || echo " (failed, status $rc)")"

	local chart=0
	timed "helm chart" "$REPO_ROOT/scripts/check-chart.sh" || chart=$?

	((rc != 0)) || rc=$vet
	((rc != 0)) || rc=$chart
	TEST_STATUS=$rc
	log "total: $(elapsed_since "$start") -- $( ((rc == 0)) && echo PASS || echo "FAIL (status $rc)")"
}

# remove_run_dir DIR removes the per-run directory, or keeps it for its logs
# when the run failed.
# shellcheck disable=SC2317 # called by on_exit
remove_run_dir() {
	if ((TEST_STATUS == 0)); then
		rm -rf "$1"
	else
		log "kept $1 (service logs)"
	fi
}

# TEST_STATUS is the suite's exit status, set once the tests have run.
TEST_STATUS=1
main "$@"
exit "$TEST_STATUS"
