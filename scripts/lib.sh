# lib.sh: shell functions shared by scripts/bench.sh and scripts/explain.sh.
# Source it after defining log and die; it expects to run from the project root
# with bin/mdouyin built.

# free_port prints a loopback port nothing listens on, below the ephemeral range.
free_port() {
	local p i
	for ((i = 0; i < 500; i++)); do
		p=$((20000 + RANDOM % 12000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || {
			echo "$p"
			return
		}
	done
	die "no free port"
}

# start_server LOG VAR=VALUE...: starts bin/mdouyin in the background with those
# settings alone (besides PATH and HOME: every other variable is left out), on a
# free loopback port, rate limits off and log level warn, its output into LOG.
# Sets server_pid and server_url, and returns once /readyz answers (within 60 s).
start_server() {
	local log=$1 port
	shift
	port=$(free_port)
	env -i PATH="$PATH" HOME="$HOME" MDOUYIN_RATE_LIMITS=off MDOUYIN_LOG_LEVEL=warn "$@" \
		MDOUYIN_HTTP_ADDR="127.0.0.1:$port" ./bin/mdouyin >"$log" 2>&1 &
	server_pid=$!
	server_url=http://127.0.0.1:$port
	for _ in $(seq 1 600); do
		curl -sf -o /dev/null "$server_url/readyz" && return
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 "$log" >&2
	die "the server did not get ready"
}

# stop_server stops what start_server started.
stop_server() {
	if [[ -n ${server_pid:-} ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	server_pid=""
}

# write_section OUT BEGIN END FILE: FILE's lines go between the lines BEGIN and
# END of the document OUT, replacing what was there and keeping the rest; to
# stdout when OUT is -; appended with both markers to OUT when OUT lacks them
# (a new file when there is none).
write_section() {
	local out=$1 begin=$2 end=$3 file=$4 tmp
	if [[ $out == - ]]; then
		cat "$file"
	elif [[ -f $out ]] && grep -qxF "$begin" "$out" && grep -qxF "$end" "$out"; then
		tmp=$(mktemp)
		awk -v begin="$begin" -v end="$end" -v body="$file" '
			$0 == begin { print; while ((getline line < body) > 0) print line; skip = 1; next }
			$0 == end { skip = 0 }
			!skip' "$out" >"$tmp" && cat "$tmp" >"$out"
		rm -f "$tmp"
		log "written into $out"
	else
		{ echo "$begin"; cat "$file"; echo "$end"; } >>"$out"
		log "appended to $out"
	fi
}
