#!/usr/bin/env bash
# build-test-images.sh [CACHE [REGISTRY]] builds the test images from real
# Debian packages and pushes them to REGISTRY (host:port, plain HTTP).
#
# Into CACHE (default /var/cache/crawlspace-test), reusing every artifact whose
# stamp file matches how it would be built now:
#   rootfs/bookworm        debootstrap --variant=minbase bookworm
#   rootfs/bookworm-ssh    the same plus openssh-server
#   rootfs/bullseye        debootstrap --variant=minbase bullseye
#   rootfs/trixie          debootstrap --variant=minbase trixie
#   oci/                   one OCI layout (umoci) with the tags
#     bookworm             one layer; user 1000:1000, port 8080/tcp
#     planted              bookworm-ssh plus a layer that sets
#                          "PermitRootLogin yes", empties root's password and
#                          removes /etc/motd with a whiteout; user unset (root)
#     clean                bookworm-ssh only; user 1000:1000
#     bullseye, trixie     one layer each; user 1000:1000
#   bookworm.docker-archive.tar   the bookworm image as a docker-archive
# Every run pushes test/debian:bookworm, test/debian:bullseye,
# test/debian:trixie, test/debian-ssh:planted and test/debian-ssh:clean to
# REGISTRY (skipped when REGISTRY is empty) and
# regenerates notices/bookworm-security.dsa with derive-notices.sh.
# Debian packages come from the machine's configured mirror. A suite in
# EXTRA_SUITES that is neither cached nor served by that mirror is skipped
# with a warning (no rootfs, tag or push); bookworm is required.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CACHE=${1:-${CRAWLSPACE_CACHE_DIR:-/var/cache/crawlspace-test}}
REGISTRY=${2-}
SUITE=bookworm
# Suites built as plain minbase images besides bookworm.
EXTRA_SUITES=(bullseye trixie)
# The extra suites actually built this run (see build_extra_suites).
BUILT_SUITES=()
# Bump to rebuild every cached artifact.
RECIPE=1

# mirror prints the first Debian mirror apt is configured with.
mirror() {
	local m=
	if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
		m=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
	fi
	if [[ -z $m && -f /etc/apt/sources.list ]]; then
		m=$(awk '$1 == "deb" && $0 !~ /security/ {
			for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit }
		}' /etc/apt/sources.list)
	fi
	[[ -n $m ]] ||
		die "no Debian mirror found in /etc/apt/sources.list.d/debian.sources" \
			"or /etc/apt/sources.list"
	printf '%s\n' "$m"
}

# fresh STAMP KEY succeeds when STAMP exists and holds KEY.
fresh() {
	[[ -f $1 && $(<"$1") == "$2" ]]
}

# remove_tree DIR deletes DIR after unmounting whatever an interrupted
# debootstrap left mounted under it (proc, sys, dev), never crossing into
# another file system.
remove_tree() {
	local dir=$1 mnt
	[[ -e $dir ]] || return 0
	dir=$(cd "$dir" && pwd)
	awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r |
		while read -r mnt; do
			umount -l "$mnt" || die "cannot unmount $mnt"
		done
	rm -rf --one-file-system "$dir"
}

# build_rootfs NAME SUITE KEY [DEBOOTSTRAP ARGS...] debootstraps SUITE into
# rootfs/NAME.
build_rootfs() {
	local name=$1 suite=$2 key=$3 root tmp
	shift 3
	root="$CACHE/rootfs/$name"
	fresh "$root.stamp" "$key" && return 0
	tmp="$root.tmp"
	remove_tree "$tmp"
	rm -f "$root.stamp"
	mkdir -p "$CACHE/debs"
	debootstrap --variant=minbase --cache-dir="$CACHE/debs" "$@" "$suite" "$tmp" "$MIRROR" \
		>"$CACHE/rootfs/$name.log" 2>&1 || {
		tail -n 30 "$CACHE/rootfs/$name.log" >&2
		die "debootstrap $name failed (log: $CACHE/rootfs/$name.log)"
	}
	rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*_*
	remove_tree "$root"
	mv "$tmp" "$root"
	printf '%s\n' "$key" >"$root.stamp"
}

# served SUITE succeeds when MIRROR has a Release or InRelease file for SUITE.
served() {
	local f
	for f in InRelease Release; do
		curl -fsI -o /dev/null --max-time 20 "$MIRROR/dists/$1/$f" && return 0
	done
	return 1
}

# rootfs_key SUITE prints the stamp key of a minbase rootfs of SUITE.
rootfs_key() {
	printf 'recipe=%s suite=%s mirror=%s variant=minbase' "$RECIPE" "$1" "$MIRROR"
}

# build_extra_suites builds rootfs/SUITE and layers/SUITE.tar for each of
# EXTRA_SUITES that is cached or served by the mirror, recording it in
# BUILT_SUITES, and skips the others with a warning.
build_extra_suites() {
	local s key
	for s in "${EXTRA_SUITES[@]}"; do
		key=$(rootfs_key "$s")
		if ! fresh "$CACHE/rootfs/$s.stamp" "$key" && ! served "$s"; then
			log "warning: $MIRROR does not serve $s (no dists/$s/InRelease or Release):" \
				"skipping rootfs/$s, oci:$s and test/debian:$s"
			continue
		fi
		timed "rootfs/$s" build_rootfs "$s" "$s" "$key"
		timed "layers/$s.tar" build_layer "$s" "$CACHE/rootfs/$s" \
			"$(stamp_id "$CACHE/rootfs/$s.stamp")"
		BUILT_SUITES+=("$s")
	done
}

# build_layer NAME DIR KEY writes layers/NAME.tar, a GNU tar of DIR.
build_layer() {
	local name=$1 dir=$2 key=$3 out
	out="$CACHE/layers/$name.tar"
	fresh "$out.stamp" "$key" && return 0
	mkdir -p "$CACHE/layers"
	rm -f "$out.stamp"
	tar --format=gnu --numeric-owner --xattrs -C "$dir" -cf "$out.tmp" .
	mv "$out.tmp" "$out"
	printf '%s\n' "$key" >"$out.stamp"
}

# stamp_id STAMP names one build of an artifact (its stamp and the stamp's
# mtime), so that what is built from it is rebuilt when it is.
stamp_id() {
	printf '%s@%s' "${1#"$CACHE"/}" "$(stat -c %Y "$1")"
}

# copy_meta SRC DST gives DST the owner and mode of SRC.
copy_meta() {
	chown --reference="$1" "$2"
	chmod --reference="$1" "$2"
}

# build_planted_layer KEY writes layers/planted.tar: the insecure changes on
# top of rootfs/bookworm-ssh.
build_planted_layer() {
	local key=$1 src="$CACHE/rootfs/bookworm-ssh" stage="$CACHE/staging/planted" out
	out="$CACHE/layers/planted.tar"
	fresh "$out.stamp" "$key" && return 0
	[[ -f $src/etc/ssh/sshd_config && -f $src/etc/shadow && -e $src/etc/motd ]] ||
		die "$src lacks etc/ssh/sshd_config, etc/shadow or etc/motd"
	rm -rf "$stage"
	mkdir -p "$stage/etc/ssh"
	copy_meta "$src/etc" "$stage/etc"
	copy_meta "$src/etc/ssh" "$stage/etc/ssh"

	# (a) sshd_config with "PermitRootLogin yes" as its first line.
	cp -a "$src/etc/ssh/sshd_config" "$stage/etc/ssh/sshd_config"
	{
		printf 'PermitRootLogin yes\n'
		cat "$src/etc/ssh/sshd_config"
	} >"$stage/etc/ssh/sshd_config"

	# (b) shadow with root's password field emptied.
	cp -a "$src/etc/shadow" "$stage/etc/shadow"
	awk -F: -v OFS=: '$1 == "root" { $2 = "" } { print }' "$src/etc/shadow" >"$stage/etc/shadow"
	grep -q '^root::' "$stage/etc/shadow" || die "planted shadow has no empty root password"

	# (c) /etc/motd deleted by a whiteout.
	: >"$stage/etc/.wh.motd"
	chmod 644 "$stage/etc/.wh.motd"

	mkdir -p "$CACHE/layers"
	rm -f "$out.stamp"
	tar --format=gnu --numeric-owner --xattrs -C "$stage" -cf "$out.tmp" etc
	mv "$out.tmp" "$out"
	printf '%s\n' "$key" >"$out.stamp"
}

# build_oci KEY writes the OCI layout oci/ with the three tags.
build_oci() {
	local key=$1 l="$CACHE/oci.tmp" layers="$CACHE/layers"
	fresh "$CACHE/oci.stamp" "$key" && return 0
	rm -rf "$l" "$CACHE/oci.stamp"
	umoci init --layout "$l"

	umoci new --image "$l:bookworm"
	umoci raw add-layer --image "$l:bookworm" "$layers/bookworm.tar" \
		--history.created_by debootstrap
	umoci config --image "$l:bookworm" --no-history \
		--config.user 1000:1000 --config.exposedports 8080/tcp

	umoci new --image "$l:planted"
	umoci raw add-layer --image "$l:planted" "$layers/bookworm-ssh.tar" \
		--history.created_by "debootstrap --include=openssh-server"
	umoci raw add-layer --image "$l:planted" "$layers/planted.tar" \
		--history.created_by "plant PermitRootLogin yes, an empty root password, rm /etc/motd"

	umoci new --image "$l:clean"
	umoci raw add-layer --image "$l:clean" "$layers/bookworm-ssh.tar" \
		--history.created_by "debootstrap --include=openssh-server"
	umoci config --image "$l:clean" --no-history --config.user 1000:1000

	local s
	for s in "${BUILT_SUITES[@]}"; do
		umoci new --image "$l:$s"
		umoci raw add-layer --image "$l:$s" "$layers/$s.tar" \
			--history.created_by "debootstrap $s"
		umoci config --image "$l:$s" --no-history --config.user 1000:1000
	done

	umoci gc --layout "$l"
	chmod -R a+rX "$l"
	# Swap by renames, so that readers of oci/ miss it only between the two.
	rm -rf "$CACHE/oci.old"
	[[ ! -e $CACHE/oci ]] || mv "$CACHE/oci" "$CACHE/oci.old"
	mv "$l" "$CACHE/oci"
	rm -rf "$CACHE/oci.old"
	printf '%s\n' "$key" >"$CACHE/oci.stamp"
}

# build_archive KEY writes bookworm.docker-archive.tar from oci:bookworm.
build_archive() {
	local key=$1 out="$CACHE/bookworm.docker-archive.tar" tmp="$CACHE/tmp/skopeo/out"
	fresh "$out.stamp" "$key" && return 0
	rm -rf "$tmp" "$out.stamp"
	mkdir -p "$tmp"
	((EUID != 0)) || chown nobody:nogroup "$tmp"
	skopeo_in "$CACHE/tmp/skopeo" copy -q "oci:$CACHE/oci:bookworm" \
		"docker-archive:$tmp/archive.tar:test/debian:bookworm"
	mv "$tmp/archive.tar" "$out"
	chown "$(id -u):$(id -g)" "$out"
	printf '%s\n' "$key" >"$out.stamp"
}

# push TAG NAME copies oci:TAG to REGISTRY/NAME.
push() {
	skopeo_in "$CACHE/tmp/skopeo" copy -q --dest-tls-verify=false \
		"oci:$CACHE/oci:$1" "docker://$REGISTRY/$2"
}

main() {
	local start base_key ssh_key oci_key r l s
	start=$(date +%s.%N)
	ensure_packages debootstrap umoci skopeo lz4 ca-certificates curl
	mkdir -p "$CACHE/rootfs" "$CACHE/tmp"
	CACHE=$(cd "$CACHE" && pwd)
	r="$CACHE/rootfs"
	l="$CACHE/layers"
	# Let nobody (skopeo_in) reach the cache.
	chmod a+rx "$CACHE"
	MIRROR=$(mirror)

	# One build at a time per cache: several suites may share it.
	exec 9>"$CACHE/.lock"
	if ! flock -n 9; then
		log "waiting for another build in $CACHE"
		flock 9
	fi

	base_key=$(rootfs_key "$SUITE")
	ssh_key="$base_key include=openssh-server"
	timed "rootfs/bookworm" build_rootfs bookworm "$SUITE" "$base_key"
	timed "rootfs/bookworm-ssh" build_rootfs bookworm-ssh "$SUITE" "$ssh_key" \
		--include=openssh-server

	timed "layers/bookworm.tar" build_layer bookworm "$r/bookworm" \
		"$(stamp_id "$r/bookworm.stamp")"
	timed "layers/bookworm-ssh.tar" build_layer bookworm-ssh "$r/bookworm-ssh" \
		"$(stamp_id "$r/bookworm-ssh.stamp")"
	timed "layers/planted.tar" build_planted_layer \
		"recipe=$RECIPE $(stamp_id "$r/bookworm-ssh.stamp")"

	build_extra_suites

	oci_key="recipe=$RECIPE $(stamp_id "$l/bookworm.tar.stamp")"
	oci_key+=" $(stamp_id "$l/bookworm-ssh.tar.stamp")"
	oci_key+=" $(stamp_id "$l/planted.tar.stamp")"
	for s in "${BUILT_SUITES[@]}"; do
		oci_key+=" $(stamp_id "$l/$s.tar.stamp")"
	done
	timed "oci layout" build_oci "$oci_key"
	timed "bookworm.docker-archive.tar" build_archive "$(stamp_id "$CACHE/oci.stamp")"

	if [[ -n $REGISTRY ]]; then
		timed "push $REGISTRY/test/debian:bookworm" push bookworm test/debian:bookworm
		for s in "${BUILT_SUITES[@]}"; do
			timed "push $REGISTRY/test/debian:$s" push "$s" "test/debian:$s"
		done
		timed "push $REGISTRY/test/debian-ssh:planted" push planted test/debian-ssh:planted
		timed "push $REGISTRY/test/debian-ssh:clean" push clean test/debian-ssh:clean
	else
		log "no registry given: not pushing"
	fi

	mkdir -p "$CACHE/notices"
	timed "notices/bookworm-security.dsa" \
		"$REPO_ROOT/scripts/derive-notices.sh" "$CACHE/notices/bookworm-security.dsa"
	log "test images ready in $CACHE: $(elapsed_since "$start")"
}

main
