#!/usr/bin/env bash
# explain.sh (make explain): the query plans of the statements the server really
# sends under load, on MariaDB and on SQLite, written into docs/benchmarks.md
# between its explain markers. It prints plans; it asserts nothing.
#
#   make explain                 # plans into docs/benchmarks.md
#   EXPLAIN_OUT=- make explain   # plans on stdout
#
# What it does, on loopback only:
#   1. builds bin/mdouyin and seeds two alike datasets (SEED_FLAGS, --seed 1): a
#      SQLite data directory and a new MariaDB database;
#   2. turns on MariaDB's general log (into mysql.general_log; the previous
#      settings are restored at the end), starts the one-process server on the
#      MariaDB database and runs every scenario of the load tool but publish for
#      EXPLAIN_DURATION each, at 8 connections;
#   3. stops the server and writes the most executed statement shapes (literals
#      taken out) with MariaDB's EXPLAIN and SQLite's EXPLAIN QUERY PLAN of each
#      (scripts/explain.go), then drops the database.
# Settings: MDOUYIN_TEST_MYSQL_DSN (root@tcp(127.0.0.1:3306)/), SEED_FLAGS,
# EXPLAIN_DURATION (2s), EXPLAIN_TOP (40), EXPLAIN_OUT (docs/benchmarks.md; -).
# Needs go, ffmpeg, curl and a MariaDB account allowed SET GLOBAL.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
DSN=${MDOUYIN_TEST_MYSQL_DSN:-root@tcp(127.0.0.1:3306)/}
SEED_FLAGS=${SEED_FLAGS:---users 2000 --follows 20000 --videos 2000 --likes 20000 --messages 2000 --comments 20000 --comment-likes 20000 --big-authors 2 --big-followers 1000000 --seed 1}
DURATION=${EXPLAIN_DURATION:-2s}
TOP=${EXPLAIN_TOP:-40}
OUT=${EXPLAIN_OUT:-docs/benchmarks.md}

log() { printf '[explain] %s\n' "$*" >&2; }
die() {
	log "$*"
	exit 1
}
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

work=$(mktemp -d)
name=mdouyin_explain_$(date +%s)_$$
server_pid="" started=""
explain() { "$GO" run scripts/explain.go -dsn "$DSN" -state "$work/log-state.json" "$@"; }
cleanup() {
	local status=$?
	trap - EXIT INT TERM
	stop_server
	# report restores the log settings; after a failure before it, do it here.
	[[ -z $started || ! -f $work/log-state.json ]] || explain -db "$name" report >/dev/null 2>&1 || true
	explain drop "$name" >/dev/null 2>&1 || true
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT INT TERM

log "building bin/mdouyin"
"$GO" build -o bin/mdouyin ./cmd/mdouyin
seed() {
	env -i PATH="$PATH" HOME="$HOME" "$@" ./bin/mdouyin seed $SEED_FLAGS >"$work/seed.out" 2>"$work/seed.err" ||
		{
			tail -n 20 "$work/seed.err" >&2
			die "mdouyin seed failed"
		}
}
log "seeding SQLite and MariaDB database $name: $SEED_FLAGS"
seed MDOUYIN_DATA_DIR="$work/sqlite"
seed MDOUYIN_DATA_DIR="$work/mysql" MDOUYIN_DB_DRIVER=mysql MDOUYIN_DB_DSN="$DSN$name"

explain start
started=1
start_server "$work/server.log" MDOUYIN_DATA_DIR="$work/mysql" MDOUYIN_DB_DRIVER=mysql MDOUYIN_DB_DSN="$DSN$name"
scenarios=feed_guest,feed_user,user_info,comment_list_hot,comment_list_cold,chat_poll,like,comment_post,follow,chat_send
log "load: $scenarios for $DURATION each"
./bin/mdouyin bench --url "$server_url" --scenario "$scenarios" --duration "$DURATION" --warmup 0s \
	--connections 8 --seeded-users 16 >"$work/bench.txt" 2>"$work/bench.log" || {
	tail -n 20 "$work/bench.log" >&2
	die "the load tool failed"
}
stop_server

explain -db "$name" -sqlite "$work/sqlite/db" -top "$TOP" report >"$work/plans.md"
started=""
{
	echo "Written $(date -u '+%Y-%m-%d %H:%M UTC') at $(git rev-parse --short HEAD 2>/dev/null || echo unknown) by \`make explain\`:"
	echo "the statements the one-process server sent MariaDB under every scenario but publish ($DURATION"
	echo "each, 8 connections) on \`mdouyin seed $SEED_FLAGS\`, with the plan of each on MariaDB"
	echo "and, for the same statement, on SQLite seeded alike."
	echo
	cat "$work/plans.md"
} >"$work/section.md"

write_section "$OUT" '<!-- explain:begin (written by make explain: scripts/explain.sh) -->' '<!-- explain:end -->' "$work/section.md"
