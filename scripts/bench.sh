#!/usr/bin/env bash
# bench.sh (make bench): every scenario of the load tool, in both placements, on a
# seeded dataset, written as the markdown table docs/benchmarks.md shows. It prints
# numbers; it asserts nothing about time.
#
#   make bench                        # table into docs/benchmarks.md (between its bench-table markers)
#   BENCH_OUT=- make bench            # table on stdout
#
# What it does, on loopback only:
#   1. builds bin/mdouyin;
#   2. one process: seeds a new temporary data directory (`mdouyin seed`: SQLite),
#      starts `bin/mdouyin` on it on a free port (rate limits off, log level warn),
#      runs `mdouyin bench --compare-ceiling --scenario $BENCH_SCENARIOS` (the
#      bare-Hertz ceiling first, then every scenario, ratios to that ceiling) with
#      JSON output, then feed_user in open loop at BENCH_FEED_RATE, then
#      publish alone at BENCH_PUBLISH_CONNECTIONS (uploads that
#      each cost the server an ffmpeg decode would queue for tens of seconds at 64,
#      and their backlog would slow whatever ran next), and stops the server;
#   3. cluster: seeds a new database on the MariaDB the cluster reuses (`mdouyin
#      seed` with MDOUYIN_DB_DRIVER=mysql, before any role starts), starts
#      `deploy/cluster.sh up` on it with a run directory of its own and its own
#      NATS and Redis (as `make test-cluster` does: no other server's consumers or
#      keys), rate limits off, runs the same two against the first gateway, and
#      stops the cluster and drops its database;
#   4. writes the header (machine, dataset, load) and the table
#      (scripts/bench-table.go) into $BENCH_OUT between its bench-table markers.
# The server CPU per request of the cluster is the gateway process's alone: the
# load tool samples the process that listens on the URL's port. deploy/cluster.sh
# shares about 120 MySQL connections among the roles' processes
# (MDOUYIN_DB_MAX_OPEN_CONNS), so a stock MariaDB (max_connections 151) holds them.
#
# Settings (environment), with the default (a modest dataset: the whole run takes
# about ten minutes on a busy 2-core machine, most of it filling the cluster's feed
# inboxes in MariaDB) and the reference size of issue 7:
#   BENCH_USERS (5000; 1000000)    BENCH_FOLLOWS (50000; 10000000)
#   BENCH_VIDEOS (5000; 1000000)   BENCH_LIKES (50000; 10000000)
#   BENCH_MESSAGES (5000; 1000000)
#   BENCH_COMMENTS (50000; 10000000)  BENCH_COMMENT_LIKES (50000; 10000000)
#   BENCH_BIG_AUTHORS (2; 5)       BENCH_BIG_FOLLOWERS (1000000: every other user)
#   SEED_FLAGS                     replaces all the seed flags above
#   BENCH_SCENARIOS (every scenario but publish: reads first, then writes, then the mix)
#   BENCH_PUBLISH_CONNECTIONS (4; 0 leaves the publish run out)
#   BENCH_DURATION (5s; 15s for figures worth keeping)  BENCH_WARMUP (1s; 2s)
#   BENCH_CONNECTIONS (64)         BENCH_SEEDED_USERS (64: seeded accounts logged in,
#                                  seeded as readers: --readers, following BENCH_READER_FOLLOWS
#                                  (200) users each, every big author among them)
#   BENCH_FEED_RATE (1000; 0 leaves it out): feed_user again, open loop at this rate
#                                  (issue 7's goal: p99 at 1,000 req/s)
#   BENCH_PLACEMENTS (one,cluster) BENCH_CLUSTER_REPLICAS (1 process per role)
#   BENCH_OUT (docs/benchmarks.md; - for stdout)   KEEP_DATA=1 keeps the work directory
#   MDOUYIN_CLUSTER_MYSQL_DSN or MDOUYIN_TEST_MYSQL_DSN: the MariaDB server the cluster
#   reuses (default root@tcp(127.0.0.1:3306)/). Every other MDOUYIN_* variable is
#   cleared, so both placements run on their defaults.
# Needs go, ffmpeg, curl, and for the cluster what deploy/cluster.sh needs (MariaDB,
# redis-server; it builds etcd, NATS and versitygw).
set -euo pipefail
cd "$(dirname "$0")/.."

USERS=${BENCH_USERS:-5000}
FOLLOWS=${BENCH_FOLLOWS:-50000}
VIDEOS=${BENCH_VIDEOS:-5000}
LIKES=${BENCH_LIKES:-50000}
MESSAGES=${BENCH_MESSAGES:-5000}
COMMENTS=${BENCH_COMMENTS:-50000}
COMMENT_LIKES=${BENCH_COMMENT_LIKES:-50000}
BIG_AUTHORS=${BENCH_BIG_AUTHORS:-2}
BIG_FOLLOWERS=${BENCH_BIG_FOLLOWERS:-1000000}
SEEDED_USERS=${BENCH_SEEDED_USERS:-64}
READER_FOLLOWS=${BENCH_READER_FOLLOWS:-200}
SEED_FLAGS=${SEED_FLAGS:---users $USERS --follows $FOLLOWS --videos $VIDEOS --likes $LIKES --messages $MESSAGES --comments $COMMENTS --comment-likes $COMMENT_LIKES --big-authors $BIG_AUTHORS --big-followers $BIG_FOLLOWERS --readers $SEEDED_USERS --reader-follows $READER_FOLLOWS}
SCENARIOS=${BENCH_SCENARIOS:-feed_guest,feed_user,user_info,comment_list_hot,comment_list_hot_guest,comment_list_cold,chat_poll,like,like_hot,comment_post,follow,chat_send,mix}
PUBLISH_CONNECTIONS=${BENCH_PUBLISH_CONNECTIONS:-4}
DURATION=${BENCH_DURATION:-5s}
WARMUP=${BENCH_WARMUP:-1s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
FEED_RATE=${BENCH_FEED_RATE:-1000}
PLACEMENTS=${BENCH_PLACEMENTS:-one,cluster}
REPLICAS=${BENCH_CLUSTER_REPLICAS:-1}
OUT=${BENCH_OUT:-docs/benchmarks.md}
MYSQL_DSN=${MDOUYIN_CLUSTER_MYSQL_DSN:-${MDOUYIN_TEST_MYSQL_DSN:-root@tcp(127.0.0.1:3306)/}}
GO=${GO:-go}

for v in $(compgen -e | grep '^MDOUYIN_' || true); do unset "$v"; done
log() { printf '[bench] %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
for tool in "$GO" ffmpeg curl; do
	command -v "$tool" >/dev/null || die "$tool is required"
done
[[ $MYSQL_DSN == */ ]] || die "the MySQL DSN $MYSQL_DSN must name no database (end in /)"
# The load tool's flags, the same for both placements: the scenarios with the
# ceiling, and publish alone.
scenario_args=(--compare-ceiling --scenario "$SCENARIOS" --connections "$CONNECTIONS")
publish_args=(--scenario publish --connections "$PUBLISH_CONNECTIONS")
open_args=(--scenario feed_user --rate "$FEED_RATE/s" --connections 512)
common_args=(--duration "$DURATION" --warmup "$WARMUP" --seeded-users "$SEEDED_USERS")

work=$(mktemp -d "${TMPDIR:-/tmp}/mdouyin-bench.XXXXXX")
server_pid="" cluster_db=""
cleanup() {
	local status=$?
	trap - EXIT INT TERM
	stop_server
	# Stops only what up started; the run directory (its logs) goes with $work.
	[[ ! -d $work/cluster ]] || MDOUYIN_CLUSTER_DIR=$work/cluster deploy/cluster.sh down 2>>"$work/cluster-up.log" || true
	[[ -z $cluster_db ]] || sql "DROP DATABASE IF EXISTS \`$cluster_db\`" >/dev/null || true
	if [[ ${KEEP_DATA:-} == 1 || $status != 0 ]]; then
		log "work directory kept: $work (logs, JSON reports)"
	else
		rm -rf "$work"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# sql STATEMENT runs STATEMENT on the cluster's MySQL server with the DSN's
# credentials (the password through the environment) and prints the result
# without headers; it fails without a client.
sql() {
	local client re='^([^:@]*)(:([^@]*))?@tcp\(([^:)]+):([0-9]+)\)/$'
	client=$(command -v mariadb || command -v mysql) || return 1
	[[ $MYSQL_DSN =~ $re ]] || return 1
	MYSQL_PWD=${BASH_REMATCH[3]} "$client" --no-defaults --protocol=tcp -h"${BASH_REMATCH[4]}" -P"${BASH_REMATCH[5]}" \
		-u"${BASH_REMATCH[1]}" --connect-timeout=5 -N -B -e "$1" 2>/dev/null
}

# seed NAME VAR=VALUE...: mdouyin seed with SEED_FLAGS and those settings only.
seed() {
	local name=$1 t0=$SECONDS
	shift
	log "$name: mdouyin seed $SEED_FLAGS"
	# shellcheck disable=SC2086 # SEED_FLAGS is a list of flags
	env -i PATH="$PATH" HOME="$HOME" "$@" ./bin/mdouyin seed $SEED_FLAGS >"$work/$name-seed.out" 2>"$work/$name-seed.err" ||
		{
			tail -n 20 "$work/$name-seed.err" >&2
			die "$name: seeding failed"
		}
	sed 's/^/  /' "$work/$name-seed.out" >&2
	log "$name: seeded in $((SECONDS - t0))s"
}

# bench NAME URL: the load tool against URL: the scenarios into NAME.json, publish
# into NAME-publish.json; prints the JSON files, comma-separated.
bench() {
	local name=$1 url=$2 files=$work/$1.json
	run_tool "$name" "$url" "${scenario_args[@]}"
	if ((FEED_RATE > 0)); then
		run_tool "$name-open" "$url" "${open_args[@]}"
		files+=,$work/$name-open.json
	fi
	if ((PUBLISH_CONNECTIONS > 0)); then
		run_tool "$name-publish" "$url" "${publish_args[@]}"
		files+=,$work/$name-publish.json
	fi
	echo "$files"
}

# run_tool NAME URL FLAGS...: one invocation of the load tool, JSON into NAME.json.
run_tool() {
	local name=$1 url=$2
	shift 2
	log "$name: mdouyin bench $* ${common_args[*]} --url $url"
	./bin/mdouyin bench "$@" "${common_args[@]}" --url "$url" --json "$work/$name.json" >"$work/$name.txt" 2>"$work/$name.log" ||
		{
			tail -n 20 "$work/$name.log" >&2
			die "$name: the load tool failed"
		}
	cat "$work/$name.txt" >&2
}

log "building bin/mdouyin"
"$GO" build -o bin/mdouyin ./cmd/mdouyin
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
table_args=()

if [[ ,$PLACEMENTS, == *,one,* ]]; then
	seed one MDOUYIN_DATA_DIR="$work/one"
	start_server "$work/one-server.log" MDOUYIN_DATA_DIR="$work/one"
	files=$(bench one "$server_url")
	stop_server
	table_args+=(-placement "one process=$files")
fi

if [[ ,$PLACEMENTS, == *,cluster,* ]]; then
	cluster_db=mdouyin_bench_$(date +%s)_$$
	seed cluster MDOUYIN_DATA_DIR="$work/cluster-seed" MDOUYIN_DB_DRIVER=mysql MDOUYIN_DB_DSN="$MYSQL_DSN$cluster_db"
	log "cluster: deploy/cluster.sh up ($REPLICAS process(es) per role) on database $cluster_db"
	url=$(MDOUYIN_CLUSTER_DIR="$work/cluster" MDOUYIN_CLUSTER_DB_NAME="$cluster_db" MDOUYIN_CLUSTER_MYSQL_DSN="$MYSQL_DSN" \
		MDOUYIN_CLUSTER_NATS_URL=own MDOUYIN_CLUSTER_REDIS_ADDR=own MDOUYIN_CLUSTER_REPLICAS="$REPLICAS" \
		MDOUYIN_RATE_LIMITS=off MDOUYIN_LOG_LEVEL=warn GO="$GO" deploy/cluster.sh up 2>"$work/cluster-up.log" | tail -n1) ||
		{
			tail -n 30 "$work/cluster-up.log" >&2
			die "cluster: deploy/cluster.sh up failed"
		}
	[[ $url == http://* ]] || {
		tail -n 30 "$work/cluster-up.log" >&2
		die "cluster: deploy/cluster.sh up printed no URL"
	}
	files=$(bench cluster "$url")
	log "cluster: stopping it"
	MDOUYIN_CLUSTER_DIR=$work/cluster deploy/cluster.sh down 2>>"$work/cluster-up.log"
	table_args+=(-placement "cluster=$files"
		-note "cluster=every role a process of its own ($REPLICAS per role) over MariaDB, Redis, NATS JetStream, etcd and versitygw; server CPU is the gateway process's alone.")
fi
((${#table_args[@]})) || die "BENCH_PLACEMENTS=$PLACEMENTS names neither one nor cluster"

rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git status --porcelain 2>/dev/null) ]] || rev+=" with local changes"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
{
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') at $rev on $(nproc) CPUs (${cpu:-unknown model}), load average"
	echo "$load_before before and $(cut -d' ' -f1-3 /proc/loadavg) after; the load tool runs on the same machine."
	echo "Dataset: \`mdouyin seed $SEED_FLAGS\`, the same in both placements (SQLite for one"
	echo "process, MariaDB for the cluster). Load: closed loop, $CONNECTIONS connections (publish: $PUBLISH_CONNECTIONS; feed_user"
	echo "also in open loop at $FEED_RATE/s), $DURATION per scenario after $WARMUP of warm-up, $SEEDED_USERS seeded accounts, each"
	echo "following $READER_FOLLOWS users including every big author; rate limits off, log level warn."
	echo
} >"$work/header.md"
"$GO" run scripts/bench-table.go -header "$work/header.md" "${table_args[@]}" -o "$work/table.md"
write_section "$OUT" '<!-- bench-table:begin (written by make bench: scripts/bench.sh) -->' '<!-- bench-table:end -->' "$work/table.md"
