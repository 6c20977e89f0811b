#!/usr/bin/env bash
# rdp.sh: the broker's RDP server against real clients: xfreerdp (TLS, no NLA, loopback) on
# an Xvfb screen makes the guest take the client's /size and the X screen shows the demo
# desktop as tests/reference has it, through each graphics path: GFX with H.264 (AVC420,
# xfreerdp's default), SurfaceBits (/bpp:16 turns GFX off) and GFX Planar (/gfx, which turns
# H.264 off), at 1280x720 and 1920x1080; `hyperdesk shot rdp://` (no X) gets AVC420 frames
# that decode to the reference and SurfaceBits frames that match it exactly; a client that
# acknowledges slowly gets frames paced by its acknowledgements, never a queue; a broker
# without libavcodec says so once and serves GFX clients Planar; the TLS
# certificate is generated once into the state folder; garbage on the RDP port disturbs
# nothing; RDP off loopback without --rdp-users is refused. Every process it starts is bounded
# in time and killed by its PID. Not a timing test (NLA, monitors, scale, live resize:
# rdp-topology.sh).
#
# Tolerances: lossless paths (SurfaceBits, Planar) 0.5 % of pixels off by more than 16 (the
# client draws its own pointer). AVC420 is 4:2:0 video: subsampling the chroma of coloured
# text alone puts 0.36 % (1280x720) and 0.16 % (1920x1080) of the reference's pixels more than
# 16 off, and the encoder at its QP adds ~0.02 points; 1 % leaves room for that and for the
# pointer while a wrong picture (black, shifted, flipped, stale) differs in tens of percent.
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
expect_rc "--rdp on a non-loopback address without users is refused" 2
expect_one_line_error "it says NLA logons are needed" "needs NLA logons (--rdp-users FILE)"

# hyperdesk shot rdp://: usage errors exit 2, an unreachable server 1, each with one line.
hd shot rdp://127.0.0.1:1 --gfx=vp9 -o "$TMP/x.png"
expect_rc "shot --gfx with an unknown codec is a usage error" 2
hd shot vnc://127.0.0.1:1 --slow 100 -o "$TMP/x.png"
expect_rc "shot --slow on vnc:// is a usage error" 2
hd shot vnc://127.0.0.1:1 --depth 15 -o "$TMP/x.png"
expect_rc "shot --depth 15 on vnc:// is a usage error" 2
expect_one_line_error "it says which depths VNC takes" "--depth on vnc:// is 16 or 24"
hd shot rdp://127.0.0.1:1 --depth 12 -o "$TMP/x.png"
expect_rc "shot --depth 12 is a usage error" 2
hd shot rdp://127.0.0.1:1 --gfx -o "$TMP/x.png" --timeout 5000
expect_rc "shot rdp:// with nothing listening fails" 1
expect_one_line_error "it says why" "cannot connect to an RDP server at 127.0.0.1 port 1"

LOG="$TMP/console"
SOCK="$TMP/control.sock"
# -v -v: the broker logs each GFX frame's codec (debug), which the checks below read.
timeout -k 5 250 "$HD" run -v -v --vnc 127.0.0.1:0 --rdp 127.0.0.1:0 --state-dir "$TMP/state" \
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






# codec_of N: how the broker served its Nth RDP session (AVC420, Planar, or SurfaceBits when
# it never opened the graphics pipeline).
codec_of() {
	local c
	c=$(sed -n "s/.*rdp-gfx: info: session $1: graphics pipeline, .*codec \([A-Za-z0-9]*\).*/\1/p" "$TMP/run.err" | head -n1)
	echo "${c:-SurfaceBits}"
}
SESSION=0

# One xfreerdp a case, on an Xvfb screen of that size: its window is the whole screen.
# xfreerdp_case SIZE WANT-CODEC TOLERANCE XFREERDP-ARGS...
xfreerdp_case() {
	local size=$1 want=$2 tol=$3
	shift 3
	SESSION=$((SESSION + 1))
	start_xvfb "$size" || { not_ok "$size $want: no Xvfb could start on :$XVFB_FIRST to :$XVFB_LAST"; return 1; }
	X=$XDISP XP=$XPID
	DISPLAY=$X timeout -k 2 100 xfreerdp "/v:127.0.0.1:$RDP" /cert:ignore /sec:tls "/size:$size" \
		/u:test /p:test "$@" >"$TMP/xfreerdp-$SESSION.log" 2>&1 &
	VP=$!
	PIDS="$PIDS $VP"
	wait_line "display: head 0 $size" && ok "$size $want: the client's /size makes the guest report head 0 $size" ||
		not_ok "$size $want: the guest never reported $size" "$(grep display "$LOG")" "$(tail -5 "$TMP/xfreerdp-$SESSION.log")"
	if TOLERANCE=$tol wait_match "$X" "$REF/desktop-$size.png"; then
		ok "$size $want: the client's screen shows the reference desktop ($cmp)"
	else
		not_ok "$size $want: the client's screen is not tests/reference/desktop-$size.png" "$cmp" "$(tail -5 "$TMP/xfreerdp-$SESSION.log")"
	fi
	local got
	got=$(codec_of "$SESSION")
	[ "$got" = "$want" ] && ok "$size $want: xfreerdp${*:+ $*} is served $got" ||
		not_ok "$size: xfreerdp${*:+ $*} is served $got, not $want" "$(grep "session $SESSION:" "$TMP/run.err" | tail -5)"
	kill -0 "$VP" 2>/dev/null && ok "$size $want: xfreerdp is still connected" || not_ok "$size $want: xfreerdp quit" "$(tail -5 "$TMP/xfreerdp-$SESSION.log")"
}

xfreerdp_case 1280x720 AVC420 0.01
if [ -n "${XP:-}" ]; then
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
	[ "${changed:-0}" -ge 300 ] && ok "1280x720: typed keys reach the guest's terminal ($changed pixels changed)" ||
		not_ok "1280x720: typing over RDP changed ${changed:-0} pixels" "$(tail -3 "$TMP/run.err")"
	stop "$VP" "$XP"
fi
# From here the terminal also shows "hello" and a new prompt: a few hundred pixels, well
# within every tolerance below.

# hyperdesk shot rdp:// with H.264: no X, AVC420 frames decoded by libfreerdp.
SESSION=$((SESSION + 1))
before=$(grep -c 'AVC420 frame' "$TMP/run.err")
if timeout -k 2 40 "$HD" shot "rdp://127.0.0.1:$RDP" --size 1280x720 --gfx -o "$TMP/shot-avc.png" \
	--timeout 30000 >"$TMP/shot-avc.out" 2>"$TMP/shot-avc.err"; then
	ok "shot rdp:// --gfx saves a 1280x720 frame"
	cmp=$(python3 "$PNGCMP" compare --tolerance 0.01 "$TMP/shot-avc.png" "$REF/desktop-1280x720.png" 2>&1) &&
		ok "the AVC420 frames decode to the reference desktop ($cmp)" || not_ok "AVC420 picture differs" "$cmp"
else
	not_ok "shot rdp:// --gfx failed" "$(cat "$TMP/shot-avc.err")"
fi
after=$(grep -c 'AVC420 frame' "$TMP/run.err")
[ "$(codec_of "$SESSION")" = AVC420 ] && [ "$after" -gt "$before" ] &&
	ok "the broker sent that client $((after - before)) AVC420 frame(s), the first an IDR" ||
	not_ok "no AVC420 frames logged for shot --gfx" "$(grep "session $SESSION:" "$TMP/run.err" | tail -5)"
grep "session $SESSION: AVC420 frame" "$TMP/run.err" | head -n1 | grep -q '(IDR,' ||
	not_ok "the first AVC420 frame is not an IDR" "$(grep "session $SESSION: AVC420" "$TMP/run.err" | head -2)"

# hyperdesk shot rdp:// without GFX: raw SurfaceBits, exact.
SESSION=$((SESSION + 1))
if timeout -k 2 40 "$HD" shot "rdp://127.0.0.1:$RDP" --size 1280x720 -o "$TMP/shot-raw.png" \
	--timeout 30000 >/dev/null 2>"$TMP/shot-raw.err"; then
	"$HD" ctl "$SOCK" screendump 0 "$TMP/raw-dump.png" >/dev/null
	cmp=$(python3 "$PNGCMP" compare --tolerance 0 --threshold 0 "$TMP/shot-raw.png" "$TMP/raw-dump.png" 2>&1) &&
		ok "shot rdp:// without --gfx gets SurfaceBits equal to the guest's screendump ($cmp)" ||
		not_ok "SurfaceBits capture differs from the screendump" "$cmp"
else
	not_ok "shot rdp:// (SurfaceBits) failed" "$(cat "$TMP/shot-raw.err")"
fi
[ "$(codec_of "$SESSION")" = SurfaceBits ] && ok "a client without GFX gets SurfaceBits" ||
	not_ok "a client without GFX got $(codec_of "$SESSION")"

# A GFX client follows the guest with ResetGraphics alone: connected at FreeRDP's default
# 1024x768, then a VNC client asks for 1280x720 (the follow policy switches the guest, and the
# RDP session with it), then the VNC client leaves and the guest returns to 1024x768. The
# last picture is the guest's own (its screendump; the desktop now says more than the
# reference) within AVC420's tolerance.
SESSION=$((SESSION + 1))
timeout -k 2 40 "$HD" shot "rdp://127.0.0.1:$RDP" --gfx --stream 6000 -o "$TMP/shot-rs.png" \
	--timeout 30000 >"$TMP/shot-rs.out" 2>"$TMP/shot-rs.err" &
RSP=$!
PIDS="$PIDS $RSP"
for _ in $(seq 100); do
	grep -q "session $SESSION: ResetGraphics 1024x768" "$TMP/run.err" && break
	sleep 0.1
done
timeout -k 2 30 "$HD" shot "vnc://127.0.0.1:$VNC" --size 1280x720 -o "$TMP/rs-vnc.png" >/dev/null 2>&1
RS_SESSION=$SESSION
SESSION=$((SESSION + 1)) # VNC and RDP sessions share the numbering
wait "$RSP"
rsrc=$?
PIDS=$(echo " $PIDS " | sed "s/ $RSP / /")
"$HD" ctl "$SOCK" screendump 0 "$TMP/rs-dump.png" >/dev/null
if [ "$rsrc" -eq 0 ] && grep -q "session $RS_SESSION: resetting the client's graphics to 1280x720" "$TMP/run.err" &&
	grep -q "session $RS_SESSION: resetting the client's graphics to 1024x768" "$TMP/run.err"; then
	ok "a GFX session followed the guest 1024x768 -> 1280x720 -> 1024x768 with ResetGraphics"
else
	not_ok "the GFX session did not follow the guest's modes" "$(cat "$TMP/shot-rs.err")" "$(grep "session $RS_SESSION:" "$TMP/run.err" | grep -v 'AVC420 frame' | tail -5)"
fi
cmp=$(python3 "$PNGCMP" compare --tolerance 0.01 "$TMP/shot-rs.png" "$TMP/rs-dump.png" 2>&1) &&
	ok "after two resets the client shows the guest's screen ($cmp)" || not_ok "picture after ResetGraphics" "$cmp"

# xfreerdp with 16 bits a pixel has no GFX: SurfaceBits (the guest is at 1280x720 already).
xfreerdp_case 1280x720 SurfaceBits 0.005 /bpp:16
# Its depth becomes the guest's: head 0's EDID says 6 bits per colour, the desktop redraws in
# RGB 5-6-5 (dithered), the broker sends 16-bit SurfaceBits, and the client shows what the
# guest drew (FreeRDP widens 5-6-5 without repeating the top bits: up to 7 off a channel).
wait_depth 16 6 && ok "a 16-bit client makes head 0 depth 16, 6 bits per colour" ||
	not_ok "head 0 did not take the client's depth" "$info"
grep -q "session $SESSION: raw SurfaceBits at 16 bits a pixel" "$TMP/run.err" &&
	ok "the broker sends it 16-bit SurfaceBits" ||
	not_ok "no 16-bit SurfaceBits" "$(grep "session $SESSION:" "$TMP/run.err" | tail -5)"
if wait_565 0 "$TMP/d16.png"; then
	ok "the guest draws for it in RGB 5-6-5 ($r565)"
	cmp=""
	for _ in $(seq 20); do
		capture "$X" "$TMP/x16.png" &&
			cmp=$(python3 "$PNGCMP" compare --threshold 7 --tolerance 0.005 "$TMP/x16.png" "$TMP/d16.png" 2>&1) && break
		sleep 0.5
	done
	case "$cmp" in
	SAME*) ok "the 16-bit client shows the guest's 5-6-5 picture ($cmp)" ;;
	*) not_ok "the 16-bit client's screen is not the guest's" "$cmp" ;;
	esac
else
	not_ok "the guest's screen is not RGB 5-6-5 under a 16-bit client" "$r565"
fi
stop "$VP" "$XP"
# With the client gone the guest is told full colour again and redraws undithered.
wait_depth 0 8 && wait_565 1 "$TMP/d24.png" &&
	ok "after the 16-bit client the guest draws full colour again ($r565)" ||
	not_ok "the guest stayed at 16-bit colour" "$info" "$r565"

# A 16-bit VNC client (SetPixelFormat R5 G6 B5) does the same; libvncserver's conversion of a
# 5-6-5 picture is exact, so its capture equals the guest's screendump.
SESSION=$((SESSION + 1))
timeout -k 2 40 "$HD" shot "vnc://127.0.0.1:$VNC" --depth 16 --settle 3000 -o "$TMP/v16.png" \
	>/dev/null 2>"$TMP/v16.err" &
V16=$!
PIDS="$PIDS $V16"
wait_depth 16 6 && wait_565 0 "$TMP/d16v.png" &&
	ok "a 16-bit VNC client makes the guest draw 5-6-5 ($r565)" ||
	not_ok "the guest did not follow a 16-bit VNC client" "$info" "$r565"
wait "$V16"
v16rc=$?
PIDS=$(echo " $PIDS " | sed "s/ $V16 / /")
if [ "$v16rc" -eq 0 ]; then
	cmp=$(python3 "$PNGCMP" compare --threshold 0 --tolerance 0 "$TMP/v16.png" "$TMP/d16v.png" 2>&1) &&
		ok "its 16-bit capture equals the guest's screendump ($cmp)" || not_ok "16-bit VNC capture differs" "$cmp"
else
	not_ok "shot vnc:// --depth 16 failed" "$(cat "$TMP/v16.err")"
fi
grep -q "session $SESSION: the client shows 16 bits a pixel" "$TMP/run.err" &&
	ok "the broker logs the VNC client's depth" ||
	not_ok "no depth logged for the VNC client" "$(grep "session $SESSION:" "$TMP/run.err" | tail -5)"
# xfreerdp /gfx offers no H.264: GFX with Planar, lossless.
xfreerdp_case 1920x1080 Planar 0.005 /gfx
stop "$VP" "$XP"

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

# A slow client: the guest animates (workload=video) and one client holds every GFX frame
# 250 ms before acknowledging it, while another acknowledges at once. The slow one gets
# about one frame per acknowledgement, never more than RDP_GFX_MAX_UNACKED (2) outstanding,
# and its damage merges instead of queueing; the other is not held back by it.
if start_run slow --rdp 127.0.0.1:0 --state-dir "$TMP/state" -v -v -C workload=video; then
	SRDP=$(sed -n 's/.*RDP at 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/slow.err" | head -n1)
	timeout -k 2 40 "$HD" shot "rdp://127.0.0.1:$SRDP" --size 1280x720 --gfx --slow 250 \
		--stream 4000 --stats -o "$TMP/slow.png" >"$TMP/slow-shot.out" 2>"$TMP/slow-shot.err" &
	SP=$!
	PIDS="$PIDS $SP"
	sleep 0.5
	timeout -k 2 40 "$HD" shot "rdp://127.0.0.1:$SRDP" --size 1280x720 --gfx \
		--stream 4000 --stats -o "$TMP/fast.png" >"$TMP/fast-shot.out" 2>"$TMP/fast-shot.err"
	frc=$?
	wait "$SP"
	src=$?
	PIDS=$(echo " $PIDS " | sed "s/ $SP / /")
	stop "$RUN_PID" # SIGTERM: the sessions' totals are logged on the way out
	slow_fps=$(sed -n 's/.* fps \([0-9.]*\).*/\1/p' "$TMP/slow-shot.out")
	fast_fps=$(sed -n 's/.* fps \([0-9.]*\).*/\1/p' "$TMP/fast-shot.out")
	if [ "$src" -eq 0 ] && [ "$frc" -eq 0 ] && [ -n "$slow_fps" ] && [ -n "$fast_fps" ]; then
		ok "both clients streamed (slow ${slow_fps} fps, prompt ${fast_fps} fps)"
	else
		not_ok "the slow/prompt clients failed ($src, $frc)" "$(cat "$TMP/slow-shot.err" "$TMP/fast-shot.err")"
	fi
	# 250 ms a frame is at most 4 a second, plus the ones already in flight.
	awk -v s="${slow_fps:-99}" 'BEGIN { exit !(s <= 5) }' &&
		ok "the slow client got at most ~4 frames a second (${slow_fps:-?})" ||
		not_ok "the slow client got ${slow_fps:-?} frames a second"
	awk -v s="${slow_fps:-0}" -v f="${fast_fps:-0}" 'BEGIN { exit !(f > 2 * s) }' &&
		ok "the prompt client was not held back by the slow one" ||
		not_ok "the prompt client got ${fast_fps:-?} fps beside ${slow_fps:-?}"
	worst=$(sed -n 's/.*rdp-gfx: info: session [0-9]*: .* at most \([0-9]*\) unacknowledged.*/\1/p' "$TMP/slow.err" | sort -n | tail -n1)
	[ -n "$worst" ] && [ "$worst" -le 2 ] &&
		ok "no session ever had more than $worst frames unacknowledged" ||
		not_ok "unacknowledged frames reached ${worst:-?}" "$(grep 'GFX frames' "$TMP/slow.err")"
else
	not_ok "run with workload=video did not come up" "$(tail -5 "$TMP/slow.err")"
fi

# A host without libavcodec: the broker says so once and GFX clients that want H.264 get
# Planar (lossless) instead. hide-avcodec.so makes dlopen of libavcodec fail.
HIDE="$(dirname "$GUESTS")/integration/hide-avcodec.so"
# A sanitizer build wants its runtime first among preloaded libraries.
ASAN_RT=$(ldd "$HD" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*libasan[^ ]*\).*/\1/p' | head -n1)
if [ -f "$HIDE" ]; then
	if LD_PRELOAD="${ASAN_RT:+$ASAN_RT }$HIDE" start_run noav --rdp 127.0.0.1:0 --state-dir "$TMP/state" -v -v -C still=1; then
		NRDP=$(sed -n 's/.*RDP at 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/noav.err" | head -n1)
		for i in 1 2; do
			timeout -k 2 40 "$HD" shot "rdp://127.0.0.1:$NRDP" --size 1280x720 --gfx \
				-o "$TMP/noav-$i.png" >/dev/null 2>"$TMP/noav-shot.err" || break
		done
		if [ -s "$TMP/noav-2.png" ]; then
			cmp=$(python3 "$PNGCMP" compare --tolerance 0.005 "$TMP/noav-2.png" "$REF/desktop-1280x720.png" 2>&1) &&
				ok "without libavcodec a --gfx client still gets the desktop ($cmp)" ||
				not_ok "without libavcodec: picture" "$cmp"
		else
			not_ok "without libavcodec shot --gfx failed" "$(cat "$TMP/noav-shot.err")"
		fi
		n=$(grep -c 'no H.264 for RDP clients' "$TMP/noav.err")
		[ "$n" -eq 1 ] && ok "the broker said once that it has no H.264" ||
			not_ok "the missing encoder was logged $n times" "$(grep -i h264 "$TMP/noav.err" | head -3)"
		[ "$(grep -c 'graphics pipeline, .*codec Planar' "$TMP/noav.err")" -eq 2 ] &&
			! grep -q 'AVC420 frame' "$TMP/noav.err" && ok "both sessions got Planar, no AVC420" ||
			not_ok "codecs without libavcodec" "$(grep 'graphics pipeline,' "$TMP/noav.err")"
		stop "$RUN_PID"
	else
		not_ok "run without libavcodec did not come up" "$(tail -5 "$TMP/noav.err")"
	fi
else
	not_ok "tests/integration/hide-avcodec.so was not built beside the test guests" "$HIDE"
fi

finish
