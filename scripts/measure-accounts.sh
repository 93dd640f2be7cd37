#!/usr/bin/env bash
# measure-accounts.sh: start-up, memory and login-flood figures for the one-process
# server (issue "Foundation"). It prints numbers; it asserts nothing about time.
#
#   bash scripts/measure-accounts.sh          # from the repository root
#
# What it does, all on loopback and bounded in time:
#   1. builds bin/mdouyin;
#   2. start A: a fresh temporary data dir (SQLite files, NATS store and JWT secret
#      are created), MDOUYIN_PASSWORD_MAX_IN_FLIGHT=4; start B: the same data dir
#      again, MDOUYIN_PASSWORD_MAX_IN_FLIGHT=16;
#   3. for each start: ms from exec to the first 200 from GET /readyz (polled every
#      10 ms), VmRSS when ready and after 5 s idle, then one registered user and
#      200 concurrent logins (wall time, failures, VmHWM before and after), then
#      SIGTERM and the ms until the process has exited;
#   4. prints a table. The temporary dir and the server are removed on exit.
#
# Settings (environment): BENCH_PORT (default 18080), BENCH_LOGINS (default 200).
# Every other MDOUYIN_* variable of the caller is cleared so the run is
# self-contained (SQLite, embedded NATS, in-process cache).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PORT=${BENCH_PORT:-18080}
LOGINS=${BENCH_LOGINS:-200}
BASE="http://127.0.0.1:${PORT}"
READY_TIMEOUT_S=60    # per start
FLOOD_TIMEOUT_S=120   # per curl in the flood
STOP_TIMEOUT_S=40     # SIGTERM, then SIGKILL (server's own drain limit is 20 s)
IDLE_S=5

for v in $(compgen -e | grep '^MDOUYIN_' || true); do unset "$v"; done

command -v curl >/dev/null || { echo "measure-accounts: curl is required" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mdouyin-measure.XXXXXX")
DATA="$TMP/data"
PID=""

cleanup() {
	if [[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null; then
		kill -KILL "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ns() { date +%s%N; }
ms_since() { echo $(( ($(now_ns) - $1) / 1000000 )); }
status_kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$PID/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
alive() { [[ -e /proc/$PID ]] && [[ $(awk '/^State:/ { print $2 }' "/proc/$PID/status" 2>/dev/null) != Z ]]; }

if curl -s -o /dev/null --max-time 1 "$BASE/healthz"; then
	echo "measure-accounts: something already answers on 127.0.0.1:$PORT (set BENCH_PORT)" >&2
	exit 1
fi

echo "building bin/mdouyin ..." >&2
go build -o bin/mdouyin ./cmd/mdouyin

# start NAME MAX_IN_FLIGHT: starts the server, waits for /readyz, sets READY_MS.
start() {
	local name=$1 inflight=$2 t0 code
	t0=$(now_ns)
	MDOUYIN_HTTP_ADDR="127.0.0.1:$PORT" \
		MDOUYIN_DATA_DIR="$DATA" \
		MDOUYIN_RATE_LIMITS=off \
		MDOUYIN_LOG_LEVEL=warn \
		MDOUYIN_PASSWORD_MAX_IN_FLIGHT="$inflight" \
		bin/mdouyin >>"$TMP/server-$name.log" 2>&1 &
	PID=$!
	while :; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$BASE/readyz" || true)
		[[ $code == 200 ]] && break
		if ! alive; then
			echo "measure-accounts: server ($name) exited before ready; its log:" >&2
			cat "$TMP/server-$name.log" >&2
			exit 1
		fi
		if (( $(ms_since "$t0") > READY_TIMEOUT_S * 1000 )); then
			echo "measure-accounts: server ($name) not ready after ${READY_TIMEOUT_S}s" >&2
			exit 1
		fi
		sleep 0.01
	done
	READY_MS=$(ms_since "$t0")
}

# flood: one user (registered if new) and LOGINS concurrent logins; sets FLOOD_MS,
# FAILS, HWM_BEFORE, HWM_AFTER.
flood() {
	local body out
	# On the second start the user exists already and register answers "taken";
	# either way one login must then succeed before the flood.
	curl -s -o /dev/null --max-time 30 -X POST "$BASE/douyin/user/register/?username=bench&password=secret-1" || true
	body=$(curl -s --max-time 30 -X POST "$BASE/douyin/user/login/?username=bench&password=secret-1" || true)
	if [[ $body != *'"status_code":0'* ]]; then
		echo "measure-accounts: register/login of user bench failed: $body" >&2
		exit 1
	fi
	out="$TMP/flood"
	mkdir -p "$out"
	rm -f "$out"/*
	HWM_BEFORE=$(status_kib VmHWM)
	local t0
	t0=$(now_ns)
	seq "$LOGINS" | xargs -P "$LOGINS" -I{} curl -s --max-time "$FLOOD_TIMEOUT_S" -o "$out/{}" \
		-X POST "$BASE/douyin/user/login/?username=bench&password=secret-1" || true
	FLOOD_MS=$(ms_since "$t0")
	HWM_AFTER=$(status_kib VmHWM)
	FAILS=0
	local i
	for i in $(seq "$LOGINS"); do
		if ! grep -q '"status_code":0' "$out/$i" 2>/dev/null; then
			FAILS=$((FAILS + 1))
			if (( FAILS == 1 )); then
				echo "first failed login response: $(head -c 300 "$out/$i" 2>/dev/null)" >&2
			fi
		fi
	done
}

# stop: SIGTERM and wait for exit; sets STOP_MS and EXIT_CODE.
stop() {
	local t0
	t0=$(now_ns)
	kill -TERM "$PID"
	while alive; do
		if (( $(ms_since "$t0") > STOP_TIMEOUT_S * 1000 )); then
			echo "measure-accounts: no exit ${STOP_TIMEOUT_S}s after SIGTERM; killing" >&2
			kill -KILL "$PID" 2>/dev/null || true
			break
		fi
		sleep 0.01
	done
	STOP_MS=$(ms_since "$t0")
	EXIT_CODE=0
	wait "$PID" || EXIT_CODE=$?
	PID=""
}

declare -a ROWS
run() {
	local name=$1 inflight=$2 label=$3 rss_ready rss_idle
	echo "start $name: $label, max_in_flight=$inflight ..." >&2
	start "$name" "$inflight"
	rss_ready=$(status_kib VmRSS)
	sleep "$IDLE_S"
	rss_idle=$(status_kib VmRSS)
	flood
	stop
	local bound_mib=$(( inflight * 19456 / 1024 ))
	ROWS+=("$(printf '%-5s %-14s %4s %9s %10s %10s %11s %11s %12s %9s %8s %10s %9s' \
		"$name" "$label" "$inflight" "$READY_MS" "$(mib "$rss_ready")" "$(mib "$rss_idle")" \
		"$(mib "$HWM_BEFORE")" "$(mib "$HWM_AFTER")" "$(mib $((HWM_AFTER - rss_idle)))" \
		"$bound_mib" "$FLOOD_MS" "$FAILS/$LOGINS" "$STOP_MS")")
	if [[ $EXIT_CODE != 0 ]]; then
		echo "note: server ($name) exited with status $EXIT_CODE after SIGTERM" >&2
	fi
	if [[ -s "$TMP/server-$name.log" ]]; then
		echo "server ($name) log (warn and above):" >&2
		sed 's/^/  /' "$TMP/server-$name.log" | head -20 >&2
	fi
}

run A 4 fresh-data-dir
run B 16 same-data-dir

echo
echo "mdouyin one process, loopback 127.0.0.1:$PORT, $LOGINS concurrent logins, $(nproc) CPUs, $(go env GOVERSION)"
echo "(ms = milliseconds; MiB from /proc/PID/status; bound = max_in_flight x 19456 KiB Argon2id memory)"
printf '%-5s %-14s %4s %9s %10s %10s %11s %11s %12s %9s %8s %10s %9s\n' \
	start data inf ready_ms rss_ready rss_idle5s hwm_before hwm_after hwm-rss_idle bound_mib flood_ms failures stop_ms
for r in "${ROWS[@]}"; do echo "$r"; done
