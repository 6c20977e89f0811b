#!/usr/bin/env bash
# rdp.sh: the broker's RDP server against a real client: xfreerdp (TLS, no NLA, loopback) on
# an Xvfb screen makes the guest take the client's /size and the X screen shows the demo
# desktop as tests/reference has it, at 1280x720 and then 1920x1080; the TLS certificate is
# generated once into the state folder; garbage on the RDP port disturbs nothing; RDP off
# loopback is refused (no NLA yet). Every process it starts is bounded in time and killed by
# its PID. Not a timing test.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/x11.sh"
XVFB_FIRST=${XVFB_FIRST:-80} XVFB_LAST=${XVFB_LAST:-89}
need_kvm

HERE=$(cd "$(dirname "$0")" && pwd)
REF=$(cd "$HERE/../reference" && pwd)
PNGCMP="$HERE/pngcmp.py"
for tool in python3 Xvfb xfreerdp xwd xdotool; do
	command -v "$tool" >/dev/null || { echo "not ok - $tool is missing (scripts/setup installs it)"; echo "0 passed, 1 failed"; exit 1; }
done

# The broker refuses RDP where it cannot serve it, before anything starts.
hd broker --channel "$TMP/x.sock" --rdp 0.0.0.0:0
expect_rc "--rdp on a non-loopback address is refused" 2
expect_one_line_error "it says NLA is needed" "needs NLA, which is not implemented yet"

LOG="$TMP/console"
SOCK="$TMP/control.sock"
timeout -k 5 200 "$HD" run --vnc 127.0.0.1:0 --rdp 127.0.0.1:0 --state-dir "$TMP/state" \
	--serial "$LOG" --control "$SOCK" -C still=1 >"$TMP/run.out" 2>"$TMP/run.err" &
RUN_PID=$!
PIDS="$PIDS $RUN_PID"
RDP="" VNC=""
for _ in $(seq 150); do
	RDP=$(sed -n 's/.*RDP at 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/run.err" | head -n1)
	VNC=$(sed -n 's/.*VNC at 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/run.err" | head -n1)
	[ -n "$RDP" ] && grep -q "display: head 0" "$LOG" 2>/dev/null && break
	sleep 0.1
done
if [ -z "$RDP" ]; then
	not_ok "run did not come up with RDP" "$(cat "$TMP/run.err")"
	finish
fi
ok "run serves RDP on port $RDP"






# One xfreerdp a size, on an Xvfb screen of that size: its window is the whole screen.
for size in 1280x720 1920x1080; do
	start_xvfb "$size" || { not_ok "$size: no Xvfb could start on :80 to :89"; continue; }
	X=$XDISP XP=$XPID
	DISPLAY=$X timeout -k 2 100 xfreerdp "/v:127.0.0.1:$RDP" /cert:ignore /sec:tls "/size:$size" \
		/u:test /p:test >"$TMP/xfreerdp-$size.log" 2>&1 &
	VP=$!
	PIDS="$PIDS $VP"
	wait_line "display: head 0 $size" && ok "$size: the client's /size makes the guest report head 0 $size" ||
		not_ok "$size: the guest never reported $size" "$(grep display "$LOG")" "$(tail -5 "$TMP/xfreerdp-$size.log")"
	if wait_match "$X" "$REF/desktop-$size.png"; then
		ok "$size: the client's screen shows the reference desktop ($cmp)"
	else
		not_ok "$size: the client's screen is not tests/reference/desktop-$size.png" "$cmp" "$(tail -5 "$TMP/xfreerdp-$size.log")"
	fi
	kill -0 "$VP" 2>/dev/null && ok "$size: xfreerdp is still connected" || not_ok "$size: xfreerdp quit" "$(tail -5 "$TMP/xfreerdp-$size.log")"
	if [ "$size" = 1280x720 ]; then
		# Keyboard: Xvfb has no window manager, so give xfreerdp's window the focus first.
		W=$(DISPLAY=$X xdotool search --class xfreerdp 2>/dev/null | head -n1)
		[ -n "$W" ] && DISPLAY=$X timeout 10 xdotool windowfocus --sync "$W" >/dev/null 2>&1
		sleep 0.5
		"$HD" ctl "$SOCK" screendump 0 "$TMP/kb-before.png" >/dev/null
		DISPLAY=$X timeout 10 xdotool type --delay 40 hello >/dev/null 2>&1
		DISPLAY=$X timeout 10 xdotool key Return >/dev/null 2>&1
		changed=0
		for _ in $(seq 20); do
			sleep 0.25
			"$HD" ctl "$SOCK" screendump 0 "$TMP/kb-after.png" >/dev/null
			changed=$(python3 "$PNGCMP" compare "$TMP/kb-before.png" "$TMP/kb-after.png" 2>/dev/null |
				sed -n 's/.* \([0-9]*\) pixels (.*/\1/p')
			[ "${changed:-0}" -ge 300 ] && break
		done
		# "hello", Return and a new prompt line are several hundred pixels; nothing is ~0.
		[ "${changed:-0}" -ge 300 ] && ok "$size: typed keys reach the guest's terminal ($changed pixels changed)" ||
			not_ok "$size: typing over RDP changed ${changed:-0} pixels" "$(tail -3 "$TMP/run.err")"
	fi
	stop "$VP" "$XP"
done

# The certificate was made once and kept, the key private.
if [ -s "$TMP/state/rdp-tls-cert.pem" ] && [ "$(stat -c %a "$TMP/state/rdp-tls-key.pem" 2>/dev/null)" = 600 ]; then
	ok "the TLS certificate is kept in the state folder (key mode 600)"
else
	not_ok "no certificate in the state folder" "$(ls -l "$TMP/state" 2>&1)"
fi
[ "$(grep -c 'generated a self-signed TLS certificate' "$TMP/run.err")" -le 1 ] &&
	ok "the certificate was generated at most once" || not_ok "the certificate was generated again"

# Hostile clients: garbage, a truncated TLS hello, a connection left open; none may disturb
# the broker or its VNC sessions.
python3 - "$RDP" <<'PY' 2>"$TMP/hostile.err"
import os, socket, sys, time
port = int(sys.argv[1])
def send(data, linger=0.2):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(data)
        time.sleep(linger)
        s.recv(4096)
    except OSError:
        pass
    s.close()
send(os.urandom(4096))
send(b"\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00\x01\x00\x08\x00\x01\x00\x00\x00")  # X.224 CR asking for TLS, then gone
send(b"\x03\x00\xff\xff" + os.urandom(64))  # a TPKT that claims more than it sends
send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # half a TLS ClientHello
PY
sleep 1
kill -0 "$RUN_PID" 2>/dev/null && ok "run survives garbage on the RDP port" || not_ok "run died after garbage on the RDP port" "$(tail -5 "$TMP/run.err")"
timeout -k 2 30 "$HD" shot "vnc://127.0.0.1:$VNC" -o "$TMP/after.png" >/dev/null 2>"$TMP/shot.err" &&
	[ "$(python3 "$PNGCMP" size "$TMP/after.png" 2>/dev/null)" = 1920x1080 ] &&
	ok "a VNC client still gets the 1920x1080 desktop" || not_ok "VNC after RDP garbage" "$(cat "$TMP/shot.err")"

kill -INT "$RUN_PID"
wait "$RUN_PID"
rrc=$?
PIDS=$(echo " $PIDS " | sed "s/ $RUN_PID / /")
[ "$rrc" -eq 0 ] && ok "run stops cleanly" || not_ok "run exit $rrc" "$(tail -5 "$TMP/run.err")"

finish
