#!/usr/bin/env bash
# Measures the one-process server's memory while it takes a large upload: RSS before,
# peak RSS (VmHWM) during and after, and how long the upload and the ffmpeg pipeline
# took. Loopback only; cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${BENCH_PORT:-18090}
SIZE_SECONDS=${BENCH_CLIP_SECONDS:-20} # a 20 s 1080p clip at 40 Mbit/s is about 95 MB
work=$(mktemp -d)
pid=""
# set +e: a server that already exited must not stop the clean-up before rm.
cleanup() { set +e; [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

go build -o bin/mdouyin ./cmd/mdouyin
ffmpeg -v error -nostdin -y -f lavfi -i "testsrc2=duration=$SIZE_SECONDS:size=1920x1080:rate=30" \
  -f lavfi -i "sine=duration=$SIZE_SECONDS" -c:v libx264 -preset ultrafast -b:v 40M -maxrate 40M -bufsize 80M \
  -c:a aac -shortest "$work/big.mp4"
size=$(stat -c %s "$work/big.mp4")

env -i PATH="$PATH" HOME="$HOME" MDOUYIN_HTTP_ADDR="127.0.0.1:$PORT" MDOUYIN_DATA_DIR="$work/data" \
  MDOUYIN_RATE_LIMITS=off MDOUYIN_LOG_LEVEL=warn ./bin/mdouyin >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 500); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.02; done
token=$(curl -s -X POST "http://127.0.0.1:$PORT/douyin/user/register/?username=uploader&password=secret-1" | sed -E 's/.*"token":"([^"]+)".*/\1/')
kib() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$pid/status"; }
rss_before=$(kib VmRSS)
hwm_before=$(kib VmHWM)
start=$(date +%s%N)
answer=$(curl -s -F "token=$token" -F "title=big upload" -F "data=@$work/big.mp4;type=video/mp4" \
  "http://127.0.0.1:$PORT/douyin/publish/action/")
end=$(date +%s%N)
hwm_after=$(kib VmHWM)
echo "answer: $answer"
printf '%-28s %s\n' "upload size" "$((size / 1048576)) MiB"
printf '%-28s %s\n' "RSS before" "$((rss_before / 1024)) MiB"
printf '%-28s %s\n' "peak RSS before" "$((hwm_before / 1024)) MiB"
printf '%-28s %s\n' "peak RSS after upload" "$((hwm_after / 1024)) MiB"
printf '%-28s %s\n' "peak growth" "$(((hwm_after - rss_before) / 1024)) MiB"
printf '%-28s %s\n' "upload + pipeline" "$(((end - start) / 1000000)) ms"
