#!/usr/bin/env bash
# build-image.sh [REGISTRY_REF] builds the crawlspace container image without
# Docker and prints its digest. When REGISTRY_REF is given (for example
# 127.0.0.1:5000/crawlspace/crawlspace:dev) it also pushes the image there,
# without TLS verification, for development registries.
#
# The image is one layer: the static crawlspace binary at
# /usr/local/bin/crawlspace, /etc/passwd and /etc/group with the nonroot user
# 65532, an empty /tmp, and the host's CA certificates. Its entrypoint is the
# binary, its default command `all`, its user 65532:65532; the Helm chart runs
# it with one stage name as the argument.
#
# Environment:
#   CRAWLSPACE_BINARY  use this prebuilt binary instead of running go build
#   IMAGE_OUT          keep the OCI layout in this directory (default: a
#                      temporary directory, removed on exit)
#   IMAGE_SOURCE       org.opencontainers.image.source label
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REF=${1-}
TAG=crawlspace
SOURCE=${IMAGE_SOURCE:-https://github.com/crawlspace/crawlspace}
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

command -v umoci >/dev/null || die "umoci is missing (apt-get install umoci)"
[[ -z $REF ]] || command -v skopeo >/dev/null || die "skopeo is missing (apt-get install skopeo)"
[[ -r $CA_BUNDLE ]] || die "$CA_BUNDLE is missing (apt-get install ca-certificates)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/crawlspace-image.XXXXXX")
on_exit rm -rf "$WORK"
OUT=${IMAGE_OUT:-$WORK/oci}

# build_binary writes the static crawlspace binary to $1.
build_binary() {
	if [[ -n ${CRAWLSPACE_BINARY-} ]]; then
		log "using prebuilt binary $CRAWLSPACE_BINARY"
		install -m 0755 "$CRAWLSPACE_BINARY" "$1"
		return
	fi
	local start
	start=$(date +%s.%N)
	(cd "$REPO_ROOT" &&
		CGO_ENABLED=0 go build -trimpath -ldflags=-s -o "$1" ./services/cmd/crawlspace) ||
		die "go build ./services/cmd/crawlspace failed;" \
			"to package a prebuilt binary, set CRAWLSPACE_BINARY"
	log "go build crawlspace: $(elapsed_since "$start")"
}

# make_rootfs fills the directory $1 with the image's files, owned by root
# except /tmp.
make_rootfs() {
	local root=$1
	mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/tmp"
	build_binary "$root/usr/local/bin/crawlspace"
	cat >"$root/etc/passwd" <<-'PASSWD'
		root:x:0:0:root:/root:/sbin/nologin
		nonroot:x:65532:65532:nonroot:/tmp:/sbin/nologin
	PASSWD
	cat >"$root/etc/group" <<-'GROUP'
		root:x:0:
		nonroot:x:65532:
	GROUP
	install -m 0644 "$CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
	chmod 0755 "$root" "$root/usr" "$root/usr/local" "$root/usr/local/bin" \
		"$root/etc" "$root/etc/ssl" "$root/etc/ssl/certs"
	chmod 0644 "$root/etc/passwd" "$root/etc/group"
	chmod 1777 "$root/tmp"
}

make_rootfs "$WORK/rootfs"

# One layer tar, with stable owners and times so that the same binary gives
# the same layer.
tar --numeric-owner --owner=0 --group=0 --mtime=@0 --sort=name \
	-C "$WORK/rootfs" -cf "$WORK/layer.tar" .

rm -rf "$OUT"
umoci init --layout "$OUT"
umoci new --image "$OUT:$TAG"
umoci raw add-layer --image "$OUT:$TAG" "$WORK/layer.tar" \
	--history.created_by "scripts/build-image.sh" --history.comment "crawlspace binary and base files"
umoci config --image "$OUT:$TAG" \
	--config.user 65532:65532 \
	--config.entrypoint /usr/local/bin/crawlspace \
	--config.cmd all \
	--config.workingdir /tmp \
	--config.exposedports 9090/tcp \
	--config.env PATH=/usr/local/bin \
	--config.env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
	--config.label "org.opencontainers.image.source=$SOURCE" \
	--config.label "org.opencontainers.image.title=crawlspace" \
	--config.label "org.opencontainers.image.revision=$(
		git -C "$REPO_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)" \
	--os linux --architecture "$(go env GOARCH)" \
	--history.created_by "scripts/build-image.sh"
umoci gc --layout "$OUT"

# The manifest digest is what the index records for the tag; a registry
# keeps it, since skopeo copies the manifest bytes as they are.
DIGEST=$(jq -r --arg tag "$TAG" \
	'.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $tag) | .digest' \
	"$OUT/index.json")
[[ $DIGEST == sha256:* ]] || die "no manifest for $TAG in $OUT/index.json"
log "built OCI layout $OUT:$TAG ($(du -sh "$OUT" | cut -f1))"

if [[ -n $REF ]]; then
	# skopeo_in runs skopeo as nobody when root: let it read the layout.
	chmod -R a+rX "$WORK"
	[[ $OUT == "$WORK"/* ]] || chmod -R a+rX "$OUT"
	timed "push $REF" skopeo_in "$WORK/skopeo" copy --quiet --dest-tls-verify=false \
		"oci:$OUT:$TAG" "docker://$REF"
	log "pushed $REF@$DIGEST"
fi
printf '%s\n' "$DIGEST"
