#!/usr/bin/env bash
# rdp-topology.sh: what an RDP client brings with it, against real xfreerdp clients on Xvfb
# (loopback): NLA logons from a --rdp-users file (right password in, wrong password and unknown
# user out and logged, VNC untouched), the client's scale as the guest's physical size, live
# resize over Display Control (/dynamic-resolution and a window resize), two monitors on two
# heads (/multimon on a screen split into RandR monitors, one left of the primary; under
# follow and under heads), the fallback to the primary monitor on a VM with one head, a client killed mid-frame, and 20
# clients at once plus connections beyond the session limit. Every process it starts is
# bounded in time and ended by its PID. Not a timing test.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/x11.sh"
XVFB_FIRST=${XVFB_FIRST:-80} XVFB_LAST=${XVFB_LAST:-89}
need_kvm

HERE=$(cd "$(dirname "$0")" && pwd)
PNGCMP="$HERE/pngcmp.py"
for tool in python3 Xvfb xfreerdp xwd xdotool; do
	command -v "$tool" >/dev/null || { echo "not ok - $tool is missing (scripts/setup installs it)"; echo "0 passed, 1 failed"; exit 1; }
done

# rdp_port NAME: the RDP port `hyperdesk run` printed to $TMP/NAME.err.
rdp_port() {
	sed -n 's/.*RDP at 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/$1.err" | head -n1
}

# client NAME DISPLAY ARGS...: an xfreerdp on DISPLAY, bounded to 150 s; sets CP (the timeout
# process that owns it).
client() {
	local name=$1 disp=$2
	shift 2
	DISPLAY=$disp timeout -k 2 150 xfreerdp "/v:127.0.0.1:$RDP" /cert:ignore "$@" \
		</dev/null >"$TMP/xfreerdp-$name.log" 2>&1 &
	CP=$!
	PIDS="$PIDS $CP"
}

# client_rc NAME DISPLAY ARGS...: an xfreerdp that must end by itself within 40 s; sets crc.
client_rc() {
	local name=$1 disp=$2
	shift 2
	DISPLAY=$disp timeout -k 2 40 xfreerdp "/v:127.0.0.1:$RDP" /cert:ignore "$@" \
		</dev/null >"$TMP/xfreerdp-$name.log" 2>&1
	crc=$?
}

# wait_log FILE PATTERN [TENTHS]: waits (15 s by default) for PATTERN (grep -E) in FILE.
wait_log() {
	for _ in $(seq "${3:-150}"); do
		grep -qE -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# ---- the users file: refused before anything starts when it is unsafe or malformed ----
printf '# RDP users of this test\nalice:s3cret pass\n' >"$TMP/users"
# bob's password is "hunter2", given as its NT hash (MD4 of the UTF-16LE password).
printf 'bob::6608E4BC7B2B7A5F77CE3573570775AF\n' >>"$TMP/users"
chmod 600 "$TMP/users"
cp "$TMP/users" "$TMP/users-open"
chmod 644 "$TMP/users-open"
hd broker --channel "$TMP/x.sock" --rdp 127.0.0.1:0 --rdp-users "$TMP/users-open"
expect_rc "a users file others may read is refused" 2
expect_one_line_error "it says how to fix it" "chmod 600"
printf 'alice:pw\nno colon here\n' >"$TMP/users-bad"
chmod 600 "$TMP/users-bad"
hd broker --channel "$TMP/x.sock" --rdp 127.0.0.1:0 --rdp-users "$TMP/users-bad"
expect_rc "a malformed users file is refused" 2
expect_one_line_error "it names the line" "users-bad: line 2: no ':'"
hd broker --channel "$TMP/x.sock" --rdp-users "$TMP/users"
expect_rc "--rdp-users without --rdp is refused" 2
expect_one_line_error "it says RDP is needed" "needs RDP"

# With users, a non-loopback address is allowed (NLA is required there).
timeout -k 2 20 "$HD" broker --channel "$TMP/any.sock" --vnc 127.0.0.1:0 --rdp 0.0.0.0:0 \
	--rdp-users "$TMP/users" -v >"$TMP/any.out" 2>"$TMP/any.err" &
BP=$!
PIDS="$PIDS $BP"
if wait_log "$TMP/any.out" "^ready [0-9]+ rdp [0-9]+" && grep -q "NLA for 2 user(s)" "$TMP/any.err"; then
	ok "--rdp 0.0.0.0 with --rdp-users serves RDP with NLA for 2 users"
else
	not_ok "--rdp 0.0.0.0 with --rdp-users did not start" "$(cat "$TMP/any.err")"
fi
stop "$BP"

# ---- NLA, scale and live resize on one VM ----
if ! start_run nla -v --rdp 127.0.0.1:0 --rdp-users "$TMP/users" --state-dir "$TMP/state"; then
	not_ok "run with --rdp-users did not come up" "$(cat "$TMP/nla.err")"
	finish
fi
RDP=$(rdp_port nla)
VNC=$PORT
start_xvfb 1280x720 || { not_ok "no Xvfb could start on :$XVFB_FIRST to :$XVFB_LAST"; finish; }
X1=$XDISP

client_rc wrong "$X1" /sec:nla /u:alice /p:not-it /size:1100x650
[ "$crc" -ne 0 ] && [ "$crc" -ne 124 ] && ok "a wrong password is refused: xfreerdp exits $crc" ||
	not_ok "xfreerdp with a wrong password: exit $crc" "$(tail -3 "$TMP/xfreerdp-wrong.log")"
grep -q "NLA logon refused: wrong password for user 'alice' from 127.0.0.1" "$TMP/nla.err" &&
	ok "the broker logs the wrong password with the user and the peer" ||
	not_ok "no log line for the wrong password" "$(grep rdp "$TMP/nla.err" | tail -3)"
client_rc unknown "$X1" /sec:nla /u:mallory /p:whatever /size:1100x650
[ "$crc" -ne 0 ] && [ "$crc" -ne 124 ] && grep -q "unknown user 'mallory'" "$TMP/nla.err" &&
	ok "an unknown user is refused and logged" ||
	not_ok "unknown user: exit $crc" "$(grep rdp "$TMP/nla.err" | tail -3)"
client_rc tls "$X1" /sec:tls /size:1100x650
[ "$crc" -ne 0 ] && [ "$crc" -ne 124 ] && ok "a client without NLA (/sec:tls) is refused (exit $crc)" ||
	not_ok "a TLS-only client: exit $crc" "$(tail -3 "$TMP/xfreerdp-tls.log")"
if grep -q "display: head 0 1100x650" "$LOG"; then
	not_ok "a refused client reshaped the guest" "$(grep display "$LOG")"
else
	ok "no refused client reached the guest"
fi

client right "$X1" /sec:nla /u:alice "/p:s3cret pass" /size:1100x650
VP=$CP
wait_line "display: head 0 1100x650" 150 && ok "alice's right password connects: the guest takes her 1100x650" ||
	not_ok "alice never got the guest to 1100x650" "$(grep display "$LOG")" "$(tail -3 "$TMP/xfreerdp-right.log")"
timeout -k 2 30 "$HD" shot "vnc://127.0.0.1:$VNC" -o "$TMP/vnc.png" >/dev/null 2>"$TMP/shot.err" &&
	[ "$(python3 "$PNGCMP" size "$TMP/vnc.png" 2>/dev/null)" = 1100x650 ] &&
	ok "VNC keeps working beside NLA sessions" || not_ok "VNC after the refused logons" "$(cat "$TMP/shot.err")"
stop "$VP"

# The scale factor becomes the physical size: 1280 px at 140 % of 96 dpi is 242 mm.
client scale "$X1" /sec:nla /u:BOB /p:hunter2 /size:1280x720 /scale:140
VP=$CP
if wait_line "display: head 0 1280x720" 150; then
	"$HD" ctl "$SOCK" display-info >"$TMP/info" 2>&1
	grep -q '"requested":{"width":1280,"height":720,"width_mm":242,"height_mm":136,' "$TMP/info" &&
		ok "/scale:140 reaches the guest as 242x136 mm for 1280x720 (an NT hash logon, any case)" ||
		not_ok "/scale:140: the requested mode is not 242x136 mm" "$(cat "$TMP/info")"
else
	not_ok "bob (NT hash) never got the guest to 1280x720" "$(tail -3 "$TMP/xfreerdp-scale.log")"
fi
stop "$VP"

# Live resize: the client's window changes size, Display Control carries it to the guest.
client dyn "$X1" /sec:nla /u:alice "/p:s3cret pass" /size:1024x700 /dynamic-resolution
VP=$CP
if wait_line "display: head 0 1024x700" 150; then
	ok "/dynamic-resolution: the guest takes 1024x700 first"
	wait_log "$TMP/nla.err" "Display Control open" 150 || true
	W=""
	for _ in $(seq 50); do
		W=$(DISPLAY=$X1 xdotool search --class xfreerdp 2>/dev/null | head -n1)
		[ -n "$W" ] && break
		sleep 0.1
	done
	DISPLAY=$X1 timeout 10 xdotool windowsize "$W" 900 600 >/dev/null 2>&1
	wait_line "display: head 0 900x600" 150 && ok "resizing xfreerdp's window to 900x600 makes the guest 900x600" ||
		not_ok "the window resize never reached the guest" "$(grep display "$LOG" | tail -3)" "$(grep -E 'layout|Display' "$TMP/nla.err" | tail -3)"
	wait_log "$TMP/nla.err" "(resizing the client|resetting the client.s graphics) to 900x600" && ok "the client is resized to the guest's 900x600" ||
		not_ok "the client was not resized to 900x600" "$(grep rdp "$TMP/nla.err" | tail -3)"
else
	not_ok "/dynamic-resolution: the guest never took 1024x700" "$(tail -3 "$TMP/xfreerdp-dyn.log")"
fi
kill -0 "$VP" 2>/dev/null && ok "the resized client is still connected" || not_ok "the resized client quit" "$(tail -3 "$TMP/xfreerdp-dyn.log")"
stop "$VP" "$XPID"
kill -INT "$RUN_PID"
wait "$RUN_PID"
PIDS=$(echo " $PIDS " | sed "s/ $RUN_PID / /")

# ---- two monitors on two heads ----
if start_run multi --heads 2 --rdp 127.0.0.1:0 --state-dir "$TMP/state" -C still=1; then
	RDP=$(rdp_port multi)
	start_xvfb 2304x768 || { not_ok "no Xvfb for two monitors"; finish; }
	# The primary on the right, a 1024x600 monitor left of it (negative x for the client).
	if DISPLAY=$XDISP python3 "$HERE/xmonitors.py" 1280x720+1024+0 1024x600+0+0 2>"$TMP/xmon.err"; then
		client multi "$XDISP" /sec:tls /multimon
		VP=$CP
		wait_line "display: head 0 1280x720" 150 && ok "/multimon: the primary monitor's 1280x720 is head 0" ||
			not_ok "/multimon: head 0 never became 1280x720" "$(grep display "$LOG")" "$(tail -3 "$TMP/xfreerdp-multi.log")"
		wait_line "display: head 1 1024x600" 150 && ok "/multimon: the left monitor's 1024x600 is head 1" ||
			not_ok "/multimon: head 1 never became 1024x600" "$(grep display "$LOG")" "$(grep rdp "$TMP/multi.err" | tail -3)"
		# The client's screen shows the guest on both monitors: neither half is black.
		sleep 1
		capture "$XDISP" "$TMP/multi.png"
		if python3 - "$TMP/multi.png" <<'PY'; then
import sys, zlib, struct
data = open(sys.argv[1], "rb").read()
w, h = struct.unpack(">II", data[16:24])
idat, pos = b"", 8
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    if kind == b"IDAT":
        idat += data[pos + 8:pos + 8 + n]
    pos += 12 + n
raw = zlib.decompress(idat)
bpp = (len(raw) // h - 1) // w
# Rows are filtered; count nonzero bytes on sample rows of each monitor, near enough.
def lit(x0, x1):
    lit = 0
    for y in range(50, 550, 50):
        row = raw[y * (w * bpp + 1) + 1:(y + 1) * (w * bpp + 1)]
        lit += sum(1 for b in row[x0 * bpp:x1 * bpp] if b)
    return lit
sys.exit(0 if lit(0, 1024) > 1000 and lit(1024, 2304) > 1000 else 1)
PY
			ok "the client's screen shows pictures on both monitors"
		else
			not_ok "a monitor of the client stayed black"
		fi
		stop "$VP"
		kill -INT "$RUN_PID"
		wait "$RUN_PID"
		PIDS=$(echo " $PIDS " | sed "s/ $RUN_PID / /")
		# Under the heads policy a multi-monitor client takes free heads: a single-monitor
		# client holds head 0, so the primary gets head 1 and the left monitor head 2.
		if start_run heads --policy heads --heads 3 --rdp 127.0.0.1:0 --state-dir "$TMP/state" -C still=1; then
			RDP=$(rdp_port heads)
			XM=$XDISP XMP=$XPID
			start_xvfb 1024x700 || not_ok "no Xvfb for the first client"
			client single "$XDISP" /sec:tls /size:1024x700
			SP=$CP
			wait_line "display: head 0 1024x700" 150 && ok "heads: a first client takes head 0 at 1024x700" ||
				not_ok "heads: head 0 never became 1024x700" "$(grep display "$LOG")"
			client multih "$XM" /sec:tls /multimon
			VP=$CP
			wait_line "display: head 1 1280x720" 150 && wait_line "display: head 2 1024x600" 150 &&
				ok "heads: the two-monitor client takes the free heads 1 (1280x720) and 2 (1024x600)" ||
				not_ok "heads: the monitors did not get heads 1 and 2" "$(grep display "$LOG")" "$(grep -E 'rdp|broker' "$TMP/heads.err" | tail -4)"
			stop "$VP" "$SP" "$XPID"
			XPID=$XMP
			kill -INT "$RUN_PID"
			wait "$RUN_PID"
			PIDS=$(echo " $PIDS " | sed "s/ $RUN_PID / /")
		else
			not_ok "run --policy heads did not come up" "$(cat "$TMP/heads.err")"
		fi
	else
		not_ok "cannot split the X screen into monitors" "$(cat "$TMP/xmon.err")"
		kill -INT "$RUN_PID"
		wait "$RUN_PID"
		PIDS=$(echo " $PIDS " | sed "s/ $RUN_PID / /")
	fi
	stop "$XPID"
else
	not_ok "run --heads 2 did not come up" "$(cat "$TMP/multi.err")"
fi

# A VM with one head: the multi-monitor client gets its primary monitor only.
if start_run one --rdp 127.0.0.1:0 --state-dir "$TMP/state" -C still=1; then
	RDP=$(rdp_port one)
	start_xvfb 2304x768 && DISPLAY=$XDISP python3 "$HERE/xmonitors.py" 1280x720+1024+0 1024x600+0+0 2>"$TMP/xmon.err"
	client one "$XDISP" /sec:tls /multimon
	VP=$CP
	wait_log "$TMP/one.err" "the client has 2 monitors but vm 1 has 1 head\(s\): serving its primary monitor only" &&
		ok "one head: the broker says it serves the primary monitor only" ||
		not_ok "no fallback message" "$(grep -E 'rdp|broker' "$TMP/one.err" | tail -3)"
	wait_line "display: head 0 1280x720" 150 && ok "one head: the guest takes the primary's 1280x720" ||
		not_ok "one head: head 0 never became 1280x720" "$(grep display "$LOG")"
	kill -0 "$VP" 2>/dev/null && ok "one head: the client stays connected" || not_ok "one head: the client quit" "$(tail -3 "$TMP/xfreerdp-one.log")"
	stop "$VP" "$XPID"
	kill -INT "$RUN_PID"
	wait "$RUN_PID"
	PIDS=$(echo " $PIDS " | sed "s/ $RUN_PID / /")
else
	not_ok "run with one head did not come up" "$(cat "$TMP/one.err")"
fi

# ---- robustness: a client killed mid-frame; 20 clients; beyond the session limit ----
if ! start_run busy -v --rdp 127.0.0.1:0 --state-dir "$TMP/state" -C workload=video; then
	not_ok "run with the video workload did not come up" "$(cat "$TMP/busy.err")"
	finish
fi
RDP=$(rdp_port busy)
start_xvfb 1280x720 || { not_ok "no Xvfb for the survivor"; finish; }
XA=$XDISP XAP=$XPID
start_xvfb 1280x720 || { not_ok "no Xvfb for the victim"; finish; }
XB=$XDISP XBP=$XPID
client survivor "$XA" /sec:tls /size:1280x720
SP=$CP
wait_log "$TMP/busy.err" "rdp: info: session [0-9]+: first frame 1280x720 [0-9]+ ms after connect" || not_ok "the survivor never got a frame"
client victim "$XB" /sec:tls /size:1280x720
VP=$CP
for _ in $(seq 150); do
	[ "$(grep -cE "rdp: info: session [0-9]+: first frame 1280x720 [0-9]+ ms after connect" "$TMP/busy.err")" -ge 2 ] && break
	sleep 0.1
done
VID=$(grep -E "rdp: info: session [0-9]+: first frame 1280x720 [0-9]+ ms after connect" "$TMP/busy.err" | tail -n1 | sed 's/.*session \([0-9]*\):.*/\1/')
sleep 1 # the video workload keeps frames going out to it
VICTIM=$(pgrep -P "$VP" | head -n1)
if [ -n "$VICTIM" ] && [ -n "$VID" ]; then
	kill -9 "$VICTIM"
	wait_log "$TMP/busy.err" "session $VID: RDP client gone" && ok "a client killed mid-frame ends only its own session ($VID)" ||
		not_ok "the killed client's session did not end" "$(grep rdp "$TMP/busy.err" | tail -3)"
else
	not_ok "the victim xfreerdp was not running" "$(tail -3 "$TMP/xfreerdp-victim.log")"
fi
stop "$VP"
kill -0 "$RUN_PID" 2>/dev/null && ok "the broker and VM survive the killed client" || not_ok "run died" "$(tail -5 "$TMP/busy.err")"
# The survivor still gets frames: the video workload changes its screen.
capture "$XA" "$TMP/s1.png"
changed=0
for _ in $(seq 20); do
	sleep 0.3
	capture "$XA" "$TMP/s2.png"
	changed=$(python3 "$PNGCMP" compare "$TMP/s1.png" "$TMP/s2.png" 2>/dev/null | sed -n 's/.* \([0-9]*\) pixels (.*/\1/p')
	[ "${changed:-0}" -ge 1000 ] && break
done
[ "${changed:-0}" -ge 1000 ] && ok "another session still gets frames ($changed pixels changed)" ||
	not_ok "the surviving session's screen stopped changing" "$(grep rdp "$TMP/busy.err" | tail -3)"
stop "$SP" "$XBP"
kill -INT "$RUN_PID"
wait "$RUN_PID"
PIDS=$(echo " $PIDS " | sed "s/ $RUN_PID / /")

# 20 clients at once on one X screen, each 640x480: every one reaches its first frame.
if ! start_run crowd -v --rdp 127.0.0.1:0 --state-dir "$TMP/state" -C still=1; then
	not_ok "run for the crowd did not come up" "$(cat "$TMP/crowd.err")"
	finish
fi
RDP=$(rdp_port crowd)
MANY=""
for i in $(seq 20); do
	client "many$i" "$XA" /sec:tls /size:640x480
	MANY="$MANY $CP"
done
n=0
for _ in $(seq 600); do
	n=$(($(grep -cE "rdp: info: session [0-9]+: first frame 640x480 [0-9]+ ms after connect" "$TMP/crowd.err")))
	[ "$n" -ge 20 ] && break
	sleep 0.2
done
[ "$n" -ge 20 ] && ok "20 RDP clients at once all get their first frame" ||
	not_ok "only $n of 20 clients got a frame" "$(grep -E 'rdp|broker' "$TMP/crowd.err" | tail -5)"
alive=0
for p in $MANY; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
[ "$alive" -eq 20 ] && ok "all 20 clients stay connected" || not_ok "$alive of 20 clients are still connected"
# Beyond the session limit: connections are refused with a log line, the broker goes on.
python3 - "$RDP" <<'PY' 2>"$TMP/limit.err"
import socket, sys, time
port = int(sys.argv[1])
socks = []
for _ in range(70):
    try:
        socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    except OSError:
        pass
time.sleep(1.5)
for s in socks:
    s.close()
PY
wait_log "$TMP/crowd.err" "refusing a client: 64 sessions already" && ok "beyond 64 sessions a client is refused with a log line" ||
	not_ok "no refusal at the session limit" "$(tail -3 "$TMP/crowd.err")"
stop $MANY
kill -0 "$RUN_PID" 2>/dev/null && ok "the broker survives 20 clients and the limit" || not_ok "run died" "$(tail -5 "$TMP/crowd.err")"
timeout -k 2 30 "$HD" shot "vnc://127.0.0.1:$PORT" -o "$TMP/after.png" >/dev/null 2>"$TMP/shot.err" &&
	ok "a VNC client still gets the desktop ($(python3 "$PNGCMP" size "$TMP/after.png" 2>/dev/null))" ||
	not_ok "VNC after the RDP crowd" "$(cat "$TMP/shot.err")"
client last "$XA" /sec:tls /size:800x600
VP=$CP
wait_line "display: head 0 800x600" 200 && ok "a new RDP client is served afterwards (800x600)" ||
	not_ok "no new RDP session after the crowd" "$(grep -E 'rdp' "$TMP/crowd.err" | tail -3)"
stop "$VP" "$XAP"
kill -INT "$RUN_PID"
wait "$RUN_PID"
rrc=$?
PIDS=$(echo " $PIDS " | sed "s/ $RUN_PID / /")
[ "$rrc" -eq 0 ] && ok "run stops cleanly" || not_ok "run exit $rrc" "$(tail -5 "$TMP/crowd.err")"

finish
