#!/usr/bin/env bash
# fuzz.sh runs every Go fuzz target of the module (or of the package
# directories given as arguments, such as ./internal/token) for FUZZTIME each,
# one after another, and prints the executions each reached. A target that
# fails leaves its input in the package's testdata/fuzz/<Target>/ (commit it as
# a regression seed once fixed); the script runs the rest and exits 1.
#
#   FUZZTIME=5s scripts/fuzz.sh                     # what CI runs (make fuzz)
#   FUZZTIME=2m FUZZ_PARALLEL=1 scripts/fuzz.sh     # a longer local run, one worker each
#   FUZZTIME=1m scripts/fuzz.sh ./internal/token    # some packages only
#
# FUZZTIME_<Target> sets the budget of one target. FuzzGateway gets at least
# 45 s unless told otherwise: each of its workers starts a whole server and
# replays the seed corpus before fuzzing, which takes 15 s on a quiet
# two-core machine and 30 s or more on a busy one. FUZZMINIMIZETIME (default
# 5s) bounds the shrinking of each new input, which would otherwise take most
# of a short budget (the executions stand still meanwhile). FUZZ_PARALLEL sets
# the number of workers (default one per core). GO names the go command.
#
# Each run starts from the seed corpus and from what earlier runs found,
# which Go keeps in its build cache (go clean -fuzzcache forgets it), unless
# FUZZ_FRESH=1 (make fuzz, what CI runs) gives it an empty cache of its own.
# The first run builds an instrumented test binary of every package with a
# target, which takes minutes on two cores; later runs reuse the cache.
set -uo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
fuzztime=${FUZZTIME:-5s}
minimizetime=${FUZZMINIMIZETIME:-5s}

# seconds reads a Go duration made of h, m and s parts ("1m30s") as seconds.
seconds() {
	local d=$1 total=0
	while [[ $d =~ ^([0-9]+)([hms])(.*)$ ]]; do
		case ${BASH_REMATCH[2]} in
		h) total=$((total + BASH_REMATCH[1] * 3600)) ;;
		m) total=$((total + BASH_REMATCH[1] * 60)) ;;
		s) total=$((total + BASH_REMATCH[1])) ;;
		esac
		d=${BASH_REMATCH[3]}
	done
	echo "$total"
}
if [[ -z "${FUZZTIME_FuzzGateway:-}" && $(seconds "$fuzztime") -lt 45 ]]; then
	FUZZTIME_FuzzGateway=45s
fi

# deadline_race reports whether a failed run's only complaint is Go's own
# "context deadline exceeded" at the end of its budget, with no input
# written: a race in the fuzzing coordinator on a busy machine
# (go.dev/issue/75804, fixed in Go 1.27), not a finding.
deadline_race() {
	! grep -q 'Failing input written' "$1" &&
		[[ $(sed -n '/^--- FAIL: /,/^FAIL$/p' "$1" | sed '1d;$d' | sed 's/^[[:space:]]*//' | sort -u) == "context deadline exceeded" ]]
}

parallel=()
if [[ -n "${FUZZ_PARALLEL:-}" ]]; then
	parallel=(-test.parallel "$FUZZ_PARALLEL")
fi
pkgs=("$@")
if [[ ${#pkgs[@]} -eq 0 ]]; then
	mapfile -t pkgs < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' cmd internal test 2>/dev/null |
		xargs -r -n1 dirname | sort -u | sed 's|^|./|')
fi

# The targets are read from the sources rather than listed by go test -list,
# which would build a test binary of each package first. Files with a build
# constraint are left out: their targets need tags this script does not pass.
targets=()
for pkg in "${pkgs[@]}"; do
	for file in "$pkg"/*_test.go; do
		[[ -f $file ]] || continue
		grep -q '^//go:build' "$file" && continue
		while read -r name; do
			targets+=("$pkg $name")
		done < <(sed -nE 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/p' "$file")
	done
done
if [[ ${#targets[@]} -eq 0 ]]; then
	echo "fuzz.sh: no fuzz targets in ${pkgs[*]}" >&2
	exit 1
fi

# Each package's test binary is built once, instrumented for fuzzing as
# go test -fuzz builds it, and run for each of its targets in the package's
# directory (where its testdata is), with the fuzz cache go test would use
# (with FUZZ_FRESH=1, an empty one of this run's own, so that a short run
# spends its budget fuzzing rather than replaying what earlier runs found).
# The binaries are built one after another in the background, the next ones
# while the first targets run.
module=$("$GO" list -m) || exit 1
work=$(mktemp -d)
cachedir=$("$GO" env GOCACHE)/fuzz
if [[ ${FUZZ_FRESH:-} == 1 ]]; then
	cachedir=$work/cache
fi
binary() { echo "$work/$(tr / _ <<<"${1#./}").test"; }
(
	done_pkgs=" "
	for t in "${targets[@]}"; do
		read -r pkg _ <<<"$t"
		[[ $done_pkgs == *" $pkg "* ]] && continue
		done_pkgs+="$pkg "
		bin=$(binary "$pkg")
		if "$GO" test -c -fuzz . -o "$bin" "$pkg" >"$bin.log" 2>&1; then
			echo ok >"$bin.status"
		else
			echo failed >"$bin.status"
		fi
	done
) &
builder=$!
trap 'kill "$builder" 2>/dev/null; wait "$builder" 2>/dev/null; rm -rf "$work"' EXIT
log=$work/log
summary=()
failed=0
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	bin=$(binary "$pkg")
	budget_var="FUZZTIME_$name"
	budget=${!budget_var:-$fuzztime}
	echo "== $name (${pkg#./}) for $budget"
	start=$SECONDS
	status=ok
	while [[ ! -e $bin.status ]] && kill -0 "$builder" 2>/dev/null; do
		sleep 0.2 # the background build of this package is not done yet
	done
	if [[ $(cat "$bin.status" 2>/dev/null) != ok ]]; then
		status="FAILED (build)"
		failed=1
		cp "$bin.log" "$log" 2>/dev/null || : >"$log"
		cat "$log"
	elif ! (cd "$pkg" && "$bin" -test.run '^$' -test.fuzz "^${name}\$" -test.fuzztime "$budget" \
		-test.fuzzminimizetime "$minimizetime" -test.fuzzcachedir "$cachedir/$module/${pkg#./}" \
		-test.timeout "$(($(seconds "$budget") + 600))s" "${parallel[@]}") >"$log" 2>&1; then
		if deadline_race "$log"; then
			status="ok (go#75804)"
		else
			status=FAILED
			failed=1
			cat "$log"
		fi
	fi
	# The last progress line holds the total: "fuzz: elapsed: 10s, execs: 123456 (12345/sec), ...".
	# A budget spent before fuzzing began shows how far the replay of the
	# corpus got: "baseline 40/90".
	execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | awk '{print $2" execs"}')
	if [[ -z $execs ]]; then
		execs="baseline $(grep -o 'baseline coverage: [0-9]*/[0-9]*' "$log" | tail -1 | awk '{print $3}')"
	fi
	line=$(printf '%-22s %-30s %16s  %4ss  %s' "$name" "${pkg#./}" "$execs" "$((SECONDS - start))" "$status")
	echo "$line"
	summary+=("$line")
done

echo
echo "fuzz targets: ${#targets[@]}, budget ${fuzztime} each (FuzzGateway ${FUZZTIME_FuzzGateway:-$fuzztime}), ${SECONDS}s in all"
printf '%s\n' "${summary[@]}"
exit $failed
