#!/usr/bin/env bash
# measure-reindex.sh: `mdouyin reindex` throughput and index size (issue 5). It
# prints numbers; it asserts nothing about time.
#
#   bash scripts/measure-reindex.sh            # BENCH_COMMENTS=200000 by default
#
# It starts the one-process server once on a fresh data directory (to create the
# schemas), stops it, writes BENCH_COMMENTS comments straight into the comment
# role's SQLite file (scripts/measure-reindex.go), then times `mdouyin reindex`
# and reports comments per second and the index's size on disk.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${BENCH_COMMENTS:-200000}
PORT=${BENCH_PORT:-18193}
work=$(mktemp -d)
pid=""
# set +e: a server that already exited must not stop the clean-up before rm.
cleanup() { set +e; [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
for v in $(env | grep -o '^MDOUYIN_[A-Z_]*'); do unset "$v"; done
export MDOUYIN_DATA_DIR="$work/data" MDOUYIN_LOG_LEVEL=warn MDOUYIN_HTTP_ADDR="127.0.0.1:$PORT"

go build -o bin/mdouyin ./cmd/mdouyin
./bin/mdouyin >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 500); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.02; done
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""

go run scripts/measure-reindex.go -db "$work/data/db/comment.db" -n "$N"
start=$(date +%s.%N)
./bin/mdouyin reindex
end=$(date +%s.%N)
secs=$(echo "$end - $start" | bc -l)
printf 'reindex: %d comments in %.1f s = %.0f comments/s (machine load: %s)\n' "$N" "$secs" "$(echo "$N / $secs" | bc -l)" "$(cut -d' ' -f1-3 /proc/loadavg)"
du -sh "$work/data/search/comments.bleve" | awk '{print "index size on disk: " $1}'
