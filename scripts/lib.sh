# shellcheck shell=bash
# lib.sh holds what the crawlspace scripts share: logging and timing,
# installing the Debian packages and Go tools that are missing, starting
# PostgreSQL, NATS JetStream and an OCI registry on local ports, running
# skopeo without it writing outside a given directory, and stopping on exit
# everything the calling script started (and nothing else).
#
# Source it from a script that runs with `set -euo pipefail`:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# REPO_ROOT is the root of the crawlspace checkout.
# shellcheck disable=SC2034 # used by the scripts that source this file
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# PG_BIN holds the PostgreSQL server binaries (initdb, pg_ctl).
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# DEBIAN_PACKAGES are the Debian packages the scripts rely on.
DEBIAN_PACKAGES=(iproute2 postgresql nats-server debootstrap umoci skopeo docker-registry
	rpm jq lz4 ca-certificates curl)

# Go tools, pinned: name, package and version.
BUF_PKG=github.com/bufbuild/buf/cmd/buf
BUF_VERSION=v1.75.0
PROTOC_GEN_GO_PKG=google.golang.org/protobuf/cmd/protoc-gen-go
PROTOC_GEN_GO_VERSION=v1.36.12
NATS_SERVER_PKG=github.com/nats-io/nats-server/v2
NATS_SERVER_VERSION=v2.15.3

# Ports the development services on this kind of machine already use;
# free_port never hands them out.
RESERVED_PORTS=" 4222 4333 5000 5001 5432 55432 55433 "

log() {
	printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

die() {
	log "error: $*"
	exit 1
}

# elapsed_since START prints the seconds since START (from `date +%s.%N`).
elapsed_since() {
	local now
	now=$(date +%s.%N)
	awk -v a="$1" -v b="$now" 'BEGIN { printf "%.1fs", b - a }'
}

# timed LABEL CMD... runs CMD and logs how long it took. It is not run as a
# condition, so `set -e` still applies inside CMD: a failure ends the script.
# Do not write `timed ... || ...` (that would switch `set -e` off inside CMD).
timed() {
	local label=$1 start
	shift
	start=$(date +%s.%N)
	"$@"
	log "$label: $(elapsed_since "$start")"
}

# --- cleanup ----------------------------------------------------------------

CLEANUP=()

# on_exit CMD... registers CMD to run when the script exits; commands run in
# reverse order of registration.
on_exit() {
	CLEANUP+=("$(printf '%q ' "$@")")
}

run_cleanup() {
	local rc=$? i
	trap - EXIT
	for ((i = ${#CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${CLEANUP[i]}" || true
	done
	exit "$rc"
}

trap run_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# stop_pid PID NAME stops a process this script started: TERM, then KILL
# after 10 s.
stop_pid() {
	local pid=$1 name=$2 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$name (pid $pid) did not stop, killing it"
		kill -9 "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	log "stopped $name"
}

# --- installing -------------------------------------------------------------

APT_UPDATED=

# ensure_packages [PKG...] installs the Debian packages (by default
# DEBIAN_PACKAGES) that dpkg does not report as installed.
ensure_packages() {
	local p missing=() policy=/usr/sbin/policy-rc.d
	(($#)) || set -- "${DEBIAN_PACKAGES[@]}"
	for p in "$@"; do
		if [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) != installed ]]; then
			missing+=("$p")
		fi
	done
	((${#missing[@]})) || return 0
	((EUID == 0)) || die "missing Debian packages (${missing[*]}); run as root to install them"
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if [[ -z $APT_UPDATED ]]; then
		apt-get update -q
		APT_UPDATED=1
	fi
	# The packages' own services (a PostgreSQL cluster on 5432, a registry on
	# 5000) are not needed: the scripts start their own instances. Keep
	# invoke-rc.d from starting them unless the machine already has a policy.
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		on_exit rm -f "$policy"
	fi
	apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# gobin prints the directory `go install` writes to.
gobin() {
	local dir
	dir=$(go env GOBIN)
	[[ -n $dir ]] || dir="$(go env GOPATH)/bin"
	printf '%s\n' "$dir"
}

# ensure_go_tool NAME PKG VERSION runs `go install PKG@VERSION` unless the
# binary NAME in gobin already records that version.
ensure_go_tool() {
	local name=$1 pkg=$2 version=$3 dir have
	dir=$(gobin)
	if [[ -x $dir/$name ]]; then
		have=$(go version -m "$dir/$name" 2>/dev/null | awk '$1 == "mod" { print $3; exit }')
		[[ $have == "$version" ]] && return 0
	fi
	log "installing $name $version"
	timed "go install $pkg@$version" env GOBIN="$dir" CGO_ENABLED=0 \
		go install "$pkg@$version"
}

# ensure_go_tools installs buf, protoc-gen-go and nats-server at their pinned
# versions.
ensure_go_tools() {
	command -v go >/dev/null || die "go is not on PATH"
	ensure_go_tool buf "$BUF_PKG" "$BUF_VERSION"
	ensure_go_tool protoc-gen-go "$PROTOC_GEN_GO_PKG" "$PROTOC_GEN_GO_VERSION"
	ensure_go_tool nats-server "$NATS_SERVER_PKG" "$NATS_SERVER_VERSION"
}

# --- ports ------------------------------------------------------------------

# port_in_use PORT succeeds when a socket uses PORT on this machine.
port_in_use() {
	# Any socket on the port counts, not only a listener: a connection the
	# kernel still holds (or TIME-WAIT) can make a server's bind fail.
	[[ -n $(ss -Htan "( sport = :$1 )" 2>/dev/null) ]] ||
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# free_port prints a TCP port on 127.0.0.1 that no socket uses, below the
# kernel's ephemeral range, so that no outgoing connection takes it
# between the check and the bind. Start the service on it before asking for
# the next one.
free_port() {
	local port i low=32768
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
	((low > 11000)) || low=32768
	for ((i = 0; i < 200; i++)); do
		port=$((10000 + RANDOM % (low - 10000)))
		[[ $RESERVED_PORTS == *" $port "* ]] && continue
		port_in_use "$port" || {
			printf '%s\n' "$port"
			return 0
		}
	done
	die "no free port found"
}

# wait_for SECONDS CMD... retries CMD every 0.1 s until it succeeds; it
# fails after SECONDS.
wait_for() {
	local limit=$1 i
	shift
	for ((i = 0; i < limit * 10; i++)); do
		"$@" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# --- PostgreSQL -------------------------------------------------------------

# as_postgres CMD... runs CMD as the postgres user when running as root
# (initdb refuses root).
as_postgres() {
	if ((EUID == 0)); then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# start_postgres DIR PORT [persist] starts a PostgreSQL server with its data
# and socket in DIR (created with initdb if empty), listening on
# 127.0.0.1:PORT. Without "persist" the server is a throwaway: fsync is off
# and it is stopped when the script exits. With "persist", a server already
# running from DIR is reused, and the server is left running.
start_postgres() {
	local dir=$1 port=$2 mode=${3:-} opts
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	if ((EUID == 0)); then
		chown postgres: "$dir"
		chmod 700 "$dir"
		runuser -u postgres -- test -x "$dir" ||
			die "the postgres user cannot reach $dir: make its parent directories world-searchable"
	fi
	if [[ $mode == persist ]] && as_postgres "$PG_BIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
		log "reusing the PostgreSQL server running from $dir"
		return 0
	fi
	if [[ ! -f $dir/PG_VERSION ]]; then
		as_postgres "$PG_BIN/initdb" -D "$dir" -A trust -U postgres --no-locale -N \
			>"$dir.initdb.log" 2>&1 || {
			cat "$dir.initdb.log" >&2
			die "initdb $dir failed"
		}
		rm -f "$dir.initdb.log"
	fi
	opts="-p $port -k $dir -c listen_addresses=127.0.0.1"
	[[ $mode == persist ]] || opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	as_postgres "$PG_BIN/pg_ctl" -D "$dir" -w -t 60 -l "$dir/postgres.log" -o "$opts" start \
		>/dev/null || {
		tail -n 20 "$dir/postgres.log" >&2 || true
		die "PostgreSQL did not start from $dir on port $port"
	}
	[[ $mode == persist ]] || on_exit stop_postgres "$dir"
	log "PostgreSQL on 127.0.0.1:$port (data $dir)"
}

# stop_postgres DIR stops the server running from DIR.
stop_postgres() {
	as_postgres "$PG_BIN/pg_ctl" -D "$1" -m fast -w stop >/dev/null 2>&1 || true
	log "stopped PostgreSQL ($1)"
}

# pg_url PORT prints the libpq URL of the postgres database on PORT.
pg_url() {
	printf 'postgres://postgres@127.0.0.1:%s/postgres?sslmode=disable\n' "$1"
}

# --- NATS -------------------------------------------------------------------

# nats_answers PORT succeeds when a NATS server with JetStream greets on PORT.
nats_answers() {
	local line
	exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
	IFS= read -r -t 2 line <&3 || line=
	exec 3<&- 3>&-
	[[ $line == INFO* && $line == *'"jetstream":true'* ]]
}

# start_nats DIR PORT starts the pinned nats-server (from gobin) with
# JetStream, its store in DIR, on 127.0.0.1:PORT, and stops it on exit.
start_nats() {
	local dir=$1 port=$2 bin pid
	bin="$(gobin)/nats-server"
	[[ -x $bin ]] || die "$bin is missing (ensure_go_tools installs it)"
	mkdir -p "$dir"
	"$bin" -js -sd "$dir" -a 127.0.0.1 -p "$port" >"$dir/nats-server.log" 2>&1 &
	pid=$!
	on_exit stop_pid "$pid" nats-server
	wait_for 30 nats_answers "$port" || {
		tail -n 20 "$dir/nats-server.log" >&2
		die "nats-server did not answer on port $port within 30s"
	}
	log "NATS JetStream on 127.0.0.1:$port (store $dir)"
}

# --- registry ---------------------------------------------------------------

# registry_answers ADDR succeeds when an OCI registry answers /v2/ on ADDR.
registry_answers() {
	curl -fs -o /dev/null --max-time 2 "http://$1/v2/"
}

# start_registry DIR ADDR starts the distribution registry (Debian's
# docker-registry) with filesystem storage under DIR, listening on ADDR
# (host:port), and stops it on exit.
start_registry() {
	local dir=$1 addr=$2 pid
	mkdir -p "$dir/storage"
	dir=$(cd "$dir" && pwd)
	cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: $addr
EOF
	docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
	pid=$!
	on_exit stop_pid "$pid" "registry $addr"
	wait_for 30 registry_answers "$addr" || {
		tail -n 20 "$dir/registry.log" >&2
		die "the registry did not answer on $addr within 30s"
	}
	log "registry on $addr (storage $dir/storage)"
}

# --- skopeo -----------------------------------------------------------------

# skopeo_in DIR ARGS... runs skopeo with everything it would write or read
# outside its arguments (blob-info cache, auth files, Docker config, temporary
# files, trust policy) kept under DIR. Run as root, skopeo 1.9 always puts its
# blob-info cache in /var/lib/containers/cache, so as root it runs as nobody,
# whose cache follows XDG_DATA_HOME; it must then be able to read its sources
# and write its destinations. When nobody cannot reach DIR (a parent
# directory is private), skopeo runs as root with a warning.
skopeo_in() {
	local dir=$1 home
	shift
	home="$dir/home"
	mkdir -p "$home/data" "$home/run" "$home/docker" "$home/tmp"
	[[ -f $home/policy.json ]] ||
		printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' >"$home/policy.json"
	[[ -f $home/auth.json ]] || printf '{}\n' >"$home/auth.json"
	local env=(env HOME="$home" XDG_DATA_HOME="$home/data" XDG_RUNTIME_DIR="$home/run"
		DOCKER_CONFIG="$home/docker" REGISTRY_AUTH_FILE="$home/auth.json" TMPDIR="$home/tmp")
	if ((EUID == 0)); then
		chown -R nobody:nogroup "$home"
		local as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
		if "${as_nobody[@]}" test -w "$home"; then
			env=("${as_nobody[@]}" "${env[@]}")
		else
			log "warning: nobody cannot reach $home; running skopeo as root" \
				"(its blob-info cache goes to /var/lib/containers/cache)"
		fi
	fi
	"${env[@]}" skopeo --policy "$home/policy.json" --tmpdir "$home/tmp" "$@"
}
