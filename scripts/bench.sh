#!/usr/bin/env bash
# bench.sh crawl measures crawlspace's crawler on the bookworm test image,
# median of RUNS (5) runs each: the cold crawl (`crawlspace crawl` of the
# oci: layout and the docker-archive: tarball), the floor (reading and
# decompressing every layer once to a discarding sink), and the crawl of a
# second image sharing bookworm's layer through the PostgreSQL layer cache
# (when CRAWLSPACE_TEST_PG is set). Syft and Trivy are included when their
# binaries are on PATH. It prints medians, ratios and peak RSS.
#
#   CRAWLSPACE_TEST_IMAGES=/var/cache/crawlspace-test scripts/bench.sh crawl
#
# CRAWLSPACE_BIN names a prebuilt crawlspace binary to measure instead of
# building one.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=${RUNS:-5}
IMAGES=${CRAWLSPACE_TEST_IMAGES:-/var/cache/crawlspace-test}

[[ ${1:-} == crawl ]] || die "usage: scripts/bench.sh crawl"
[[ -f $IMAGES/oci/index.json ]] ||
	die "no test images in $IMAGES (run scripts/build-test-images.sh)"

WORK=$(mktemp -d)
DB=""
cleanup() {
	if [[ -n $DB ]]; then
		psql -q "$CRAWLSPACE_TEST_PG" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

log "building crawlspace and the bench helper"
if [[ -n ${CRAWLSPACE_BIN:-} ]]; then
	# A prebuilt binary, such as while another stage does not build.
	cp "$CRAWLSPACE_BIN" "$WORK/crawlspace"
else
	(cd "$REPO_ROOT/services" && CGO_ENABLED=0 go build -o "$WORK/crawlspace" ./cmd/crawlspace)
fi
(cd "$REPO_ROOT/services" &&
	CGO_ENABLED=0 go build -o "$WORK/benchtool" ./crawler/internal/benchtool)

OCI="oci:$IMAGES/oci:bookworm"
ARCHIVE="docker-archive:$IMAGES/bookworm.docker-archive.tar"

# measure NAME CMD... runs CMD (which prints "seconds rss_kib") RUNS times
# and records the median seconds and the largest RSS under NAME.
declare -A SECS RSS
measure() {
	local name=$1
	shift
	local out times=() rss=0 s r
	for _ in $(seq "$RUNS"); do
		out=$("$@")
		read -r s r <<<"$out"
		times+=("$s")
		((r > rss)) && rss=$r
	done
	SECS[$name]=$(printf '%s\n' "${times[@]}" | sort -g |
		awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	RSS[$name]=$rss
	log "$name: median ${SECS[$name]} s, peak RSS $((rss / 1024)) MiB"
}

# Every command is timed as a process, from start to exit, the floor too.
measure floor-oci "$WORK/benchtool" rusage "$WORK/benchtool" floor "$OCI"
measure floor-archive "$WORK/benchtool" rusage "$WORK/benchtool" floor "$ARCHIVE"
measure crawl-oci "$WORK/benchtool" rusage "$WORK/crawlspace" crawl --format json "$OCI"
measure crawl-archive "$WORK/benchtool" rusage "$WORK/crawlspace" crawl --format json "$ARCHIVE"

if [[ -n ${CRAWLSPACE_TEST_PG:-} ]]; then
	# A second image: bookworm plus one small layer, sharing the base blob.
	DB=crawlspace_bench_$$
	psql -q "$CRAWLSPACE_TEST_PG" -c "CREATE DATABASE $DB" >/dev/null
	DSN=$(printf '%s' "$CRAWLSPACE_TEST_PG" | sed -E "s#/[^/?]*(\?|$)#/$DB\1#")
	cp -al "$IMAGES/oci" "$WORK/oci"
	rm "$WORK/oci/index.json" && cp "$IMAGES/oci/index.json" "$WORK/oci/index.json"
	mkdir -p "$WORK/app/etc" && echo "app" >"$WORK/app/etc/app.conf"
	tar --numeric-owner -C "$WORK/app" -cf "$WORK/app.tar" .
	umoci raw add-layer --image "$WORK/oci:bookworm" --tag app "$WORK/app.tar" >/dev/null
	measure shared "$WORK/benchtool" shared "$DSN" "oci:$WORK/oci:bookworm" "oci:$WORK/oci:app"
fi

# The peers read one image per layout.
export XDG_CACHE_HOME=$WORK/cache
if command -v syft >/dev/null || command -v trivy >/dev/null; then
	mkdir -p "$WORK/single" && skopeo copy -q "$OCI" "oci:$WORK/single:bookworm"
fi
if command -v syft >/dev/null; then
	measure syft-oci "$WORK/benchtool" rusage syft -q "oci-dir:$WORK/single" -o json
	measure syft-archive "$WORK/benchtool" rusage syft -q "$ARCHIVE" -o json
fi
if command -v trivy >/dev/null; then
	# Trivy lists packages offline with the secret scanner alone, since its
	# vulnerability database cannot be downloaded here.
	trivy=(trivy image -q --scanners secret --format cyclonedx --skip-db-update
		--offline-scan --cache-backend memory --input)
	measure trivy-oci "$WORK/benchtool" rusage "${trivy[@]}" "$WORK/single"
	measure trivy-archive "$WORK/benchtool" rusage "${trivy[@]}" \
		"$IMAGES/bookworm.docker-archive.tar"
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
printf '\n%-16s %10s %10s\n' measurement "median s" "peak MiB"
for k in floor-oci floor-archive crawl-oci crawl-archive shared syft-oci syft-archive \
	trivy-oci trivy-archive; do
	[[ -n ${SECS[$k]:-} ]] || continue
	printf '%-16s %10s %10d\n' "$k" "${SECS[$k]}" $((RSS[$k] / 1024))
done
printf '\nratios\n'
printf '  cold crawl / floor, oci:            %s\n' \
	"$(ratio "${SECS[crawl-oci]}" "${SECS[floor-oci]}")"
printf '  cold crawl / floor, docker-archive: %s\n' \
	"$(ratio "${SECS[crawl-archive]}" "${SECS[floor-archive]}")"
if [[ -n ${SECS[shared]:-} ]]; then
	printf '  shared-base / cold crawl, oci:      %s\n' \
		"$(ratio "${SECS[shared]}" "${SECS[crawl-oci]}")"
fi
if [[ -n ${SECS[syft-oci]:-} ]]; then
	printf '  syft / cold crawl, oci:             %s\n' \
		"$(ratio "${SECS[syft-oci]}" "${SECS[crawl-oci]}")"
	printf '  syft / cold crawl, docker-archive:  %s\n' \
		"$(ratio "${SECS[syft-archive]}" "${SECS[crawl-archive]}")"
fi
if [[ -n ${SECS[trivy-archive]:-} ]]; then
	printf '  trivy / cold crawl, oci:            %s\n' \
		"$(ratio "${SECS[trivy-oci]}" "${SECS[crawl-oci]}")"
	printf '  trivy / cold crawl, docker-archive: %s\n' \
		"$(ratio "${SECS[trivy-archive]}" "${SECS[crawl-archive]}")"
fi
