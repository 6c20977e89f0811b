#!/usr/bin/env bash
# input.sh: keyboard and pointer from a VNC client reach the demo desktop through the broker,
# the display channel and the virtio-input devices: checked on screendumps. Not a keymap test.
. "$(dirname "$0")/lib.sh"
need_kvm

HERE=$(cd "$(dirname "$0")" && pwd)
RFB="$HERE/rfbinput.py"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed"; exit 77; }

if ! start_run run -C still=1; then
	not_ok "run did not come up" "$(cat "$TMP/run.err")"
	echo "$passed passed, $failed failed"
	exit 1
fi
grep -qx "input: keyboard, tablet" "$LOG" && ok "the guest found a keyboard and a tablet" ||
	not_ok "no 'input: keyboard, tablet' line" "$(cat "$LOG")"

N=0
# dump: a screendump of head 0 into $TMP/sN.png; sets SHOT to its path.
dump() {
	N=$((N + 1))
	SHOT="$TMP/s$N.png"
	timeout -k 5 30 "$HD" ctl "$SOCK" screendump 0 "$SHOT" >/dev/null 2>"$TMP/ctl.err" ||
		{ not_ok "screendump failed" "$(cat "$TMP/ctl.err")"; return 1; }
}

# send ACTION...: one short VNC session that sends these events.
send() {
	timeout -k 5 30 python3 "$RFB" send "$PORT" "$@" 2>"$TMP/rfb.err" ||
		not_ok "the VNC client failed: $*" "$(cat "$TMP/rfb.err")"
}

# changed_from BASE: screendumps (10 s at most) until one differs from BASE; sets SHOT and D
# ("COUNT X0 Y0 X1 Y1 OUTSIDE", see rfbinput.py) with the box BOX when set.
changed_from() {
	for _ in $(seq 50); do
		dump || return 1
		D=$(python3 "$RFB" diff "$1" "$SHOT" ${BOX:-})
		[ "${D%% *}" != 0 ] && return 0
		sleep 0.2
	done
	return 1
}

dump || exit 1
S0=$SHOT
# Nothing sent yet: the still picture stays still.
sleep 0.5
dump && D=$(python3 "$RFB" diff "$S0" "$SHOT")
[ "${D%% *}" = 0 ] && ok "no input, no change" || not_ok "the picture changed by itself: $D"

# The pointer: a box around the spot it moves to (its arrow and the click ripple).
PX=300 PY=600
BOX="$((PX - 20)) $((PY - 20)) $((PX + 30)) $((PY + 40))"
send "move:$PX,$PY"
if changed_from "$S0"; then
	read -r count x0 y0 x1 y1 outside <<<"$D"
	[ "$count" -gt "$outside" ] && ok "the pointer moved to $PX,$PY ($D)" ||
		not_ok "nothing changed at $PX,$PY" "$D"
	[ "$count" -lt 3000 ] && ok "only the pointer changed ($count pixels)" ||
		not_ok "too much changed for a pointer move" "$D"
else
	not_ok "the pointer move never showed"
fi
S1=$SHOT

send "down:$PX,$PY"
if changed_from "$S1"; then
	read -r count x0 y0 x1 y1 outside <<<"$D"
	[ "$outside" = 0 ] && ok "a click shows around the pointer ($D)" ||
		not_ok "the click changed pixels away from the pointer" "$D"
else
	not_ok "the button press never showed"
fi
S2=$SHOT
send "up:$PX,$PY"
if changed_from "$S2"; then
	D=$(python3 "$RFB" diff "$S1" "$SHOT")
	[ "${D%% *}" = 0 ] && ok "the release takes the ripple away" || not_ok "release: not back" "$D"
else
	not_ok "the button release never showed"
fi
S3=$SHOT

# Typing: "hello" and Return become a command line and a new prompt below it: two text lines
# in the terminal, and nothing else.
BOX=""
send "type:hello" "key:Return"
if changed_from "$S3"; then
	read -r count x0 y0 x1 y1 outside <<<"$D"
	h=$((y1 - y0 + 1)) w=$((x1 - x0 + 1))
	[ "$h" -le 40 ] && [ "$w" -ge 40 ] && ok "typed text shows on two lines (${w}x$h at $x0,$y0)" ||
		not_ok "typing changed a ${w}x$h area" "$D"
	# The pointer box is untouched.
	[ "$x1" -lt $((PX - 20)) ] || [ "$x0" -gt $((PX + 30)) ] || [ "$y1" -lt $((PY - 20)) ] ||
		[ "$y0" -gt $((PY + 40)) ] && ok "the pointer stayed" || not_ok "typing touched the pointer" "$D"
else
	not_ok "typed text never showed"
fi
S4=$SHOT
TY0=$y0

# "ab" then BackSpace: one line changes, below the one entered.
send "type:ab" "key:BackSpace"
if changed_from "$S4"; then
	for _ in $(seq 10); do # the BackSpace may land a frame later
		sleep 0.2
		dump || break
	done
	D=$(python3 "$RFB" diff "$S4" "$SHOT")
	read -r count x0 y0 x1 y1 outside <<<"$D"
	h=$((y1 - y0 + 1)) w=$((x1 - x0 + 1))
	[ "$h" -le 20 ] && [ "$w" -le 40 ] && [ "$y0" -gt "$TY0" ] &&
		ok "'a' is on the new prompt line (${w}x$h at $x0,$y0)" || not_ok "line editor" "$D"
else
	not_ok "the second line never showed"
fi

alive() { kill -0 "$1" 2>/dev/null; }
alive "$RUN_PID" && ok "the VM is still running" || not_ok "the VM died" "$(tail -5 "$TMP/run.err")"
timeout -k 5 30 "$HD" ctl "$SOCK" quit >/dev/null 2>&1
for _ in $(seq 100); do alive "$RUN_PID" || break; sleep 0.1; done
alive "$RUN_PID" && not_ok "run did not stop after quit" || ok "run stopped after quit"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
