# Helpers shared by the by-hand interop scripts (hack/interop-ironcore.sh,
# hack/interop-ironcore-apiserver.sh). Sourced, not run. The caller sets IC (IronCore's binaries) and
# WORK (logs in $WORK/logs, outputs in $WORK/out) first; every process started with `start` is
# stopped by pid on exit, newest first, after the caller's optional `cleanup_extra`.

PIDS=()
declare -A PID_OF
RESULTS=()
NOTES=()

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
note() { NOTES+=("$*"); }
result() { RESULTS+=("$1|$2|$3"); log "RESULT $1: $2 ($3)"; }
cleanup() {
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		kill -TERM "${PIDS[i]}" 2>/dev/null
	done
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		for _ in $(seq 1 30); do kill -0 "${PIDS[i]}" 2>/dev/null || break; sleep 1; done
		kill -KILL "${PIDS[i]}" 2>/dev/null
	done
	if declare -F cleanup_extra >/dev/null; then cleanup_extra; fi
	log "logs and outputs in $WORK"
}
trap cleanup EXIT

# start NAME CMD...: runs CMD in the background with its log in $WORK/logs/NAME.log.
start() {
	local name=$1; shift
	"$@" >"$WORK/logs/$name.log" 2>&1 &
	PIDS+=($!)
	PID_OF[$name]=$!
	log "started $name (pid $!)"
}

# wait_for SECONDS CMD...: polls CMD once a second until it succeeds.
wait_for() {
	local secs=$1; shift
	for _ in $(seq 1 "$secs"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 1
	done
	return 1
}

# run NAME CMD...: runs CMD, keeps its output in $WORK/out/NAME.txt, shows it.
run() {
	local name=$1; shift
	"$@" >"$WORK/out/$name.txt" 2>&1
	local rc=$?
	local cmd="$*"
	{ echo "\$ ${cmd//$IC\//}  (rc=$rc)"; sed 's/^/    /' "$WORK/out/$name.txt"; } >&2
	return $rc
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# print_results: the table of every result, as the scripts end.
print_results() {
	local r n s t
	printf '\n%-36s %-7s %s\n' pairing result notes
	for r in "${RESULTS[@]}"; do
		IFS='|' read -r n s t <<<"$r"
		printf '%-36s %-7s %s\n' "$n" "$s" "$t"
	done
}
