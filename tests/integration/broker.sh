#!/usr/bin/env bash
# broker.sh: the display broker with real clients on loopback: `hyperdesk run` serving VNC,
# `hyperdesk shot` at three shapes compared with tests/reference/, vncsnapshot, hostile clients,
# the policies (and a follow session told of another's resize), password authentication, and
# the broker and the VMM each surviving the other's death. Not a timing test.
. "$(dirname "$0")/lib.sh"
need_kvm

HERE=$(cd "$(dirname "$0")" && pwd)
REF=$(cd "$HERE/../reference" && pwd)
PNGCMP="$HERE/pngcmp.py"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed"; exit 77; }


# shot NAME SHOT-ARGS...: runs hyperdesk shot against $PORT, bounded; sets rc, out, err.
shot() {
	local name=$1
	shift
	timeout -k 5 60 "$HD" shot "vnc://127.0.0.1:$PORT" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	out=$(cat "$TMP/out")
	err=$(cat "$TMP/err")
}

alive() { kill -0 "$1" 2>/dev/null; }

# ---- hyperdesk run, follow policy: three shapes, each against its reference ----
if start_run follow -C still=1; then ok "run: broker listening on port $PORT, guest up"; else
	not_ok "run did not come up" "$(cat "$TMP/follow.err")"; finish; fi
expect_in "run prints the VNC address" "VNC at 127.0.0.1:$PORT" "$(cat "$TMP/follow.err")"
expect_in "run prints how to reach it from noVNC" "ws://127.0.0.1:$PORT/" "$(cat "$TMP/follow.err")"

# The references were made in this order (tests/reference/README.md): keep it.
for shape in 1280x720 1920x1080 800x600; do
	shot "$shape" --size "$shape" -o "$TMP/shot-$shape.png" --stats
	if [ "$rc" -eq 0 ]; then ok "shot at $shape ($out)"; else not_ok "shot at $shape: exit $rc" "$err"; continue; fi
	wait_line "display: head 0 $shape" && ok "the guest reports $shape" || not_ok "guest never reported $shape" "$(tail -3 "$LOG")"
	size=$(python3 "$PNGCMP" size "$TMP/shot-$shape.png")
	[ "$size" = "$shape" ] && ok "the capture is $shape" || not_ok "capture is $size, not $shape"
	if cmp=$(python3 "$PNGCMP" compare "$TMP/shot-$shape.png" "$REF/desktop-$shape.png" 2>&1); then
		ok "the $shape capture matches the reference ($cmp)"
	else
		not_ok "the $shape capture does not match tests/reference/desktop-$shape.png" "$cmp"
	fi
done

# Absurd sizes never reach the guest; the session says no and the broker stays.
shot absurd --size 8192x8192 -o "$TMP/absurd.png" --timeout 4000
[ "$rc" -ne 0 ] && ok "an 8192x8192 request is not granted within 4 s" || not_ok "8192x8192 was granted?"
grep -qx "display: head 0 8192x8192" "$LOG" && not_ok "8192x8192 reached the guest" || ok "8192x8192 never reached the guest"

# vncsnapshot: RFB 3.3, never asks for a size, at the current shape. scripts/setup installs it.
if command -v vncsnapshot >/dev/null; then
	timeout -k 2 30 vncsnapshot -quiet -encodings zrle -allowblank "127.0.0.1::$PORT" "$TMP/snap.jpg" >"$TMP/snap.out" 2>&1
	src=$?
	if [ "$src" -eq 0 ] && [ -s "$TMP/snap.jpg" ]; then ok "vncsnapshot captures a frame"; else
		not_ok "vncsnapshot: exit $src" "$(tail -5 "$TMP/snap.out")"; fi
	# The frame's size from the JPEG's start-of-frame marker.
	dims=$(python3 - "$TMP/snap.jpg" <<'PY' 2>/dev/null
import struct, sys
d = open(sys.argv[1], "rb").read()
i = 2
while i + 9 < len(d):
    if d[i] != 0xFF: break
    m, n = d[i + 1], struct.unpack(">H", d[i + 2:i + 4])[0]
    if m in (0xC0, 0xC1, 0xC2):
        h, w = struct.unpack(">HH", d[i + 5:i + 9]); print("%dx%d" % (w, h)); break
    i += 2 + n
PY
)
	[ "$dims" = 800x600 ] && ok "vncsnapshot's frame is the current 800x600" || not_ok "vncsnapshot frame is '$dims'"
else
	not_ok "vncsnapshot is not installed (scripts/setup installs it)"
fi

# ---- follow: a session already connected is told of another session's resize ----
timeout -k 2 40 python3 "$HERE/rfbwatch.py" "$PORT" 20 1024x768 >"$TMP/watch.out" 2>&1 &
WATCH=$!
PIDS="$PIDS $WATCH"
for _ in $(seq 50); do grep -q '^ready' "$TMP/watch.out" && break; sleep 0.1; done
shot other --size 1024x768 -o "$TMP/other.png"
wait "$WATCH"
wrc=$?
[ "$rc" -eq 0 ] && ok "follow: a second session resizes head 0 to 1024x768" || not_ok "follow: second session: exit $rc" "$err"
# ExtendedDesktopSize rectangle: x is the reason (0: the server, 1: this client, 2: another
# client), y the status (0: success), then the new size and one screen.
if [ "$wrc" -eq 0 ] && grep -qx "extdesktop 2 0 1024x768 1" "$TMP/watch.out"; then
	ok "follow: the first session gets ExtendedDesktopSize 1024x768, reason 'another client'"
else
	not_ok "follow: the first session was not told of the resize (exit $wrc)" "$(cat "$TMP/watch.out")"
fi
[ "$(sed -n 2p "$TMP/watch.out")" = "extdesktop 0 0 800x600 1" ] &&
	ok "follow: and it first got the current 800x600 as the server's (reason 0)" ||
	not_ok "follow: no initial ExtendedDesktopSize" "$(cat "$TMP/watch.out")"
shot back --size 800x600 -o "$TMP/back.png"

# ---- hostile clients: garbage, truncation, a client that never reads, 50 at once ----
python3 - "$PORT" >"$TMP/hostile.out" 2>&1 <<'PY'
import socket, struct, sys, time
port = int(sys.argv[1])
def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return s
def handshake(s):
    s.recv(12); s.sendall(b"RFB 003.008\n")
    n = s.recv(1)[0]; s.recv(n); s.sendall(b"\x01")  # security: none
    s.recv(4); s.sendall(b"\x01")                    # shared
    hdr = s.recv(24); s.recv(struct.unpack(">I", hdr[20:24])[0])
# garbage instead of a version
s = conn(); s.recv(12); s.sendall(b"GET / HTTP/1.0\r\n\r\n" + bytes(range(256))); s.close()
# a version cut off in the middle
s = conn(); s.recv(12); s.sendall(b"RFB 003"); s.close()
# a good handshake, then an unknown message type and garbage
s = conn(); handshake(s); s.sendall(b"\xfe" + b"\x00" * 64); time.sleep(0.1); s.close()
# SetDesktopSize with 255 screens, truncated
s = conn(); handshake(s); s.sendall(struct.pack(">BxHHBx", 251, 1280, 720, 255) + b"\x00" * 40); s.close()
# SetEncodings claiming 65535 encodings, then nothing
s = conn(); handshake(s); s.sendall(struct.pack(">BxH", 2, 65535) + b"\x00" * 8); s.close()
# a client that never reads: asks for full frames again and again
lazy = conn(); handshake(lazy)
lazy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
for _ in range(200):
    try: lazy.sendall(struct.pack(">BBHHHH", 3, 0, 0, 0, 4096, 4096))
    except OSError: break
# 50 clients connecting and dropping at once
socks = []
for _ in range(50):
    try: socks.append(conn())
    except OSError: pass
for s in socks: s.close()
print("hostile clients done; the lazy one is still open")
time.sleep(1)
lazy.close()
PY
expect_in "hostile clients ran" "hostile clients done" "$(cat "$TMP/hostile.out")"
alive "$RUN_PID" && ok "run (broker and VM) survives hostile clients" || not_ok "run died under hostile clients"
shot after --size 800x600 -o "$TMP/after.png"
[ "$rc" -eq 0 ] && ok "a good client is served after the hostile ones" || not_ok "shot after hostile clients: exit $rc" "$err"

kill -INT "$RUN_PID"
wait "$RUN_PID"
rrc=$?
[ "$rrc" -eq 0 ] && ok "Ctrl-C stops run cleanly (exit 0)" || not_ok "run exit after SIGINT: $rrc" "$(tail -5 "$TMP/follow.err")"
PIDS=""

# ---- password authentication (VNC authentication, --password-file) ----
printf 'sesame12\n' >"$TMP/pw"
printf 'wrongpw1\n' >"$TMP/badpw"
if start_run pw --password-file "$TMP/pw" -C still=1; then ok "run --password-file comes up"; else not_ok "run --password-file" "$(cat "$TMP/pw.err")"; fi
shot pw-good --password-file "$TMP/pw" -o "$TMP/pw-good.png" --timeout 10000
[ "$rc" -eq 0 ] && ok "password: the right password is let in" || not_ok "password: right password refused: exit $rc" "$err"
shot pw-bad --password-file "$TMP/badpw" -o "$TMP/pw-bad.png" --timeout 10000
[ "$rc" -ne 0 ] && [ ! -e "$TMP/pw-bad.png" ] && ok "password: a wrong password is refused (exit $rc)" || not_ok "password: a wrong password got in"
shot pw-none -o "$TMP/pw-none.png" --timeout 10000
[ "$rc" -ne 0 ] && [ ! -e "$TMP/pw-none.png" ] && ok "password: no password is refused (exit $rc)" || not_ok "password: got in without a password"
printf 'GARBAGE' | python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.recv(12); s.sendall(b"RFB 003.008\n"); n = s.recv(1)[0]; t = s.recv(n)
assert 2 in t, t
s.sendall(b"\x02"); s.recv(16); s.sendall(b"\x00" * 5); s.close()  # a short response
print("ok")' "$PORT" >/dev/null 2>&1
kill -0 "$RUN_PID" 2>/dev/null && ok "password: run survives wrong and cut-off answers" || not_ok "password: run died"
shot pw-again --password-file "$TMP/pw" -o "$TMP/pw-again.png" --timeout 10000
[ "$rc" -eq 0 ] && ok "password: the right password still gets in afterwards" || not_ok "password: refused afterwards: exit $rc" "$err"
kill -TERM "$RUN_PID"
wait "$RUN_PID"
PIDS=""

# ---- a guest with a hardware cursor: its shape reaches the session as a rich cursor ----
if start_run hwcursor -C "still=1 cursor=hw"; then ok "run with the guest's hardware cursor comes up"; else not_ok "run cursor=hw" "$(cat "$TMP/hwcursor.err")"; fi
timeout -k 2 30 python3 "$HERE/rfbwatch.py" "$PORT" 15 cursor >"$TMP/cursor.out" 2>&1
crc=$?
[ "$crc" -eq 0 ] && ok "the session gets the guest's cursor shape ($(grep -m1 '^cursor' "$TMP/cursor.out"))" ||
	not_ok "no rich cursor with an opaque pixel: exit $crc" "$(tail -5 "$TMP/cursor.out")"
kill -TERM "$RUN_PID"
wait "$RUN_PID"
PIDS=""

# ---- heads policy: two sessions at two shapes at once, each on a head of its own ----
if start_run heads --policy heads -C still=1; then ok "run --policy heads comes up"; else not_ok "run --policy heads" "$(cat "$TMP/heads.err")"; fi
timeout -k 5 60 "$HD" shot "vnc://127.0.0.1:$PORT" --size 1280x720 -o "$TMP/h0.png" --settle 1500 >"$TMP/h0.out" 2>&1 &
A=$!
sleep 0.3
shot h1 --size 1600x900 -o "$TMP/h1.png" --settle 1500
wait "$A"
arc=$?
[ "$arc" -eq 0 ] && [ "$(python3 "$PNGCMP" size "$TMP/h0.png")" = 1280x720 ] && ok "heads: the first session gets 1280x720" || not_ok "heads: first session: exit $arc" "$(cat "$TMP/h0.out")"
[ "$rc" -eq 0 ] && [ "$(python3 "$PNGCMP" size "$TMP/h1.png")" = 1600x900 ] && ok "heads: the second gets 1600x900 at the same time" || not_ok "heads: second session: exit $rc" "$err"
wait_line "display: head 1 1600x900" && ok "heads: the guest shows 1600x900 on head 1" || not_ok "heads: no 1600x900 on head 1" "$(tail -5 "$LOG")"
kill -TERM "$RUN_PID"
wait "$RUN_PID"
PIDS=""

# ---- broker and VMM as separate processes: each survives the other ----
CH="$TMP/display.sock"
LOG="$TMP/vmm.console"
SOCK="$TMP/vmm.sock"
timeout -k 5 120 "$HD" vmm --display "$CH" --control "$SOCK" --serial "$LOG" -C still=1 >/dev/null 2>"$TMP/vmm.err" &
VMM=$!
PIDS="$VMM"
wait_for_file "$SOCK" && ok "a VMM runs with no broker there" || not_ok "vmm without broker" "$(cat "$TMP/vmm.err")"

# Not lib.sh's start_broker: this broker is killed with SIGKILL below, which must reach the
# broker itself, so it does not run under timeout(1) (cleanup kills it at the latest).
start_own_broker() {
	rm -f "$TMP/broker.out" # the new broker's line, not a stale one (the & may start late)
	"$HD" broker --channel "$CH" --vnc 127.0.0.1:0 "$@" >"$TMP/broker.out" 2>"$TMP/broker.err" &
	BROKER=$!
	PIDS="$PIDS $BROKER"
	PORT=""
	for _ in $(seq 100); do
		PORT=$(sed -n 's/^ready \([0-9]*\)$/\1/p' "$TMP/broker.out" 2>/dev/null)
		[ -n "$PORT" ] && return 0
		sleep 0.1
	done
	return 1
}
start_own_broker && ok "broker starts (port $PORT)" || not_ok "broker did not start" "$(cat "$TMP/broker.err")"
shot b1 --size 1280x720 -o "$TMP/b1.png"
[ "$rc" -eq 0 ] && ok "the VMM attaches to a broker that came later" || not_ok "shot via late broker: exit $rc" "$err"
kill -KILL "$BROKER"
wait "$BROKER" 2>/dev/null
sleep 0.5
alive "$VMM" && ok "the VM keeps running when the broker is killed" || not_ok "VMM died with the broker"
timeout 10 "$HD" ctl "$SOCK" status >/dev/null && ok "its control socket still answers" || not_ok "control socket dead"

start_own_broker --policy fixed && ok "a new broker starts on the same channel (stale socket replaced)" || not_ok "broker restart" "$(cat "$TMP/broker.err")"
shot b2 -o "$TMP/b2.png" --timeout 15000
[ "$rc" -eq 0 ] && [ "$(python3 "$PNGCMP" size "$TMP/b2.png")" = 1280x720 ] && ok "the VMM re-attaches; the display is still 1280x720" || not_ok "re-attach: exit $rc" "$err"
shot fixed --size 1024x768 -o "$TMP/fixed.png" --timeout 3000
[ "$rc" -ne 0 ] && ok "fixed policy: a SetDesktopSize is refused" || not_ok "fixed policy granted a resize"

# A session whose VM goes away is closed at once; the broker stays.
timeout -k 5 60 "$HD" shot "vnc://127.0.0.1:$PORT" --size 1024x768 -o "$TMP/never.png" --timeout 30000 >"$TMP/never.out" 2>&1 &
W=$!
sleep 1
start_ns=$(date +%s%N)
timeout 10 "$HD" ctl "$SOCK" quit >/dev/null
wait "$VMM"
wait "$W"
wrc=$?
el=$(( ($(date +%s%N) - start_ns) / 1000000 ))
[ "$wrc" -ne 0 ] && [ "$el" -lt 10000 ] && ok "a session of a VM that quits is closed (${el} ms)" || not_ok "session of a dead VM: exit $wrc after $el ms" "$(cat "$TMP/never.out")"
alive "$BROKER" && ok "the broker survives the VM's exit" || not_ok "broker died with the VM"
kill -TERM "$BROKER"
wait "$BROKER"
brc=$?
[ "$brc" -eq 0 ] && ok "broker exits 0 on SIGTERM" || not_ok "broker exit $brc" "$(tail -5 "$TMP/broker.err")"
[ ! -e "$CH" ] && ok "the channel socket is removed" || not_ok "channel socket left behind"
PIDS=""

# ---- refusals ----
hd broker --channel "$CH" --vnc 0.0.0.0:0
expect_rc "no password off loopback: refused" 2
expect_in "and says why" "password" "$err"
hd run --web 127.0.0.1:0 --novnc "$TMP"
expect_rc "--web without noVNC where it is looked for: refused" 2
expect_in "--web says noVNC is missing (web.sh tests the web client)" "not installed" "$err"

finish
