#!/usr/bin/env bash
# Measures feed throughput of the one-process server with wrk: publishes N real
# clips over HTTP, then runs 64 connections against the guest feed and the
# logged-in feed. Loopback only; cleans up after itself. Needs ffmpeg, curl, wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${BENCH_PORT:-18091}
VIDEOS=${BENCH_VIDEOS:-210}
DURATION=${BENCH_DURATION:-15s}
work=$(mktemp -d)
pid=""
# set +e: a server that already exited must not stop the clean-up before rm.
cleanup() { set +e; [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

go build -o bin/mdouyin ./cmd/mdouyin
ffmpeg -v error -nostdin -y -f lavfi -i testsrc=duration=1:size=320x240:rate=15 -f lavfi -i sine=duration=1 \
  -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest "$work/clip.mp4"
env -i PATH="$PATH" HOME="$HOME" MDOUYIN_HTTP_ADDR="127.0.0.1:$PORT" MDOUYIN_DATA_DIR="$work/data" \
  MDOUYIN_RATE_LIMITS=off MDOUYIN_LOG_LEVEL=warn MDOUYIN_FFMPEG_WORKERS=2 ./bin/mdouyin >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 500); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.02; done
token=$(curl -s -X POST "http://127.0.0.1:$PORT/douyin/user/register/?username=author&password=secret-1" | sed -E 's/.*"token":"([^"]+)".*/\1/')
start=$(date +%s)
seq "$VIDEOS" | xargs -P 4 -I{} curl -s -o /dev/null -F "token=$token" -F "title=video {}" \
  -F "data=@$work/clip.mp4;type=video/mp4" "http://127.0.0.1:$PORT/douyin/publish/action/"
echo "published $VIDEOS videos in $(( $(date +%s) - start )) s"
count=$(curl -s "http://127.0.0.1:$PORT/douyin/publish/list/?token=$token&count=100" | grep -o '"id":' | wc -l)
echo "publish list page shows $count ids (videos and authors)"

cat >"$work/check.lua" <<'LUA'
-- Counts answers whose body is not a success, so throughput only counts real feeds.
-- response() runs in each thread's own Lua state, so done() adds up the threads'
-- counters (the main state's own counter never moves).
local threads = {}
function setup(thread) table.insert(threads, thread) end
bad = 0
response = function(status, headers, body)
  if status ~= 200 or not string.find(body, '"status_code":0', 1, true) then bad = bad + 1 end
end
done = function(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("bad") end
  io.write(string.format("non-success answers: %d\n", total))
end
LUA
echo "== guest feed, 64 connections"
wrk -t2 -c64 -d"$DURATION" --latency -s "$work/check.lua" "http://127.0.0.1:$PORT/douyin/feed/"
echo "== logged-in feed, 64 connections"
wrk -t2 -c64 -d"$DURATION" --latency -s "$work/check.lua" "http://127.0.0.1:$PORT/douyin/feed/?token=$token"
awk '$1 == "VmHWM:" || $1 == "VmRSS:" {print}' "/proc/$pid/status"
