#!/usr/bin/env bash
# bench-rdp.sh: the broker's RDP server seen from `hyperdesk shot rdp://` (libfreerdp, software
# GDI): connect to the first frame (median of RUNS) at the guest's own size and at a size the
# guest must switch to, at the client (from its start: most of it is libfreerdp's own connection
# sequence) and in the broker (from the accepted connection, its log); then, for the demo's typing and video workloads at 1280x720 and
# 1920x1080, SECONDS of streaming through each graphics path (GFX H.264/AVC420, GFX Planar,
# raw SurfaceBits at 32 and at 16 bits a pixel): frames a second at the client, bytes a frame
# and encoder milliseconds a frame from the broker's session totals. Prints figures; asserts
# nothing. STREAM_ONLY=1 skips the connect and reset figures; PATHS limits the streaming paths.
# Usage: bench-rdp.sh PATH-TO-hyperdesk [RUNS] [SECONDS]
set -u
HD=${1:?usage: $0 HYPERDESK [RUNS] [SECONDS]}
RUNS=${2:-10}
SECONDS_EACH=${3:-5}
TMP=$(mktemp -d)
RUN_PID=""
trap '[ -n "$RUN_PID" ] && kill "$RUN_PID" 2>/dev/null; rm -rf "$TMP"' EXIT

# start ARGS...: `hyperdesk run` with VNC and RDP on free loopback ports; sets RUN_PID, RDP, VNC.
start() {
	: >"$TMP/err"
	timeout -k 5 900 "$HD" run -v --vnc 127.0.0.1:0 --rdp 127.0.0.1:0 --state-dir "$TMP/state" \
		--serial "$TMP/console" "$@" >/dev/null 2>"$TMP/err" &
	RUN_PID=$!
	RDP=""
	for _ in $(seq 150); do
		RDP=$(sed -n 's/.*RDP at 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/err" | head -n1)
		VNC=$(sed -n 's/.*VNC at 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/err" | head -n1)
		[ -n "$RDP" ] && grep -q "display: head 0" "$TMP/console" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "bench-rdp: run did not come up: $(cat "$TMP/err")" >&2
	exit 1
}
stop() {
	kill -INT "$RUN_PID" 2>/dev/null
	wait "$RUN_PID" 2>/dev/null
	RUN_PID=""
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }
# path_args PATH: the shot options for a graphics path.
path_args() {
	case "$1" in
	h264) echo "--gfx=h264" ;;
	planar) echo "--gfx=planar" ;;
	surfacebits) echo "" ;;
	surfacebits16) echo "--depth 16" ;;
	esac
}
# session_totals N: "frames bytes enc_ms" of the broker's session N (its lines at the end).
session_totals() {
	local n=$1 f b e
	for _ in $(seq 50); do
		grep -q "rdp: info: session $n: RDP client gone" "$TMP/err" && break
		sleep 0.1
	done
	f=$(sed -n "s/.*rdp: info: session $n: RDP client gone (\([0-9]*\) frames, \([0-9]*\) bytes).*/\1/p" "$TMP/err")
	b=$(sed -n "s/.*rdp: info: session $n: RDP client gone (\([0-9]*\) frames, \([0-9]*\) bytes).*/\2/p" "$TMP/err")
	e=$(sed -n "s/.*rdp-gfx: info: session $n: .*encoder \([0-9.]*\) ms a frame.*/\1/p" "$TMP/err")
	echo "${f:-0} ${b:-0} ${e:--}"
}

if [ "${STREAM_ONLY:-0}" != 1 ]; then
SESSION=0
echo "== rdp: connect to the first frame (still desktop, follow policy, median of $RUNS)"
start -C still=1
for path in h264 planar surfacebits; do
	for mode in same switch; do
		: >"$TMP/ms"
		: >"$TMP/ams"
		: >"$TMP/bms"
		for i in $(seq "$RUNS"); do
			size=1280x720
			[ "$mode" = switch ] && [ $((i % 2)) -eq 1 ] && size=1920x1080
			# shellcheck disable=SC2046
			st=$("$HD" shot "rdp://127.0.0.1:$RDP" --size "$size" $(path_args "$path") \
				--settle 0 --stats -o "$TMP/c.png" 2>>"$TMP/shot.err")
			echo "$st" | sed -n 's/.*connect_ms \([0-9]*\).*/\1/p' >>"$TMP/ms"
			echo "$st" | sed -n 's/.*active_ms \([0-9]*\).*/\1/p' >>"$TMP/ams"
			SESSION=$((SESSION + 1))
			for _ in $(seq 20); do
				grep -q "session $SESSION: first frame" "$TMP/err" && break
				sleep 0.05
			done
			sed -n "s/.*rdp: info: session $SESSION: first frame .* \([0-9]*\) ms after connect.*/\1/p" \
				"$TMP/err" >>"$TMP/bms"
		done
		printf "%-12s %-6s connect->first frame median %s ms at the client (%s ms of it after the connection sequence), %s ms in the broker (%s runs)\n" \
			"$path" "$mode" "$(median <"$TMP/ms")" "$(median <"$TMP/ams")" "$(median <"$TMP/bms")" "$(wc -l <"$TMP/ms")"
	done
done
stop

echo "== rdp: the guest's mode changes under a GFX session (ResetGraphics to the first frame, in the broker, median)"
start -C still=1
SESSION=0
for path in h264 planar; do
	# One RDP session at FreeRDP's default 1024x768; a VNC client at another size makes the
	# guest (follow policy) and with it the RDP session switch, and back when it leaves.
	# shellcheck disable=SC2046
	"$HD" shot "rdp://127.0.0.1:$RDP" $(path_args "$path") --stream $((RUNS * 3000)) \
		-o "$TMP/r.png" >/dev/null 2>>"$TMP/shot.err" &
	SP=$!
	SESSION=$((SESSION + 1))
	RS=$SESSION
	sleep 3
	for i in $(seq "$RUNS"); do
		size=1280x720
		[ $((i % 2)) -eq 0 ] && size=1920x1080
		"$HD" shot "vnc://127.0.0.1:$VNC" --size "$size" -o "$TMP/v.png" >/dev/null 2>&1
		SESSION=$((SESSION + 1))
		sleep 0.5
	done
	wait "$SP"
	sed -n "s/.*rdp-gfx: info: session $RS: first frame .* \([0-9]*\) ms after ResetGraphics.*/\1/p" \
		"$TMP/err" | tail -n +2 >"$TMP/rms" # the first is the session's own start
	printf "%-12s ResetGraphics->first frame median %s ms (%s resets)\n" "$path" \
		"$(median <"$TMP/rms")" "$(wc -l <"$TMP/rms")"
done
stop

fi

for wl in typing video; do
	echo "== rdp: workload=$wl, ${SECONDS_EACH}s a path and size"
	start -C "workload=$wl"
	SESSION=0
	for size in 1280x720 1920x1080; do
		for path in ${PATHS:-h264 planar surfacebits surfacebits16}; do
			# shellcheck disable=SC2046
			out=$("$HD" shot "rdp://127.0.0.1:$RDP" --size "$size" $(path_args "$path") \
				--stream $((SECONDS_EACH * 1000)) --stats -o "$TMP/s.png" 2>>"$TMP/shot.err")
			SESSION=$((SESSION + 1))
			fps=$(echo "$out" | sed -n 's/.* fps \([0-9.]*\).*/\1/p')
			read -r f b e <<<"$(session_totals "$SESSION")"
			bpf=$([ "$f" -gt 0 ] && echo $((b / f)) || echo -)
			printf "%-9s %-12s fps %6s  bytes/frame %9s  encoder ms/frame %6s  (%s frames)\n" \
				"$size" "$path" "${fps:--}" "$bpf" "$e" "$f"
		done
	done
	stop
done
