#!/usr/bin/env bash
# viewer.sh: a real desktop VNC viewer against the broker: TigerVNC's vncviewer with
# RemoteResize in full screen on an Xvfb screen makes the guest take the screen's shape, and
# the X screen (xwd) shows the demo desktop as tests/reference has it; then a second viewer on
# a second Xvfb under each policy (follow, heads, fixed). Every process it starts is bounded in
# time and killed by its PID. Not a timing test.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/x11.sh"
XVFB_FIRST=90 XVFB_LAST=99
need_kvm

HERE=$(cd "$(dirname "$0")" && pwd)
REF=$(cd "$HERE/../reference" && pwd)
PNGCMP="$HERE/pngcmp.py"
for tool in python3 Xvfb vncviewer xwd; do
	command -v "$tool" >/dev/null || { echo "not ok - $tool is missing (scripts/setup installs it)"; echo "0 passed, 1 failed"; exit 1; }
done




# start_viewer DISPLAY NAME: vncviewer in full screen with RemoteResize; sets VPID.
start_viewer() {
	DISPLAY=$1 timeout -k 2 200 vncviewer -RemoteResize=1 -FullScreen=1 "127.0.0.1::$PORT" \
		>"$TMP/$2.log" 2>&1 &
	VPID=$!
	PIDS="$PIDS $VPID"
}




# head_shape N: "WxH" of head N's scanout from the VM's control socket, or "none".
head_shape() {
	timeout 10 "$HD" ctl "$SOCK" display-info 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
h = [x for x in d["heads"] if x["head"] == int(sys.argv[1])]
s = h[0]["scanout"] if h else None
print("%dx%d" % (s["width"], s["height"]) if s else "none")' "$1" 2>/dev/null || echo "?"
}

for policy in ${POLICIES:-follow heads fixed}; do
	echo "# policy $policy"
	if ! start_run "$policy" --policy "$policy" -C still=1; then
		not_ok "$policy: run did not come up" "$(cat "$TMP/$policy.err")"
		continue
	fi
	start_xvfb 1280x720 || { not_ok "$policy: no Xvfb could start on :90 to :99"; stop "$RUN_PID"; continue; }
	XA=$XDISP XA_PID=$XPID
	start_viewer "$XA" "$policy-viewer1"
	VA=$VPID
	if [ "$policy" = fixed ]; then
		# No reconfiguration: the viewer's SetDesktopSize is refused, the guest keeps 1024x768.
		sleep 3
		alive=$(kill -0 "$VA" 2>/dev/null && echo yes)
		[ "$alive" = yes ] && ok "fixed: the viewer stays connected" || not_ok "fixed: the viewer quit" "$(tail -5 "$TMP/$policy-viewer1.log")"
		[ "$(grep -c '^display: head 0' "$LOG")" -eq 1 ] && [ "$(head_shape 0)" = 1024x768 ] &&
			ok "fixed: the guest stays at 1024x768" || not_ok "fixed: the display changed" "$(grep display "$LOG")"
	else
		wait_line "display: head 0 1280x720" && ok "$policy: a 1280x720 viewer makes the guest report head 0 1280x720" ||
			not_ok "$policy: the guest never reported 1280x720" "$(grep display "$LOG")" "$(tail -5 "$TMP/$policy-viewer1.log")"
		if wait_match "$XA" "$REF/desktop-1280x720.png"; then
			ok "$policy: the viewer's screen shows the reference desktop ($cmp)"
		else
			not_ok "$policy: the viewer's screen is not tests/reference/desktop-1280x720.png" "$cmp"
		fi
	fi

	# A second viewer on a 1600x900 screen.
	start_xvfb 1600x900 || { not_ok "$policy: no second Xvfb"; stop "$VA" "$XA_PID" "$RUN_PID"; continue; }
	XB=$XDISP XB_PID=$XPID
	start_viewer "$XB" "$policy-viewer2"
	VB=$VPID
	case $policy in
	follow)
		wait_line "display: head 0 1600x900" && ok "follow: the second viewer takes head 0 to 1600x900" ||
			not_ok "follow: head 0 never went to 1600x900" "$(grep display "$LOG")"
		sleep 2
		[ "$(head_shape 0)" = 1600x900 ] && ok "follow: head 0 stays 1600x900 (the viewers do not fight)" ||
			not_ok "follow: head 0 is $(head_shape 0)" "$(grep display "$LOG" | tail -4)"
		# The first viewer keeps working at the new shape: its full screen window now shows
		# the top left of the 1600x900 desktop that a plain client of the broker sees.
		timeout -k 2 30 "$HD" shot "vnc://127.0.0.1:$PORT" -o "$TMP/whole.png" >/dev/null 2>"$TMP/shot.err"
		if [ "$(python3 "$PNGCMP" size "$TMP/whole.png" 2>/dev/null)" = 1600x900 ] &&
			python3 "$SCREEN" crop "$TMP/whole.png" "$TMP/whole-tl.png" 0 0 1280 720 &&
			wait_match "$XA" "$TMP/whole-tl.png" 10; then
			ok "follow: the first viewer now shows the 1600x900 desktop ($cmp)"
		else
			not_ok "follow: the first viewer does not show the 1600x900 desktop" "$cmp" "$(cat "$TMP/shot.err")"
		fi
		kill -0 "$VA" 2>/dev/null && ok "follow: the first viewer is still connected" || not_ok "follow: the first viewer quit"
		win=$(DISPLAY=$XA xwininfo -root -children 2>/dev/null | grep -c '1280x720+0+0')
		[ "$win" -ge 1 ] && ok "follow: its window is still the full 1280x720 screen" || not_ok "follow: no full screen window on the first screen"
		;;
	heads)
		wait_line "display: head 1 1600x900" && ok "heads: the second viewer gets head 1 at 1600x900" ||
			not_ok "heads: head 1 never went to 1600x900" "$(grep display "$LOG")"
		sleep 1
		h0=$(head_shape 0) h1=$(head_shape 1)
		[ "$h0" = 1280x720 ] && [ "$h1" = 1600x900 ] && ok "heads: display-info shows head 0 1280x720, head 1 1600x900" ||
			not_ok "heads: display-info shows head 0 $h0, head 1 $h1"
		# The desktop's text now says "2 enabled of 4" heads and one more display event
		# (dmesg too): ~0.3 % of the pixels; a blank, moved or resized screen is far more.
		TOLERANCE=0.01 wait_match "$XA" "$REF/desktop-1280x720.png" 5 &&
			ok "heads: the first viewer still shows the 1280x720 desktop ($cmp)" ||
			not_ok "heads: the first viewer's screen changed" "$cmp"
		;;
	fixed)
		sleep 3
		[ "$(grep -c '^display: head' "$LOG")" -eq 1 ] && [ "$(head_shape 0)" = 1024x768 ] &&
			ok "fixed: a second viewer changes nothing either" || not_ok "fixed: the display changed" "$(grep display "$LOG")"
		kill -0 "$VB" 2>/dev/null && ok "fixed: the second viewer is connected" || not_ok "fixed: the second viewer quit" "$(tail -5 "$TMP/$policy-viewer2.log")"
		;;
	esac
	kill -0 "$RUN_PID" 2>/dev/null && ok "$policy: run survives two viewers" || not_ok "$policy: run died"
	stop "$VA" "$VB" "$XA_PID" "$XB_PID"
	kill -INT "$RUN_PID"
	wait "$RUN_PID"
	rrc=$?
	PIDS=$(echo " $PIDS " | sed "s/ $RUN_PID / /")
	[ "$rrc" -eq 0 ] && ok "$policy: run stops cleanly" || not_ok "$policy: run exit $rrc" "$(tail -5 "$TMP/$policy.err")"
done

# A low-colour viewer (256 colours: 8 bits a pixel) is a shape too: the guest is told 6 bits per
# colour and draws RGB 5-6-5; when the viewer leaves it draws full colour again.
if start_run lowcolour -C still=1 && start_xvfb 1280x720; then
	XL=$XDISP XL_PID=$XPID
	DISPLAY=$XL timeout -k 2 60 vncviewer -AutoSelect=0 -FullColor=0 -LowColorLevel=2 \
		"127.0.0.1::$PORT" >"$TMP/lowcolour-viewer.log" 2>&1 &
	VL=$!
	PIDS="$PIDS $VL"
	wait_depth 8 6 && ok "a 256-colour vncviewer makes head 0 depth 8, 6 bits per colour" ||
		not_ok "head 0 did not take the viewer's depth" "$info" "$(grep 'bits a pixel' "$TMP/lowcolour.err")"
	wait_565 0 "$TMP/low.png" && ok "the guest draws for it in RGB 5-6-5 ($r565)" ||
		not_ok "the guest's screen is not 5-6-5 under a low-colour viewer" "$r565"
	stop "$VL" "$XL_PID"
	wait_depth 0 8 && wait_565 1 "$TMP/full.png" && ok "with the viewer gone the guest draws full colour ($r565)" ||
		not_ok "the guest stayed at low colour" "$info" "$r565"
	stop "$RUN_PID"
else
	not_ok "lowcolour: run or Xvfb did not come up" "$(cat "$TMP/lowcolour.err" 2>/dev/null)"
fi

finish
