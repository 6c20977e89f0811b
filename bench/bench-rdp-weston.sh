#!/usr/bin/env bash
# bench-rdp-weston.sh: Weston 10's RDP backend (headless, pixman, follows the client's size)
# beside hyperdesk's broker, seen from the same client (`hyperdesk shot rdp://`, libfreerdp,
# SurfaceBits without RemoteFX/NSCodec, which is what Weston 10 has for it): connect to the
# first frame (median of RUNS) at 1280x720 and 1920x1080, and SECONDS of streaming a small
# animated window (weston-simple-damage, a bouncing ball: small damage like the demo's
# typing workload). Prints Weston's figures; bench-rdp.sh has hyperdesk's. Asserts nothing.
# Usage: bench-rdp-weston.sh PATH-TO-hyperdesk [RUNS] [SECONDS]
set -u
HD=${1:?usage: $0 HYPERDESK [RUNS] [SECONDS]}
RUNS=${2:-10}
SECONDS_EACH=${3:-5}
command -v weston >/dev/null || { echo "bench-rdp-weston: weston is missing (scripts/setup installs it)" >&2; exit 1; }
TMP=$(mktemp -d)
WPID="" CPID=""
trap '[ -n "$CPID" ] && kill "$CPID" 2>/dev/null; [ -n "$WPID" ] && kill "$WPID" 2>/dev/null; rm -rf "$TMP"' EXIT
chmod 700 "$TMP"
export XDG_RUNTIME_DIR=$TMP

# A throwaway self-signed certificate for Weston's TLS.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=weston-bench \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }

# start_weston WxH: a fresh Weston at that size (resizing its output under a connected client
# has crashed Weston 10's desktop shell here); sets WPID and PORT.
start_weston() {
	PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	rm -f "$TMP/bench-wl" "$TMP/bench-wl.lock"
	timeout -k 5 600 weston --backend=rdp-backend.so --no-config --address=127.0.0.1 \
		--port="$PORT" --width="${1%x*}" --height="${1#*x}" --rdp-tls-cert="$TMP/cert.pem" \
		--rdp-tls-key="$TMP/key.pem" --socket=bench-wl --log="$TMP/weston.log" >/dev/null 2>&1 &
	WPID=$!
	for _ in $(seq 100); do
		[ -S "$TMP/bench-wl" ] && break
		sleep 0.1
	done
	sleep 1 # the shell's panel and background
}
stop_weston() {
	[ -n "$CPID" ] && kill "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
	kill "$WPID" 2>/dev/null
	wait "$WPID" 2>/dev/null
	CPID="" WPID=""
}

for size in 1280x720 1920x1080; do
	start_weston "$size"
	: >"$TMP/ms"
	: >"$TMP/ams"
	for _ in $(seq "$RUNS"); do
		st=$("$HD" shot "rdp://127.0.0.1:$PORT" --size "$size" --settle 0 --stats -o "$TMP/c.png" \
			2>>"$TMP/shot.err")
		echo "$st" | sed -n 's/.*connect_ms \([0-9]*\).*/\1/p' >>"$TMP/ms"
		echo "$st" | sed -n 's/.*active_ms \([0-9]*\).*/\1/p' >>"$TMP/ams"
	done
	printf "weston %-9s surfacebits connect->first frame median %s ms at the client (%s ms of it after the connection sequence) (%s runs)\n" \
		"$size" "$(median <"$TMP/ms")" "$(median <"$TMP/ams")" "$(wc -l <"$TMP/ms")"
	WAYLAND_DISPLAY=bench-wl timeout -k 2 600 weston-simple-damage >/dev/null 2>&1 &
	CPID=$!
	sleep 1
	out=$("$HD" shot "rdp://127.0.0.1:$PORT" --size "$size" --stream $((SECONDS_EACH * 1000)) \
		--stats -o "$TMP/s.png" 2>>"$TMP/shot.err")
	printf "weston %-9s surfacebits weston-simple-damage %s\n" "$size" \
		"$(echo "$out" | sed -n 's/.*\(fps [0-9.]*\).*/\1/p')"
	stop_weston
done
