#!/usr/bin/env bash
# measure-publish.sh: publish latency in pull and push mode, publish-to-inbox
# latency, and feed throughput, on the one-process server over a seeded dataset
# (issue 3). It prints numbers; it asserts nothing about time.
#
#   bash scripts/measure-publish.sh          # from the repository root
#
# What it does, all on loopback:
#   1. builds bin/mdouyin and renders a 1 s 320x240 H.264/AAC clip with ffmpeg;
#   2. seeds a fresh temporary data dir with `mdouyin seed`: by default 1,050,000
#      users, three authors with exactly 1,000,000 (pull mode), 10,000 (push mode:
#      the default pull threshold pulls only authors with more) and 10 followers,
#      a power-law graph of 1,000,000 more follows, 20,000 videos over 3 months
#      and 200,000 likes, and the feed inboxes;
#   3. starts the server on that data dir (rate limits off, log level warn);
#   4. runs scripts/measure-publish.go: logs in as the three authors, publishes
#      BENCH_N videos each (pull and 10-follower authors interleaved) and times
#      every publish; for the push author it polls the following feed of
#      BENCH_SAMPLE followers spread over its follower list until each video shows;
#   5. runs wrk with 64 connections for BENCH_DURATION against the guest feed and
#      the logged-in feed of one sampled follower (a follower of all three authors
#      or most of them: own videos, a full inbox and the pulled 1M-follower author),
#      counting non-success answers;
#   6. prints the server's RSS. The data dir and the server go away on exit
#      (KEEP_DATA=1 keeps the data dir and prints where).
#
# Settings (environment): BENCH_PORT (18192), BENCH_N (20), BENCH_SAMPLE (10),
# BENCH_POLL (20ms), BENCH_DURATION (15s), SEED_FLAGS (all but --author-followers),
# BENCH_AUTHORS (the three authors' followers, 1000000,10000,10: pull, push, few). Needs go, ffmpeg, curl, wrk
# (apt-get install wrk). Every MDOUYIN_* variable of the caller is cleared, so the
# server runs on SQLite, embedded NATS and the in-process cache; MDOUYIN_FEED_*
# may be passed as FEED_PULL_THRESHOLD / FEED_INBOX_SIZE and go to seed and server
# alike.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${BENCH_PORT:-18192}
N=${BENCH_N:-20}
SAMPLE=${BENCH_SAMPLE:-10}
POLL=${BENCH_POLL:-20ms}
DURATION=${BENCH_DURATION:-15s}
AUTHORS=${BENCH_AUTHORS:-1000000,10000,10} # followers of the pull, push and few authors
SEED_FLAGS=${SEED_FLAGS:---users 1050000 --follows 2010010 --videos 20000 --likes 200000 --messages 0 --big-authors 0 --months 3}
SEED_FLAGS="$SEED_FLAGS --author-followers $AUTHORS"
BASE="http://127.0.0.1:$PORT"

for v in $(compgen -e | grep '^MDOUYIN_' || true); do unset "$v"; done
feed_env=()
[[ -n ${FEED_PULL_THRESHOLD:-} ]] && feed_env+=("MDOUYIN_FEED_PULL_THRESHOLD=$FEED_PULL_THRESHOLD")
[[ -n ${FEED_INBOX_SIZE:-} ]] && feed_env+=("MDOUYIN_FEED_INBOX_SIZE=$FEED_INBOX_SIZE")

for tool in go ffmpeg curl wrk; do
	command -v "$tool" >/dev/null || { echo "measure-publish: $tool is required" >&2; exit 1; }
done
if curl -s -o /dev/null --max-time 1 "$BASE/healthz"; then
	echo "measure-publish: something already answers on 127.0.0.1:$PORT (set BENCH_PORT)" >&2
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mdouyin-publish.XXXXXX")
pid=""
cleanup() {
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if [[ ${KEEP_DATA:-} == 1 ]]; then
		echo "data dir kept: $work/data" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building bin/mdouyin ..." >&2
go build -o bin/mdouyin ./cmd/mdouyin
ffmpeg -v error -nostdin -y -f lavfi -i testsrc=duration=1:size=320x240:rate=15 -f lavfi -i sine=duration=1 \
	-c:v libx264 -pix_fmt yuv420p -c:a aac -shortest "$work/clip.mp4"

echo "seeding: mdouyin seed $SEED_FLAGS" >&2
seed_start=$(date +%s%N)
env -i PATH="$PATH" HOME="$HOME" MDOUYIN_DATA_DIR="$work/data" "${feed_env[@]}" \
	./bin/mdouyin seed $SEED_FLAGS >"$work/seed.out" 2>"$work/seed.err"
seed_ms=$(( ($(date +%s%N) - seed_start) / 1000000 ))
grep -E '^(users|follows|videos|likes|messages|inboxes) ' "$work/seed.err" | grep -v '%) .*ETA' >&2 || true
cat "$work/seed.out"
echo "seed wall time: $seed_ms ms; data dir $(du -sh "$work/data" | cut -f1)"

# author NAME FOLLOWERS: the seeded author with exactly that many followers.
author() { sed -nE "s/^author (seed_[0-9]+) \(id [0-9]+\) has $1 followers$/\1/p" "$work/seed.out" | head -1; }
IFS=, read -r pull_f push_f few_f <<<"$AUTHORS"
pull=$(author "$pull_f")
push=$(author "$push_f")
few=$(author "$few_f")
if [[ -z $pull || -z $push || -z $few ]]; then
	echo "measure-publish: the seed made no authors with $AUTHORS followers" >&2
	exit 1
fi

env -i PATH="$PATH" HOME="$HOME" MDOUYIN_HTTP_ADDR="127.0.0.1:$PORT" MDOUYIN_DATA_DIR="$work/data" \
	MDOUYIN_RATE_LIMITS=off MDOUYIN_LOG_LEVEL=warn "${feed_env[@]}" ./bin/mdouyin >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 1500); do curl -sf "$BASE/readyz" >/dev/null && break; sleep 0.02; done
curl -sf "$BASE/readyz" >/dev/null || { echo "measure-publish: server not ready; its log:" >&2; cat "$work/server.log" >&2; exit 1; }

go run scripts/measure-publish.go -base "$BASE" -pull "$pull" -push "$push" -few "$few" -n "$N" \
	-sample "$SAMPLE" -poll "$POLL" -clip "$work/clip.mp4" -token-out "$work/token"
token=$(cat "$work/token")

cat >"$work/check.lua" <<'LUA'
-- Counts answers whose body is not a success, so throughput only counts real feeds.
bad = 0
response = function(status, headers, body)
  if status ~= 200 or not string.find(body, '"status_code":0', 1, true) then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("non-success answers: %d\n", bad))
end
LUA
echo
echo "== guest feed, 64 connections, $DURATION"
wrk -t2 -c64 -d"$DURATION" --latency -s "$work/check.lua" "$BASE/douyin/feed/"
echo "== logged-in feed (a sampled follower of $push), 64 connections, $DURATION"
wrk -t2 -c64 -d"$DURATION" --latency -s "$work/check.lua" "$BASE/douyin/feed/?token=$token"
awk '$1 == "VmHWM:" || $1 == "VmRSS:" {print "server " $0}' "/proc/$pid/status"
if [[ -s $work/server.log ]]; then
	echo "server log (warn and above), first lines:" >&2
	head -20 "$work/server.log" >&2
fi
