#!/usr/bin/env bash
# snapshot.sh: `ctl snapshot` of a running guest and `vmm --restore`: the compute workload ends
# with the same checksum after a restore (kvm and auto engines, twice from one file), damaged or
# foreign files and conflicting options are refused in one line, an idle desktop comes back
# showing the same picture and still follows display-set. Not a benchmark (bench/bench-snapshot.sh) nor a format test (unit tests).
. "$(dirname "$0")/lib.sh"
need_kvm

# About a second of compute on KVM here: long enough to snapshot in the middle of it.
ITER=500000000

# snapshot_compute ENGINE FILE: runs the compute workload, snapshots it after 0.3 s into FILE
# and lets it finish; sets X (its checksum, empty on failure).
snapshot_compute() {
	local sock="$TMP/$1.sock" con="$TMP/$1.console"
	timeout -k 5 60 "$HD" vmm --engine "$1" --control "$sock" --serial "$con" \
		--guest-cmdline "workload=compute iterations=$ITER" 2>"$TMP/$1.err" &
	local vmm=$!
	PIDS="$PIDS $vmm"
	wait_for_file "$sock" || not_ok "$1: control socket never appeared" "$(cat "$TMP/$1.err")"
	sleep 0.3
	local before
	before=$(cat "$con")
	hd ctl "$sock" snapshot "$2"
	expect_rc "$1: ctl snapshot mid-run" 0
	case "$before" in
	*checksum:*) not_ok "$1: the workload had finished before the snapshot; raise ITER" ;;
	*) ok "$1: the snapshot was taken before the workload finished" ;;
	esac
	wait "$vmm"
	local vrc=$?
	[ "$vrc" -eq 0 ] && ok "$1: the original VM finishes after the snapshot" ||
		not_ok "$1: original exit $vrc" "$(cat "$TMP/$1.err")"
	X=$(sed -n 's/^checksum: //p' "$con")
	[ -n "$X" ] && ok "$1: original checksum $X" || not_ok "$1: no checksum" "$(cat "$con")"
}

# restore_checksum FILE NAME: restores FILE, expects exit 0 and checksum $X.
restore_checksum() {
	hd vmm --restore "$1" --serial stdio
	expect_rc "$2: vmm --restore" 0
	local y
	y=$(printf '%s\n' "$out" | sed -n 's/^checksum: //p')
	[ -n "$X" ] && [ "$y" = "$X" ] && ok "$2: restored checksum equals the original's" ||
		not_ok "$2: restored checksum '$y', original '$X'" "stdout: $out" "stderr: $err"
}

snapshot_compute kvm "$TMP/kvm.snap"
restore_checksum "$TMP/kvm.snap" "kvm"
restore_checksum "$TMP/kvm.snap" "kvm, the same file again"

snapshot_compute auto "$TMP/auto.snap"
restore_checksum "$TMP/auto.snap" "auto"

# ---- refusals: one stderr line, status 1, nothing run ----
GOOD="$TMP/kvm.snap"
SIZE=$(stat -c %s "$GOOD")

head -c $((SIZE / 2)) "$GOOD" >"$TMP/truncated.snap"
hd vmm --restore "$TMP/truncated.snap"
expect_rc "truncated snapshot refused" 1
expect_one_line_error "truncated snapshot" "truncated"

cp "$GOOD" "$TMP/corrupt.snap"
printf '\xff' | dd of="$TMP/corrupt.snap" bs=1 seek=$((SIZE / 3)) conv=notrunc status=none
hd vmm --restore "$TMP/corrupt.snap"
expect_rc "corrupted snapshot refused" 1
expect_one_line_error "corrupted snapshot" "corrupt"

cp "$GOOD" "$TMP/v2.snap"
printf '\x02' | dd of="$TMP/v2.snap" bs=1 seek=8 conv=notrunc status=none
hd vmm --restore "$TMP/v2.snap"
expect_rc "wrong-version snapshot refused" 1
expect_one_line_error "wrong-version snapshot" "unsupported snapshot format version 2"

hd vmm --restore "$TMP/missing.snap"
expect_rc "missing snapshot refused" 1
expect_one_line_error "missing snapshot" "No such file"

printf 'this is not a snapshot\n' >"$TMP/text.snap"
hd vmm --restore "$TMP/text.snap"
expect_rc "a regular non-snapshot file refused" 1
expect_one_line_error "non-snapshot file" "not a hyperdesk snapshot"

hd vmm --restore "$TMP"
expect_rc "a directory refused" 1
expect_one_line_error "directory" "not a regular"

hd vmm --restore "$GOOD" --memory 512
expect_rc "--restore with --memory refused" 1
expect_one_line_error "--restore with --memory" "memory conflicts with --restore"

hd ctl "$TMP/nobody.sock" snapshot "$TMP/x.snap"
[ "$rc" -ne 0 ] && ok "ctl snapshot without a VM fails (exit $rc)" || not_ok "ctl snapshot without a VM" "$out"

# ---- memfill=all: a guest that wrote all its free RAM is resident and saved whole ----
# filled_snapshot NAME CMDLINE: a 256 MiB desktop with CMDLINE, snapshotted once it is up;
# sets RES (resident bytes from status) and BYTES (the snapshot's).
filled_snapshot() {
	local sock="$TMP/$1.sock" con="$TMP/$1.console"
	timeout -k 5 60 "$HD" vmm --memory 256 --control "$sock" --serial "$con" \
		--guest-cmdline "$2" 2>"$TMP/$1.err" &
	local vmm=$!
	PIDS="$PIDS $vmm"
	for _ in $(seq 100); do grep -q "^display: head 0" "$con" 2>/dev/null && break; sleep 0.1; done
	hd ctl "$sock" status
	RES=$(printf '%s' "$out" | sed -n 's/.*"memory_resident_bytes":\([0-9]*\).*/\1/p')
	hd ctl "$sock" snapshot "$TMP/$1.snap"
	expect_rc "$1: ctl snapshot" 0
	BYTES=$(printf '%s' "$out" | sed -n 's/.*"bytes":\([0-9]*\).*/\1/p')
	stop "$vmm"
	rm -f "$TMP/$1.snap"
}
filled_snapshot plain still=1
RES0=$RES BYTES0=$BYTES
filled_snapshot filled "memfill=all still=1"
MIB=$(sed -n 's/^memfill: \([0-9]*\) MiB in .*/\1/p' "$TMP/filled.console")
[ "${MIB:-0}" -ge 200 ] && ok "memfill=all filled $MIB MiB of 256" ||
	not_ok "memfill=all filled '$MIB' MiB" "$(cat "$TMP/filled.console")"
# The plain desktop's 4 MiB surface lies in RAM the fill also wrote, hence 95 %.
WANT=$((${MIB:-0} * 1048576 * 95 / 100))
[ -n "$RES" ] && [ -n "$RES0" ] && [ $((RES - RES0)) -ge "$WANT" ] &&
	ok "resident RAM grew by the fill ($RES0 -> $RES bytes)" ||
	not_ok "resident RAM '$RES0' without memfill, '$RES' with, want +$WANT"
[ -n "$BYTES" ] && [ -n "$BYTES0" ] && [ $((BYTES - BYTES0)) -ge "$WANT" ] &&
	ok "the snapshot grew by the fill ($BYTES0 -> $BYTES bytes)" ||
	not_ok "snapshot bytes '$BYTES0' without memfill, '$BYTES' with, want +$WANT"

# ---- the desktop: GPU resources, backing and scanouts come back ----
PNGCMP="$(cd "$(dirname "$0")" && pwd)/pngcmp.py"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to read PNG files"; exit 77; }
# py ARGS...: python3 ARGS; sets rc and out (stdout and stderr).
py() {
	out=$(python3 "$@" 2>&1)
	rc=$?
}
# wait_console FILE LINE: up to 10 s for LINE, as a whole line, in FILE.
wait_console() {
	for _ in $(seq 100); do grep -qxF -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
SOCK="$TMP/desk.sock"
timeout -k 5 60 "$HD" vmm --control "$SOCK" --serial "$TMP/desk.console" \
	--guest-cmdline still=1 2>"$TMP/desk.err" &
DESK=$!
PIDS="$PIDS $DESK"
wait_console "$TMP/desk.console" "display: head 0 1024x768" && ok "desktop is up" ||
	not_ok "desktop never came up" "$(cat "$TMP/desk.console")"
sleep 1 # the first frame drawn
hd ctl "$SOCK" screendump 0 "$TMP/desk-before.png"
expect_rc "screendump before the snapshot" 0
hd ctl "$SOCK" snapshot "$TMP/desk.snap"
expect_rc "ctl snapshot of the desktop" 0
hd ctl "$SOCK" screendump 0 "$TMP/desk-a.png"
expect_rc "screendump after the snapshot" 0
py "$PNGCMP" compare --threshold 0 --tolerance 0 "$TMP/desk-before.png" "$TMP/desk-a.png"
expect_in "the still desktop did not change around the snapshot" "SAME" "$out"
hd ctl "$SOCK" quit
wait "$DESK"

SOCK="$TMP/restored.sock"
timeout -k 5 60 "$HD" vmm --restore "$TMP/desk.snap" --control "$SOCK" \
	--serial "$TMP/restored.console" 2>"$TMP/restored.err" &
REST=$!
PIDS="$PIDS $REST"
wait_for_file "$SOCK" && ok "the desktop snapshot restores" ||
	not_ok "restored desktop: no control socket" "$(cat "$TMP/restored.err")"
hd ctl "$SOCK" screendump 0 "$TMP/desk-b.png"
expect_rc "screendump of the restored desktop" 0
py "$PNGCMP" compare --threshold 0 --tolerance 0 "$TMP/desk-b.png" "$TMP/desk-a.png"
expect_in "the restored desktop shows the same picture" "SAME" "$out"
hd ctl "$SOCK" display-set 0 1280 720
expect_rc "display-set 0 1280 720 on the restored desktop" 0
wait_console "$TMP/restored.console" "display: head 0 1280x720" &&
	ok "the restored guest follows display-set" ||
	not_ok "the restored guest never reported 1280x720" "$(cat "$TMP/restored.console")" \
		"$(cat "$TMP/restored.err")"
hd ctl "$SOCK" quit
wait "$REST"

# Restored under a display broker: the restored picture reaches a VNC client without the
# guest drawing anything new (the display link announces heads that already show something).
start_broker || not_ok "the broker never said ready" "$(cat "$TMP/broker.err")"
timeout -k 5 60 "$HD" vmm --restore "$TMP/desk.snap" --display "$TMP/ch.sock" \
	--serial "$TMP/attached.console" 2>"$TMP/attached.err" &
ATT=$!
PIDS="$PIDS $ATT"
hd shot "vnc://127.0.0.1:$VNCPORT" -o "$TMP/desk-vnc.png" --settle 800 --timeout 20000
expect_rc "a VNC shot of the restored desktop through the broker" 0
py "$PNGCMP" compare --threshold 0 --tolerance 0 "$TMP/desk-vnc.png" "$TMP/desk-a.png"
expect_in "the broker serves the restored picture" "SAME" "$out"
stop "$ATT" "$BRK"

# `hyperdesk run --restore`: the same desktop comes back behind run's own broker, and a VNC
# client connecting to it sees the restored picture.
timeout -k 5 60 "$HD" run --restore "$TMP/desk.snap" --vnc 127.0.0.1:0 --rdp off \
	--serial "$TMP/run-restored.console" >"$TMP/run-restored.out" 2>"$TMP/run-restored.err" &
RUNR=$!
PIDS="$PIDS $RUNR"
RPORT=""
for _ in $(seq 100); do
	RPORT=$(sed -n 's/.*VNC at 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/run-restored.err" | head -n1)
	[ -n "$RPORT" ] && break
	sleep 0.1
done
expect_in "run --restore says what it restores" "restoring $TMP/desk.snap" \
	"$(cat "$TMP/run-restored.err")"
hd shot "vnc://127.0.0.1:$RPORT" -o "$TMP/desk-run.png" --settle 800 --timeout 20000
expect_rc "a VNC shot of the desktop restored by run" 0
py "$PNGCMP" compare --threshold 0 --tolerance 0 "$TMP/desk-run.png" "$TMP/desk-a.png"
expect_in "run --restore serves the restored picture" "SAME" "$out"
hd run --restore "$TMP/desk.snap" --memory 512 --rdp off
expect_rc "run --restore with --memory is refused" 1
expect_in "run --restore names the conflict" "--memory conflicts with --restore" "$err"
stop "$RUNR"

# A GPU section of layout version 1 (an older build's) is refused plainly: the version in the
# section header changed, and the end record's checksum of the headers made to match.
py - "$TMP/desk.snap" "$TMP/gpu-v1.snap" <<'PY'
import struct, sys
def crc32c(crc, data):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF
data = bytearray(open(sys.argv[1], "rb").read())
off, crc = 64, crc32c(0, data[:64])
while True:
    name = bytes(data[off:off + 16]).rstrip(b"\0")
    length = struct.unpack_from("<Q", data, off + 16)[0]
    if name == b"end":
        struct.pack_into("<I", data, off + 28, crc)
        break
    if name == b"gpu":
        struct.pack_into("<I", data, off + 24, 1)
    crc = crc32c(crc, data[off:off + 32])
    off += 32 + length
open(sys.argv[2], "wb").write(data)
PY
expect_rc "a GPU section of layout version 1 written" 0
hd vmm --restore "$TMP/gpu-v1.snap"
expect_rc "GPU section version 1 refused" 1
expect_one_line_error "GPU section version 1" "GPU section has layout version 1, this build reads 2 to 3"

finish
