#!/usr/bin/env bash
# deploy/cluster.sh: a whole mdouyin cluster on one machine, on loopback addresses only.
#
#   deploy/cluster.sh up          (make cluster-up)    start it; the last line on stdout is the gateway URL
#   deploy/cluster.sh down        (make cluster-down)  stop what `up` started; --purge also deletes its data
#   deploy/cluster.sh test [ARGS] (make test-cluster)  a fresh cluster, `go test ./test/e2e/ ARGS` against it, then down
#   deploy/cluster.sh status                           what runs, and where
#
# What `up` runs: every role (user, video, favorite, comment, comment-admin, relation,
# message, gateway) as its own `mdouyin serve --role=NAME` process, twice (the URL printed
# is the first gateway's; the second serves the same API on its own port, listed in
# cluster.env, for a load balancer or a failover test); an etcd built
# from our own go.mod (deploy/etcd) for discovery and node numbers; an S3 server
# (versitygw, built once into the user cache directory as internal/platform/blob/s3test
# does) for media. MariaDB, Redis and NATS JetStream are reused when they answer at the
# addresses below; otherwise the script starts its own under the run directory, on free
# ports (installing mariadb-server / redis-server with apt-get when root). `down` stops
# only processes `up` started, never a server it reused.
#
# Settings (environment):
#   MDOUYIN_CLUSTER_DIR           run directory (default ./.cluster): logs/, pids/, data/, cluster.env
#   MDOUYIN_CLUSTER_REPLICAS      processes per role, the gateway included (default 2)
#   MDOUYIN_CLUSTER_PORT          HTTP port of the first gateway (default 18080, or a free one if taken)
#   MDOUYIN_CLUSTER_MYSQL_DSN     MySQL/MariaDB server to reuse, naming no database (default
#                                 $MDOUYIN_TEST_MYSQL_DSN, else root@tcp(127.0.0.1:3306)/); "own" always starts one
#   MDOUYIN_CLUSTER_DB_NAME       the cluster's database on it (default mdouyin_cluster; mdouyin creates it)
#   MDOUYIN_CLUSTER_REDIS_ADDR    Redis to reuse (default $MDOUYIN_TEST_REDIS_ADDR, else 127.0.0.1:6379); "own" starts one
#   MDOUYIN_CLUSTER_NATS_URL      NATS with JetStream to reuse (default $MDOUYIN_TEST_NATS_URL, else
#                                 nats://127.0.0.1:4222); "own" starts one (built from go.mod's nats-server)
#   MDOUYIN_CLUSTER_READY_TIMEOUT seconds `up` waits for each process to be ready (default 120)
#   MDOUYIN_CLUSTER_STOP_TIMEOUT  seconds `down` waits after SIGTERM before SIGKILL (default 30)
#   CLUSTER_PURGE=1               same as `down --purge`
#   GO                            the go command (default go)
#
# Every MDOUYIN_* variable of the caller reaches every process and wins over this
# script's defaults, except MDOUYIN_HTTP_ADDR, MDOUYIN_RPC_ADDR and MDOUYIN_DATA_DIR,
# which differ per process. Giving MDOUYIN_DB_DSN, MDOUYIN_REDIS_ADDR, MDOUYIN_NATS_URL,
# MDOUYIN_ETCD_ENDPOINTS or MDOUYIN_S3_ENDPOINT points the cluster at that server and
# the script neither checks nor starts one. Defaults the script adds: MDOUYIN_REDIS_DB=12
# (apart from the tests' databases 0 and 13 on a shared Redis),
# MDOUYIN_NAMESPACE=cluster (NATS streams and subjects, etcd and Redis keys apart from
# other deployments on shared servers), MDOUYIN_DB_MAX_OPEN_CONNS=120/(7 × replicas)
# (the roles' MySQL pools together fit a stock MariaDB's 151 connections),
# MDOUYIN_S3_BUCKET=mdouyin (mdouyin creates it), and a JWT secret, an admin password
# and S3 keys generated once into the run directory.
#
# `down --purge` also removes the run directory and drops the cluster's database when
# the script chose it (never a database given by MDOUYIN_DB_DSN). Streams on a reused
# NATS (namespace MDOUYIN_NAMESPACE) and keys on a reused Redis stay; the ones
# of servers the script started go with the run directory. Two clusters at once on the
# same reused servers need their own MDOUYIN_CLUSTER_DB_NAME and MDOUYIN_NAMESPACE.
#
# `test` runs a cluster in a new temporary run directory, with its own NATS and Redis
# (so no other server's consumers share its streams, whatever the namespace support of
# the build) and a new database on the reused MariaDB; the servers get what test/e2e
# needs (e2e屏蔽词 among the sensitive words, rate limits off, an admin password). The
# run directory and database are removed after a pass; after a failure the run
# directory stays for its logs.
set -euo pipefail

ROLES=(user video favorite comment comment-admin relation message gateway) # as config.Roles
SELF=$(realpath "${BASH_SOURCE[0]}")
ROOT=$(dirname "$(dirname "$SELF")")
RUN=$(realpath -m "${MDOUYIN_CLUSTER_DIR:-$ROOT/.cluster}")
GO=${GO:-go}
VERSITYGW_VERSION=v1.8.0 # the version internal/platform/blob/s3test tests against
cd "$ROOT"

log() { printf '[cluster] %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# ---------------------------------------------------------------------------------
# Probes. Plain bash (/dev/tcp) so that a fresh machine needs no curl or clients.

port_open() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

# http_status PORT PATH prints the HTTP status of GET PATH on 127.0.0.1:PORT, or nothing.
http_status() {
	(
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 0
		printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
		read -r -t 5 _ code _ <&3 && echo "$code"
	) 2>/dev/null || true
}

http_ok() { [[ $(http_status "$1" "$2") == 200 ]]; }

# redis_answers HOST:PORT: a PING gets +PONG (or -NOAUTH: a Redis that wants the
# password the caller gives in MDOUYIN_REDIS_PASSWORD).
redis_answers() {
	local reply
	reply=$(
		exec 3<>"/dev/tcp/${1%:*}/${1##*:}" || exit 0
		printf 'PING\r\n' >&3
		read -r -t 3 line <&3 && echo "$line"
	) 2>/dev/null || true
	[[ $reply == +PONG* || $reply == -NOAUTH* ]]
}

# nats_jetstream URL: the server's INFO line says JetStream is on.
nats_jetstream() {
	local hostport=${1#nats://} info
	hostport=${hostport%%/*}
	info=$(
		exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}" || exit 0
		read -r -t 3 line <&3 && echo "$line"
	) 2>/dev/null || true
	[[ $info == INFO* && $info == *'"jetstream":true'* ]]
}

# DSN parts of user[:password]@tcp(host:port)/..., in DSN_USER DSN_PASS DSN_HOST DSN_PORT.
parse_dsn() {
	local re='^([^:@]*)(:([^@]*))?@tcp\(([^:)]+):([0-9]+)\)/'
	[[ $1 =~ $re ]] || return 1
	DSN_USER=${BASH_REMATCH[1]} DSN_PASS=${BASH_REMATCH[3]} DSN_HOST=${BASH_REMATCH[4]} DSN_PORT=${BASH_REMATCH[5]}
}

mysql_client() { command -v mariadb || command -v mysql || true; }

# mysql_exec DSN SQL runs SQL with the DSN's credentials (password through the
# environment, not argv).
mysql_exec() {
	local client
	client=$(mysql_client)
	[[ -n $client ]] || return 1
	parse_dsn "$1" || return 1
	MYSQL_PWD=$DSN_PASS "$client" --no-defaults --protocol=tcp -h"$DSN_HOST" -P"$DSN_PORT" -u"$DSN_USER" \
		--connect-timeout=5 -e "$2" >/dev/null 2>&1
}

# mysql_answers DSN: the server accepts the DSN's account (only the port can be
# checked without a client).
mysql_answers() {
	parse_dsn "$1" || return 1
	port_open "$DSN_PORT" "$DSN_HOST" || return 1
	[[ -z $(mysql_client) ]] || mysql_exec "$1" 'SELECT 1'
}

# etcd_has_key PORT KEY: the key exists in the etcd at 127.0.0.1:PORT (through etcd's
# JSON gateway; there is no etcdctl among our modules).
etcd_has_key() {
	local body
	body=$(printf '{"key":"%s","count_only":true}' "$(printf %s "$2" | base64 -w0)")
	(
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 0
		printf 'POST /v3/kv/range HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
			"${#body}" "$body" >&3
		timeout 5 cat <&3
	) 2>/dev/null | grep -q '"count":"1"'
}

rand_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

# ---------------------------------------------------------------------------------
# Ports. Each run reuses the ports of the previous one when they are free, so URLs
# and the addresses in cluster.env stay the same across down and up.

USED_PORTS=" "
# The servers' ports, set by pick_port when this run starts them.
ETCD_PORT="" S3_PORT=""

# pick_port VAR NAME [PREFERRED...]: a free loopback port into VAR, remembered as
# NAME: the first free one of PREFERRED and the port NAME had last time, else any.
pick_port() {
	local var=$1 name=$2 p="" i
	shift 2
	for p in "$@" "$(prev_port "$name")" ""; do
		[[ -n $p && $USED_PORTS != *" $p "* ]] && ! port_open "$p" && break
	done
	if [[ -z $p ]]; then
		# Below the kernel's ephemeral range (32768-60999), where outgoing
		# connections could take a port between our probe and the server's bind.
		for ((i = 0; i < 500; i++)); do
			p=$((20000 + RANDOM % 12000))
			[[ $USED_PORTS != *" $p "* ]] && ! port_open "$p" && break
		done
	fi
	USED_PORTS+="$p "
	echo "$name=$p" >>"$RUN/ports.new"
	printf -v "$var" '%s' "$p"
}

prev_port() {
	if [[ -f $RUN/ports ]]; then sed -n "s/^$1=//p" "$RUN/ports" | head -n1; fi
}

# ---------------------------------------------------------------------------------
# Processes. Each is started in a session of its own (so it outlives make and a
# closed terminal) and recorded in pids/NAME.pid as "pid starttime" and its command
# line: `down` signals a pid only while /proc still shows that start time and
# command line, so a pid the kernel has handed to someone else is never touched.

# spawn NAME [VAR=VALUE...] -- CMD [ARGS...]
spawn() {
	local name=$1 vars=() pid="" i
	shift
	while [[ $1 != -- ]]; do
		vars+=("$1")
		shift
	done
	shift
	local pidf=$RUN/pids/$name.pid log=$RUN/logs/$name.log
	printf '=== %s: %s\n' "$(date -Is)" "$*" >>"$log"
	rm -f "$pidf.new"
	# sh writes its pid and execs the command, which keeps the pid. Fd 9 (the run
	# directory's lock) must not live on in the children.
	# shellcheck disable=SC2016 # $$ and $@ are the child shell's
	env ${vars[@]+"${vars[@]}"} setsid -f sh -c 'echo $$ >"$0"; exec "$@"' "$pidf.new" "$@" \
		</dev/null >>"$log" 2>&1 9>&-
	for ((i = 0; i < 100; i++)); do
		[[ -s $pidf.new ]] && pid=$(<"$pidf.new") && break
		sleep 0.05
	done
	[[ -n $pid ]] || die "$name did not start; see $log"
	rm -f "$pidf.new"
	printf '%s %s\n%s\n' "$pid" "$(proc_starttime "$pid")" "$(printf '%s ' "$@")" >"$pidf"
	# Wait for the exec, so that the record matches from now on.
	for ((i = 0; i < 100; i++)); do
		alive "$name" && return 0
		[[ -d /proc/$pid ]] || break
		sleep 0.05
	done
	log "$name exited at once; last lines of $log:"
	tail -n 20 "$log" >&2
	return 1
}

proc_starttime() {
	local stat f
	stat=$(<"/proc/$1/stat") 2>/dev/null || return 0
	stat=${stat##*) } # fields after the command name, which may hold spaces
	read -r -a f <<<"$stat"
	echo "${f[19]}" # field 22 of proc(5)
}

# alive NAME: the process recorded for NAME still runs (and is the one we started).
alive() {
	local pidf=$RUN/pids/$1.pid pid st cmd now
	[[ -f $pidf ]] || return 1
	{
		read -r pid st
		IFS= read -r cmd
	} <"$pidf"
	[[ -r /proc/$pid/cmdline ]] || return 1
	now=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ $now == "$cmd" && $(proc_starttime "$pid") == "$st" ]]
}

pid_of() {
	local pid
	read -r pid _ <"$RUN/pids/$1.pid" && echo "$pid"
}

recorded() { # names with a pid file, in start order
	[[ -d $RUN/pids ]] || return 0
	# shellcheck disable=SC2012 # the names are ours: role-N, etcd, s3, ...
	ls -tr "$RUN/pids" | sed -n 's/\.pid$//p'
}

# stop_all NAME...: SIGTERM to every one still alive, SIGKILL after the bound.
stop_all() {
	local name pending=() deadline
	for name in "$@"; do
		if alive "$name"; then
			kill -TERM "$(pid_of "$name")" 2>/dev/null || true
			pending+=("$name")
		else
			rm -f "$RUN/pids/$name.pid"
		fi
	done
	((${#pending[@]})) || return 0
	log "stopping ${pending[*]}"
	deadline=$((SECONDS + ${MDOUYIN_CLUSTER_STOP_TIMEOUT:-30}))
	while ((${#pending[@]})); do
		local left=()
		for name in "${pending[@]}"; do
			if alive "$name"; then left+=("$name"); else rm -f "$RUN/pids/$name.pid"; fi
		done
		pending=(${left[@]+"${left[@]}"})
		((${#pending[@]})) || break
		if ((SECONDS >= deadline)); then
			log "still running after ${MDOUYIN_CLUSTER_STOP_TIMEOUT:-30}s, killing: ${pending[*]}"
			for name in "${pending[@]}"; do
				alive "$name" && kill -KILL "$(pid_of "$name")" 2>/dev/null
				rm -f "$RUN/pids/$name.pid"
			done
			break
		fi
		sleep 0.2
	done
}

# stop_recorded stops everything recorded, in tiers: gateways (no new requests),
# then the other roles (they drain), then the servers under them.
stop_recorded() {
	local names gw=() roles=() infra=() n
	mapfile -t names < <(recorded)
	for n in ${names[@]+"${names[@]}"}; do
		case $n in
		gateway-*) gw+=("$n") ;;
		user-* | video-* | favorite-* | comment-* | relation-* | message-*) roles+=("$n") ;;
		*) infra+=("$n") ;;
		esac
	done
	stop_all ${gw[@]+"${gw[@]}"}
	stop_all ${roles[@]+"${roles[@]}"}
	stop_all ${infra[@]+"${infra[@]}"}
}

# wait_ready NAME DESCRIPTION CHECK...: poll CHECK until it passes; fail early when
# the process NAME has exited.
wait_ready() {
	local name=$1 what=$2 deadline=$((SECONDS + ${MDOUYIN_CLUSTER_READY_TIMEOUT:-120}))
	shift 2
	until "$@"; do
		if ! alive "$name"; then
			failed "$name" "exited before $what"
		fi
		((SECONDS < deadline)) || failed "$name" "was not $what within ${MDOUYIN_CLUSTER_READY_TIMEOUT:-120}s"
		sleep 0.2
	done
}

failed() {
	log "$1 $2; last lines of $RUN/logs/$1.log:"
	tail -n 30 "$RUN/logs/$1.log" >&2 || true
	exit 1
}

# ---------------------------------------------------------------------------------
# Installing what is missing.

apt_install() {
	local sudo="" i
	if [[ $(id -u) != 0 ]]; then
		sudo -n true 2>/dev/null || return 1
		sudo="sudo -n"
	fi
	log "installing $* with apt-get"
	for i in 1 2 3; do # apt can fail once on a vanished temporary file
		$sudo apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null && return 0
		log "apt-get install $* failed (attempt $i)"
		sleep 3
	done
	return 1
}

need_command() { # need_command CMD PACKAGE
	command -v "$1" >/dev/null || [[ -x /usr/sbin/$1 ]] || apt_install "$2" ||
		die "$1 is missing and could not be installed (apt-get install $2)"
}

# versitygw_bin builds versitygw once into the directory s3test uses, so tests and
# clusters share one build.
versitygw_bin() {
	local dir=${XDG_CACHE_HOME:-$HOME/.cache}/mdouyin/versitygw-$VERSITYGW_VERSION tmp
	if [[ ! -x $dir/versitygw ]]; then
		log "building versitygw $VERSITYGW_VERSION into $dir (once; a few minutes on a cold module cache)"
		mkdir -p "$dir"
		tmp=$(mktemp -d "$dir/build-XXXXXX")
		# Outside our module, so go.mod and GOFLAGS play no part.
		(cd "$tmp" && GOFLAGS='' GOWORK=off GOBIN=$tmp "$GO" install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION") >&2 ||
			{
				rm -rf "$tmp"
				die "could not build versitygw"
			}
		mv "$tmp/versitygw" "$dir/versitygw" # a rename: a concurrent reader never sees half a binary
		rm -rf "$tmp"
	fi
	echo "$dir/versitygw"
}

# ---------------------------------------------------------------------------------
# up

# secret VAR FILE BYTES: VAR from the caller, else from FILE, else generated into FILE.
secret() {
	local var=$1 file=$RUN/secrets/$2
	if [[ -z ${!var:-} ]]; then
		[[ -s $file ]] || (umask 077 && rand_hex "$3" >"$file")
		printf -v "$var" '%s' "$(<"$file")"
	fi
	export "${var?}"
}

start_etcd() {
	if [[ -n ${MDOUYIN_ETCD_ENDPOINTS:-} ]]; then
		log "etcd: using $MDOUYIN_ETCD_ENDPOINTS"
		return
	fi
	pick_port ETCD_PORT etcd
	pick_port ETCD_PEER_PORT etcd-peer
	# etcd holds only leases (registrations, node numbers) that lapsed when the last
	# run stopped; a clean start also avoids member records with stale peer ports.
	rm -rf "$RUN/data/etcd"
	spawn etcd -- "$RUN/bin/etcd" --name mdouyin-cluster --data-dir "$RUN/data/etcd" \
		--listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster "mdouyin-cluster=http://127.0.0.1:$ETCD_PEER_PORT" --log-level warn
	export MDOUYIN_ETCD_ENDPOINTS=http://127.0.0.1:$ETCD_PORT
	STARTED+=(etcd)
}

start_s3() {
	if [[ -n ${MDOUYIN_S3_ENDPOINT:-} ]]; then
		log "S3: using $MDOUYIN_S3_ENDPOINT"
		return
	fi
	local gw
	gw=$(versitygw_bin)
	pick_port S3_PORT s3
	mkdir -p "$RUN/data/s3"
	# Keys through the environment, not the command line (ps shows command lines).
	spawn s3 ROOT_ACCESS_KEY="$MDOUYIN_S3_ACCESS_KEY" ROOT_SECRET_KEY="$MDOUYIN_S3_SECRET_KEY" -- \
		"$gw" --port "127.0.0.1:$S3_PORT" --health /health --quiet posix "$RUN/data/s3"
	export MDOUYIN_S3_ENDPOINT=127.0.0.1:$S3_PORT
	STARTED+=(s3)
}

# start_mysql finds or starts the MySQL server and names the cluster's database.
# It records in RUN/state whether `down --purge` must drop that database: only one
# it named on a server it reused (a server it started goes with the run directory).
start_mysql() {
	local drop=0
	DB_SERVER="" DB_NAME=""
	if [[ -n ${MDOUYIN_DB_DSN:-} ]]; then
		log "MySQL: using the database of MDOUYIN_DB_DSN"
		write_state 0
		return
	fi
	local want=${MDOUYIN_CLUSTER_MYSQL_DSN:-${MDOUYIN_TEST_MYSQL_DSN:-root@tcp(127.0.0.1:3306)/}}
	DB_NAME=${MDOUYIN_CLUSTER_DB_NAME:-mdouyin_cluster}
	[[ $DB_NAME =~ ^[A-Za-z0-9_]{1,64}$ ]] || die "MDOUYIN_CLUSTER_DB_NAME=$DB_NAME: letters, digits and _ only"
	if [[ $want != own ]]; then
		[[ $want == */ ]] || die "MDOUYIN_CLUSTER_MYSQL_DSN=$want must name no database (end in /)"
		if mysql_answers "$want"; then
			DB_SERVER=$want drop=1 REUSED+=("MariaDB $DSN_HOST:$DSN_PORT")
		else
			log "no MySQL/MariaDB answers at $want; starting one"
		fi
	fi
	if [[ -z $DB_SERVER ]]; then
		need_command mariadbd mariadb-server
		local dir=$RUN/data/mysql user
		user=$(id -un)
		pick_port MYSQL_PORT mysql
		if [[ ! -d $dir/mysql ]]; then
			# Root without a password, over TCP from loopback only: this server
			# listens on 127.0.0.1 and belongs to this run directory.
			mariadb-install-db --no-defaults --datadir="$dir" --user="$user" --skip-test-db \
				--auth-root-authentication-method=normal >>"$RUN/logs/mysql.log" 2>&1 ||
				failed mysql "could not initialise $dir"
		fi
		spawn mysql -- "$(command -v mariadbd || echo /usr/sbin/mariadbd)" --no-defaults --datadir="$dir" \
			--socket="$RUN/data/mysql.sock" --pid-file="$RUN/data/mysql.pid" --port="$MYSQL_PORT" \
			--bind-address=127.0.0.1 --user="$user" --skip-log-bin --skip-name-resolve
		DB_SERVER="root@tcp(127.0.0.1:$MYSQL_PORT)/"
		STARTED+=(mysql)
	fi
	export MDOUYIN_DB_DSN=$DB_SERVER$DB_NAME
	write_state "$drop"
}

write_state() { printf '%s=%q\n' DB_DROP "$1" DB_SERVER "$DB_SERVER" DB_NAME "$DB_NAME" >"$RUN/state"; }

start_redis() {
	if [[ -n ${MDOUYIN_REDIS_ADDR:-} ]]; then
		log "Redis: using $MDOUYIN_REDIS_ADDR"
		return
	fi
	local want=${MDOUYIN_CLUSTER_REDIS_ADDR:-${MDOUYIN_TEST_REDIS_ADDR:-127.0.0.1:6379}}
	if [[ $want != own ]]; then
		if redis_answers "$want"; then
			export MDOUYIN_REDIS_ADDR=$want
			REUSED+=("Redis $want db $MDOUYIN_REDIS_DB")
			return
		fi
		log "no Redis answers at $want; starting one"
	fi
	need_command redis-server redis-server
	pick_port REDIS_PORT redis
	mkdir -p "$RUN/data/redis"
	spawn redis -- "$(command -v redis-server)" --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$RUN/data/redis" \
		--save '' --appendonly no --daemonize no --set-proc-title no # a retitled process would not match its record
	export MDOUYIN_REDIS_ADDR=127.0.0.1:$REDIS_PORT
	STARTED+=(redis)
}

start_nats() {
	if [[ -n ${MDOUYIN_NATS_URL:-} ]]; then
		log "NATS: using $MDOUYIN_NATS_URL"
		return
	fi
	local want=${MDOUYIN_CLUSTER_NATS_URL:-${MDOUYIN_TEST_NATS_URL:-nats://127.0.0.1:4222}}
	if [[ $want != own ]]; then
		if nats_jetstream "$want"; then
			export MDOUYIN_NATS_URL=$want
			REUSED+=("NATS $want (namespace ${MDOUYIN_NAMESPACE:-none})")
			return
		fi
		log "no NATS with JetStream answers at $want; starting one"
	fi
	# The server is a module our go.mod already pins; Debian's is too old.
	"$GO" build -o "$RUN/bin/nats-server" github.com/nats-io/nats-server/v2 >&2 || die "could not build nats-server"
	pick_port NATS_PORT nats
	spawn nats -- "$RUN/bin/nats-server" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$RUN/data/nats"
	export MDOUYIN_NATS_URL=nats://127.0.0.1:$NATS_PORT
	STARTED+=(nats)
}

wait_infra() {
	local n
	for n in ${STARTED[@]+"${STARTED[@]}"}; do
		case $n in
		etcd) wait_ready etcd "healthy" http_ok "$ETCD_PORT" /health ;;
		s3) wait_ready s3 "answering" http_ok "$S3_PORT" /health ;;
		mysql) wait_ready mysql "accepting connections" mysql_answers "$DB_SERVER" ;;
		redis) wait_ready redis "answering" redis_answers "$MDOUYIN_REDIS_ADDR" ;;
		nats) wait_ready nats "answering" nats_jetstream "$MDOUYIN_NATS_URL" ;;
		esac
	done
}

# start_replica ROLE I starts replica I of ROLE and names it in BATCH; HTTP_PORTS
# and RPC_PORTS (by name) say where it listens.
start_replica() {
	local role=$1 name=$1-$2 http rpc
	if [[ $name == gateway-1 ]]; then
		pick_port http "$name" "${MDOUYIN_CLUSTER_PORT:-}" "$(prev_port "$name")" 18080
	else
		pick_port http "$name"
	fi
	HTTP_PORTS[$name]=$http
	local vars=(MDOUYIN_HTTP_ADDR="127.0.0.1:$http" MDOUYIN_DATA_DIR="$RUN/data/$name")
	if [[ $role != gateway ]]; then
		pick_port rpc "$name-rpc"
		RPC_PORTS[$name]=$rpc
		vars+=(MDOUYIN_RPC_ADDR="127.0.0.1:$rpc")
	fi
	mkdir -p "$RUN/data/$name"
	spawn "$name" "${vars[@]}" -- "$RUN/bin/mdouyin" serve --role="$role"
	BATCH+=("$name")
}

# start_roles starts the first replica of every role, waits for them, then the
# others. The first replicas create or migrate the tables alone: two processes
# migrating the same service on a new database can fail ("missing zero version
# migration": goose checks its version table before taking the migration lock).
start_roles() {
	local role i
	[[ -z ${MDOUYIN_CLUSTER_PORT:-} ]] || ! port_open "$MDOUYIN_CLUSTER_PORT" ||
		die "MDOUYIN_CLUSTER_PORT=$MDOUYIN_CLUSTER_PORT is taken"
	BATCH=()
	for role in "${ROLES[@]}"; do start_replica "$role" 1; done
	wait_roles "${BATCH[@]}"
	((REPLICAS > 1)) || return 0
	BATCH=()
	for role in "${ROLES[@]}"; do
		for ((i = 2; i <= REPLICAS; i++)); do start_replica "$role" "$i"; done
	done
	wait_roles "${BATCH[@]}"
}

# wait_roles NAME...: every one answers /readyz, and every service replica has
# registered in etcd: callers find a replica only through its registration, so
# once all are there the first request through a gateway can reach every one.
wait_roles() {
	local name role
	for name in "$@"; do
		wait_ready "$name" "ready" http_ok "${HTTP_PORTS[$name]}" /readyz
	done
	[[ -n ${ETCD_PORT:-} ]] || return 0 # someone else's etcd: its keys are not ours to read
	for name in "$@"; do
		role=${name%-*}
		[[ $role != gateway ]] || continue
		wait_ready "$name" "registered in etcd" etcd_has_key "$ETCD_PORT" "$(registry_prefix)/$role/127.0.0.1:${RPC_PORTS[$name]}"
	done
}

# registry_prefix is where the roles register in etcd: under the namespace, when
# there is one (as internal/app's etcdPrefix puts it).
registry_prefix() {
	if [[ -n ${MDOUYIN_NAMESPACE:-} ]]; then
		printf 'mdouyin-ns/%s/kitex/registry-etcd' "$MDOUYIN_NAMESPACE"
	else
		printf 'kitex/registry-etcd'
	fi
}

gateway_urls() {
	local i urls=()
	for ((i = 1; i <= REPLICAS; i++)); do urls+=("http://127.0.0.1:${HTTP_PORTS[gateway-$i]}"); done
	echo "${urls[*]}"
}

# write_env writes cluster.env (what a client or test needs: source it) and
# roles.env (every MDOUYIN_* setting the role processes share, for running
# `mdouyin seed` or another replica by hand: `set -a; . roles.env; set +a`).
# cluster.env uses names of its own, so that a shell that sourced it neither
# points test/e2e at this cluster nor changes the next `up` or `make run`.
write_env() {
	local url=$1
	{
		echo "# mdouyin cluster in $RUN (written by deploy/cluster.sh up). To run test/e2e against it:"
		echo "#   MDOUYIN_E2E_URL=\$MDOUYIN_CLUSTER_URL MDOUYIN_JWT_SECRET=\$MDOUYIN_CLUSTER_JWT_SECRET \\"
		echo "#   MDOUYIN_E2E_ADMIN_PASSWORD=\$MDOUYIN_CLUSTER_ADMIN_PASSWORD go test -count=1 ./test/e2e/"
		printf 'export %s=%q\n' \
			MDOUYIN_CLUSTER_URL "$url" \
			MDOUYIN_CLUSTER_URLS "$(gateway_urls)" \
			MDOUYIN_CLUSTER_JWT_SECRET "$MDOUYIN_JWT_SECRET" \
			MDOUYIN_CLUSTER_ADMIN_PASSWORD "$MDOUYIN_ADMIN_PASSWORD" \
			MDOUYIN_CLUSTER_S3_ENDPOINT "$MDOUYIN_S3_ENDPOINT" \
			MDOUYIN_CLUSTER_S3_BUCKET "$MDOUYIN_S3_BUCKET" \
			MDOUYIN_CLUSTER_S3_ACCESS_KEY "${MDOUYIN_S3_ACCESS_KEY:-}" \
			MDOUYIN_CLUSTER_S3_SECRET_KEY "${MDOUYIN_S3_SECRET_KEY:-}"
	} >"$RUN/cluster.env"
	env | grep -E '^MDOUYIN_[A-Z0-9_]+=' | grep -vE '^MDOUYIN_(CLUSTER_|TEST_|E2E_|HTTP_ADDR=|RPC_ADDR=|DATA_DIR=)' |
		sort | while IFS= read -r kv; do printf '%s=%q\n' "${kv%%=*}" "${kv#*=}"; done >"$RUN/roles.env"
	chmod 600 "$RUN/cluster.env" "$RUN/roles.env"
}

summary() {
	local url=$1 secs=$2
	log "up in ${secs}s: $((${#ROLES[@]} * REPLICAS)) mdouyin processes ($REPLICAS per role, the gateway included)"
	log "  started: ${STARTED[*]:-nothing else}; reused: ${REUSED[*]:-nothing}"
	log "  database: ${MDOUYIN_DB_DSN##*/}; namespace: ${MDOUYIN_NAMESPACE:-none}; S3: $MDOUYIN_S3_ENDPOINT bucket $MDOUYIN_S3_BUCKET"
	log "  gateways: $(gateway_urls)"
	log "  admin console: $url/admin/ (user admin, password MDOUYIN_CLUSTER_ADMIN_PASSWORD in the env file)"
	log "  env file: $RUN/cluster.env; logs: $RUN/logs/; stop: make cluster-down"
}

lock_run_dir() {
	mkdir -p "$RUN"
	exec 9>"$RUN/.lock"
	flock -n 9 || die "another deploy/cluster.sh is working on $RUN"
}

cmd_up() {
	local t0=$SECONDS name
	lock_run_dir
	mkdir -p "$RUN"/{bin,logs,pids,data,secrets}
	touch "$RUN/.mdouyin-cluster" # marks the directory as ours for --purge
	mapfile -t names < <(recorded)
	if ((${#names[@]})); then
		local running=()
		for name in "${names[@]}"; do alive "$name" && running+=("$name"); done
		if ((${#running[@]} == ${#names[@]})) && [[ -f $RUN/cluster.env ]]; then
			# shellcheck disable=SC1091
			. "$RUN/cluster.env"
			log "already up ($RUN): ${#running[@]} processes; stop with make cluster-down"
			echo "$MDOUYIN_CLUSTER_URL"
			return 0
		fi
		((${#running[@]} == 0)) ||
			die "a cluster from $RUN is partly running (${running[*]}); stop it first: make cluster-down"
		rm -f "$RUN"/pids/*.pid # stale records of a cluster that is gone
	fi

	REPLICAS=${MDOUYIN_CLUSTER_REPLICAS:-2}
	[[ $REPLICAS =~ ^[1-9][0-9]?$ ]] || die "MDOUYIN_CLUSTER_REPLICAS=$REPLICAS: want 1-99"
	STARTED=() REUSED=() BATCH=()
	declare -gA HTTP_PORTS=() RPC_PORTS=()
	rm -f "$RUN/ports.new"
	UP_DONE=0
	# Whatever fails from here on, stop what was started.
	trap 'up_failed' EXIT
	trap 'exit 130' INT TERM

	command -v "$GO" >/dev/null || die "no go command ($GO); install Go first"
	log "building bin/mdouyin and etcd"
	"$GO" build -o bin/mdouyin ./cmd/mdouyin >&2 || die "go build ./cmd/mdouyin failed"
	# A copy of its own: rebuilding bin/ never changes a running cluster's
	# binary, and the path makes its processes' command lines this cluster's.
	cp bin/mdouyin "$RUN/bin/mdouyin.new" && mv "$RUN/bin/mdouyin.new" "$RUN/bin/mdouyin"
	"$GO" build -o "$RUN/bin/etcd" ./deploy/etcd >&2 || die "go build ./deploy/etcd failed"
	log "built in $((SECONDS - t0))s"
	scripts/ensure-ffmpeg.sh >&2 || log "warning: ffmpeg is missing; video uploads will be refused"

	# Settings every process shares; the caller's values win.
	export MDOUYIN_DB_DRIVER=${MDOUYIN_DB_DRIVER:-mysql} MDOUYIN_CACHE_DRIVER=${MDOUYIN_CACHE_DRIVER:-redis}
	export MDOUYIN_REDIS_DB=${MDOUYIN_REDIS_DB:-12}
	export MDOUYIN_EVENTS_DRIVER=${MDOUYIN_EVENTS_DRIVER:-nats} MDOUYIN_NAMESPACE=${MDOUYIN_NAMESPACE-cluster}
	export MDOUYIN_BLOB_DRIVER=${MDOUYIN_BLOB_DRIVER:-s3} MDOUYIN_S3_BUCKET=${MDOUYIN_S3_BUCKET:-mdouyin}
	export MDOUYIN_S3_REGION=${MDOUYIN_S3_REGION:-us-east-1}
	# Seven roles keep a database pool per process: share about 120 connections
	# among them, so the cluster fits a stock MariaDB (max_connections 151).
	export MDOUYIN_DB_MAX_OPEN_CONNS=${MDOUYIN_DB_MAX_OPEN_CONNS:-$((120 / (7 * REPLICAS) > 2 ? 120 / (7 * REPLICAS) : 2))}
	secret MDOUYIN_JWT_SECRET jwt.secret 32
	secret MDOUYIN_ADMIN_PASSWORD admin.password 12
	if [[ -z ${MDOUYIN_S3_ENDPOINT:-} ]]; then
		secret MDOUYIN_S3_ACCESS_KEY s3.access 8
		secret MDOUYIN_S3_SECRET_KEY s3.secret 20
	fi

	start_etcd
	start_s3
	start_mysql
	start_redis
	start_nats
	wait_infra
	log "servers ready after $((SECONDS - t0))s; starting ${#ROLES[@]} roles x $REPLICAS"
	start_roles
	mv "$RUN/ports.new" "$RUN/ports"

	local url=http://127.0.0.1:${HTTP_PORTS[gateway-1]}
	write_env "$url"
	UP_DONE=1
	summary "$url" $((SECONDS - t0))
	echo "$url"
}

up_failed() {
	local code=$?
	((UP_DONE)) && return
	trap - EXIT INT TERM
	log "cluster-up failed; stopping what it started"
	stop_recorded
	exit $((code ? code : 1))
}

# ---------------------------------------------------------------------------------
# down, status

cmd_down() {
	local purge=${CLUSTER_PURGE:-0}
	[[ ${1:-} != --purge ]] || purge=1
	[[ -d $RUN ]] || {
		log "no cluster in $RUN"
		return 0
	}
	lock_run_dir
	stop_recorded
	log "stopped ($RUN)"
	((purge == 1)) || return 0
	[[ -f $RUN/.mdouyin-cluster ]] || die "$RUN was not made by deploy/cluster.sh; not deleting it"
	drop_database
	rm -rf "$RUN"
	log "purged $RUN"
}

# drop_database drops the database `up` named on a MySQL it reused (see start_mysql).
drop_database() {
	local DB_DROP=0 DB_SERVER="" DB_NAME=""
	# shellcheck disable=SC1091
	[[ -f $RUN/state ]] && . "$RUN/state"
	[[ $DB_DROP == 1 && -n $DB_SERVER && -n $DB_NAME ]] || return 0
	if mysql_exec "$DB_SERVER" "DROP DATABASE IF EXISTS \`$DB_NAME\`"; then
		log "dropped database $DB_NAME"
	else
		log "warning: could not drop database $DB_NAME (no mariadb client, or the server is away); drop it by hand"
	fi
}

cmd_status() {
	local names name port
	mapfile -t names < <(recorded)
	((${#names[@]})) || {
		log "nothing running from $RUN"
		return 0
	}
	for name in "${names[@]}"; do
		port=$(prev_port "$name")
		if alive "$name"; then
			printf '%-16s running  pid %-8s %s\n' "$name" "$(pid_of "$name")" "${port:+127.0.0.1:$port}"
		else
			printf '%-16s gone\n' "$name"
		fi
	done
	[[ ! -f $RUN/cluster.env ]] || sed -n 's/^export MDOUYIN_CLUSTER_URL=/url: /p' "$RUN/cluster.env"
}

# ---------------------------------------------------------------------------------
# test

cmd_test() {
	command -v "$GO" >/dev/null || die "no go command ($GO)"
	RUN=$(mktemp -d "${TMPDIR:-/tmp}/mdouyin-cluster-test.XXXXXX")
	export MDOUYIN_CLUSTER_DIR=$RUN
	MDOUYIN_CLUSTER_DB_NAME=mdouyin_cluster_test_$(date +%s)_$$
	export MDOUYIN_CLUSTER_DB_NAME
	export MDOUYIN_CLUSTER_NATS_URL=${MDOUYIN_CLUSTER_NATS_URL:-own} MDOUYIN_CLUSTER_REDIS_ADDR=${MDOUYIN_CLUSTER_REDIS_ADDR:-own}
	# What test/e2e expects of a server it is pointed at, as its in-process server has.
	export MDOUYIN_SENSITIVE_WORDS=${MDOUYIN_SENSITIVE_WORDS:+$MDOUYIN_SENSITIVE_WORDS,}e2e屏蔽词
	export MDOUYIN_RATE_LIMITS=off
	export MDOUYIN_PASSWORD_MEMORY_KIB=${MDOUYIN_PASSWORD_MEMORY_KIB:-8192}
	export MDOUYIN_ADMIN_PASSWORD=${MDOUYIN_ADMIN_PASSWORD:-$(rand_hex 12)}
	unset MDOUYIN_E2E_URL MDOUYIN_E2E_STORES

	local url status=0
	trap 'test_cleanup 1' EXIT
	trap 'exit 130' INT TERM
	url=$("$SELF" up | tail -n1) || exit 1
	# shellcheck disable=SC1091
	. "$RUN/cluster.env"
	log "go test -count=1 ./test/e2e/${*:+ $*} against $url"
	MDOUYIN_E2E_URL=$url MDOUYIN_JWT_SECRET=$MDOUYIN_CLUSTER_JWT_SECRET MDOUYIN_E2E_ADMIN_PASSWORD=$MDOUYIN_CLUSTER_ADMIN_PASSWORD \
		"$GO" test -count=1 -timeout 20m ./test/e2e/ "$@" || status=$?
	if ((status == 0)); then
		# Every stored count must still equal its facts after the suite. The check
		# reads each count in a snapshot with its facts, so the running cluster
		# needs no quiet moment.
		log "mdouyin check against the cluster's database"
		(set -a && . "$RUN/roles.env" && set +a && "$RUN/bin/mdouyin" check) >&2 || status=$?
	fi
	trap - EXIT
	test_cleanup "$status"
	exit "$status"
}

test_cleanup() {
	local status=$1
	trap - EXIT INT TERM
	if ((status == 0)); then
		"$SELF" down --purge
	else
		"$SELF" down
		drop_database
		log "test run failed; logs kept in $RUN/logs (remove $RUN when done)"
	fi
}

case ${1:-} in
up) cmd_up ;;
down)
	shift
	cmd_down "$@"
	;;
status) cmd_status ;;
test)
	shift
	cmd_test "$@"
	;;
*)
	sed -n '2,7p' "$SELF" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
