#!/usr/bin/env bash
# scale.sh (make scale): issue 7's scale goal, measured. The same feed reads
# (feed_guest and feed_user, open loop at SCALE_RATE) against the one-process
# server on two seeded datasets, a small one and the reference size (1M users),
# and the p99 of each at the reference size as a multiple of the small one. It
# prints numbers (a markdown table on stdout); it asserts nothing about time.
#
#   make scale                          # 10k users, then the reference size
#   SCALE_SIZES=10000,100000 make scale # other sizes (users; the rest scales along)
#
# Each size seeds a new SQLite data directory with --users N and, per user, 10
# follows, 1 video, 10 likes, 1 message, 10 comments and 10 comment likes (the
# reference dataset's proportions), 5 big authors with 1M followers (at most
# every other user) and SCALE_READERS readers following 200 users each. Every
# size is seeded before any is measured. The reference size takes the better
# part of an hour to seed on a 2-core machine (its inbox phase writes about 250
# million rows) and about 20 GB of disk.
# Settings: SCALE_SIZES (10000,1000000), SCALE_RATE (500: requests per second),
# SCALE_DURATION (15s), SCALE_READERS (64), KEEP_DATA=1 keeps the work directory.
set -euo pipefail
cd "$(dirname "$0")/.."
for v in $(compgen -e | grep '^MDOUYIN_' || true); do unset "$v"; done
log() { printf '[scale] %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
GO=${GO:-go}
SIZES=${SCALE_SIZES:-10000,1000000}
RATE=${SCALE_RATE:-500}
DURATION=${SCALE_DURATION:-15s}
READERS=${SCALE_READERS:-64}
for tool in "$GO" ffmpeg curl; do
	command -v "$tool" >/dev/null || die "$tool is required"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/mdouyin-scale.XXXXXX")
server_pid=""
cleanup() {
	local status=$?
	trap - EXIT INT TERM
	stop_server
	if [[ ${KEEP_DATA:-} == 1 || $status != 0 ]]; then
		log "work directory kept: $work"
	else
		rm -rf "$work"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "building bin/mdouyin"
"$GO" build -o bin/mdouyin ./cmd/mdouyin

# p99 FILE SCENARIO prints the p99 (ms) of SCENARIO in the load tool's JSON report.
p99() {
	"$GO" run scripts/scale-p99.go "$1" "$2"
}

rows=()
declare -A base
IFS=, read -r -a sizes <<<"$SIZES"
# Every size is seeded first and measured afterwards, one after the other, so
# that the measurements run under alike conditions.
for n in "${sizes[@]}"; do
	flags=(--users "$n" --follows $((n * 10)) --videos "$n" --likes $((n * 10)) --messages "$n"
		--comments $((n * 10)) --comment-likes $((n * 10)) --big-authors 5 --big-followers 1000000
		--readers "$READERS" --reader-follows 200)
	log "$n users: mdouyin seed ${flags[*]}"
	t0=$SECONDS
	env -i PATH="$PATH" HOME="$HOME" MDOUYIN_DATA_DIR="$work/$n" ./bin/mdouyin seed "${flags[@]}" >"$work/$n-seed.out" 2>"$work/$n-seed.err" ||
		{
			tail -n 20 "$work/$n-seed.err" >&2
			die "seeding $n users failed"
		}
	log "$n users: seeded in $((SECONDS - t0))s ($(du -sh "$work/$n" | cut -f1))"
done
for n in "${sizes[@]}"; do
	start_server "$work/$n-server.log" MDOUYIN_DATA_DIR="$work/$n"
	for scenario in feed_guest feed_user; do
		./bin/mdouyin bench --url "$server_url" --scenario "$scenario" --rate "$RATE/s" --connections 256 \
			--duration "$DURATION" --warmup 2s --seeded-users "$READERS" --json "$work/$n-$scenario.json" \
			>"$work/$n-$scenario.txt" 2>"$work/$n-$scenario.log" ||
			{
				tail -n 20 "$work/$n-$scenario.log" >&2
				die "$n users: the load tool failed"
			}
		read -r p50 p99 errors < <(p99 "$work/$n-$scenario.json" "$scenario")
		[[ -n ${base[$scenario]:-} ]] || base[$scenario]=$p99
		ratio=$(awk -v a="$p99" -v b="${base[$scenario]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
		rows+=("| $scenario | $n | $p50 / $p99 | $errors | $ratio |")
		log "$n users, $scenario at $RATE/s: p50 $p50 ms, p99 $p99 ms, errors $errors, ${ratio}× the first size"
	done
	stop_server
done

echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') at $(git rev-parse --short HEAD 2>/dev/null || echo unknown) on $(nproc) CPUs by \`make scale\`:"
echo "one process (SQLite), open loop at $RATE req/s for $DURATION per run, $READERS seeded readers (200 follows each, every big author among them)."
echo
echo "| scenario | users | p50 / p99 ms | errors | p99 × the first size |"
echo "| --- | ---: | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
