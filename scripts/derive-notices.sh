#!/usr/bin/env bash
# derive-notices.sh OUT writes to OUT a notice list in the Debian security
# tracker's DSA-list format, derived from the machine's own bookworm-security
# archive index (/var/lib/apt/lists/*bookworm-security*_Packages*).
#
# This input is DERIVED, NOT A REAL DSA: the real DSA list in the fixtures
# predates bookworm, so for bookworm test images the "notices" are the source
# versions the security archive ships, read as "fixed in". Each distinct
# (source package, source version) becomes one record:
#   [DD Mon YYYY] DSA-9NNNNN-1 SRC - derived from the bookworm-security archive index
#   <TAB>[bookworm] - SRC VERSION
# dated today, with ids numbered from 900001 in order of source name (then
# version), so the ids are stable for a given index.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OUT=${1:?usage: derive-notices.sh OUT}
LISTS=${APT_LISTS_DIR:-/var/lib/apt/lists}

# cat_index FILE prints an apt list decompressed.
cat_index() {
	if [[ -x /usr/lib/apt/apt-helper ]]; then
		/usr/lib/apt/apt-helper cat-file "$1"
	else
		case $1 in
		*.lz4) lz4 -dc "$1" ;;
		*.gz) gzip -dc "$1" ;;
		*.xz) xz -dc "$1" ;;
		*) cat "$1" ;;
		esac
	fi
}

main() {
	local indexes=() f today tmp
	shopt -s nullglob
	indexes=("$LISTS"/*bookworm-security*_Packages*)
	shopt -u nullglob
	((${#indexes[@]})) ||
		die "no bookworm-security index in $LISTS (*bookworm-security*_Packages*):" \
			"add bookworm-security to apt's sources and run apt-get update"

	today=$(LC_ALL=C date '+%d %b %Y')
	mkdir -p "$(dirname "$OUT")"
	tmp="$OUT.tmp.$$"
	on_exit rm -f "$tmp"
	for f in "${indexes[@]}"; do
		cat_index "$f"
		echo
	done | awk '
		function flush() {
			if (pkg != "") {
				if (src == "") src = pkg
				if (srcver == "") srcver = ver
				print src "\t" srcver
			}
			pkg = src = srcver = ver = ""
		}
		/^$/ { flush(); next }
		/^Package:/ { pkg = $2 }
		/^Version:/ { ver = $2 }
		/^Source:/ {
			src = $2
			if ($3 ~ /^\(.*\)$/) srcver = substr($3, 2, length($3) - 2)
		}
		END { flush() }
	' | LC_ALL=C sort -u -t "$(printf '\t')" -k1,1 -k2,2 |
		awk -F '\t' -v today="$today" '{
			printf "[%s] DSA-%d-1 %s - derived from the bookworm-security archive index\n",
				today, 900000 + NR, $1
			printf "\t[bookworm] - %s %s\n", $1, $2
		}' >"$tmp"
	[[ -s $tmp ]] || die "no packages found in ${indexes[*]}"
	mv "$tmp" "$OUT"
	log "wrote $(grep -c '^\[' "$OUT") derived records to $OUT"
}

main
