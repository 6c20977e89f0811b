# x11.sh: helpers for tests that need an X display: a private Xvfb, a capture of its screen
# as PNG, waiting until it matches a reference. Sourced after lib.sh; not a test itself.
# Set XVFB_FIRST/XVFB_LAST (display numbers to try, default 90-99) before calling start_xvfb.

SCREEN="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/screen.py"

# start_xvfb WxH: an Xvfb on the first free display from XVFB_FIRST to XVFB_LAST; sets XDISP,
# XPID. Bounded: the server ends itself after 250 s at the latest.
start_xvfb() {
	XDISP=""
	for n in $(seq "${XVFB_FIRST:-90}" "${XVFB_LAST:-99}"); do
		[ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] && continue
		timeout -k 2 250 Xvfb ":$n" -screen 0 "${1}x24" -nolisten tcp -noreset \
			>"$TMP/xvfb-$n.log" 2>&1 &
		XPID=$!
		PIDS="$PIDS $XPID"
		for _ in $(seq 50); do
			if [ -e "/tmp/.X11-unix/X$n" ] && DISPLAY=":$n" xwd -root -silent >/dev/null 2>&1; then
				XDISP=":$n"
				return 0
			fi
			kill -0 "$XPID" 2>/dev/null || break
			sleep 0.1
		done
		kill "$XPID" 2>/dev/null # lost a race for that number, or it failed: the next one
		wait "$XPID" 2>/dev/null
	done
	return 1
}

# capture DISPLAY FILE.png: the whole X screen as a PNG.
capture() {
	DISPLAY=$1 timeout 20 xwd -root -silent >"$TMP/cap.xwd" 2>/dev/null &&
		python3 "$SCREEN" xwd2png "$TMP/cap.xwd" "$2" >/dev/null
}

# wait_match DISPLAY REF.png [SECONDS]: captures until the screen matches REF within
# TOLERANCE (default 0.5 %: clients draw their own pointer and may use lossy encodings);
# sets cmp to the last comparison.
wait_match() {
	local end=$((SECONDS + ${3:-15}))
	cmp=""
	while [ "$SECONDS" -lt "$end" ]; do
		capture "$1" "$TMP/screen.png" &&
			cmp=$(python3 "$PNGCMP" compare --tolerance "${TOLERANCE:-0.005}" "$TMP/screen.png" "$2" 2>&1) && return 0
		sleep 0.5
	done
	return 1
}
