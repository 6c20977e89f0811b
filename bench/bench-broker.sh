#!/usr/bin/env bash
# bench-broker.sh: the display broker seen from a VNC client (bench-vnc): connect to the first
# frame at the client's own shape, SetDesktopSize to the first frame at the new shape (median
# of RUNS), and frames a second and bytes a frame for the demo's typing and video workloads in
# each encoding at 1280x720 (SECONDS each). Prints figures; asserts nothing.
# Usage: bench-broker.sh PATH-TO-hyperdesk PATH-TO-bench-vnc [RUNS] [SECONDS]
set -u
HD=${1:?usage: $0 HYPERDESK BENCH-VNC [RUNS] [SECONDS]}
BV=${2:?usage: $0 HYPERDESK BENCH-VNC [RUNS] [SECONDS]}
RUNS=${3:-20}
SECONDS_EACH=${4:-5}
TMP=$(mktemp -d)
RUN_PID=""
trap '[ -n "$RUN_PID" ] && kill "$RUN_PID" 2>/dev/null; rm -rf "$TMP"' EXIT

# start WORKLOAD...: `hyperdesk run` on a free loopback port; sets RUN_PID and PORT.
start() {
	timeout -k 5 600 "$HD" run --vnc 127.0.0.1:0 --serial "$TMP/console" "$@" >/dev/null 2>"$TMP/err" &
	RUN_PID=$!
	PORT=""
	for _ in $(seq 150); do
		PORT=$(sed -n 's/.*VNC at 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/err" | head -n1)
		[ -n "$PORT" ] && grep -q "display: head 0" "$TMP/console" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "bench-broker: run did not come up: $(cat "$TMP/err")" >&2
	exit 1
}
stop() {
	kill -INT "$RUN_PID" 2>/dev/null
	wait "$RUN_PID" 2>/dev/null
	RUN_PID=""
}

echo "== broker: connect and resize (still desktop, follow policy, $RUNS runs)"
start -C still=1
"$BV" connect 127.0.0.1 "$PORT" "$RUNS" 1024x768 # the guest's own shape: no switch
"$BV" connect 127.0.0.1 "$PORT" "$RUNS" 1280x720 1920x1080 # every connection switches
"$BV" resize 127.0.0.1 "$PORT" "$RUNS" 1280x720 1920x1080
stop

for wl in typing video; do
	echo "== broker: workload=$wl at 1280x720, ${SECONDS_EACH}s an encoding"
	start -C "workload=$wl"
	for enc in tight zrle hextile raw; do
		"$BV" stream 127.0.0.1 "$PORT" "$enc" "$SECONDS_EACH" 1280x720
	done
	stop
done
