#!/usr/bin/env bash
# display.sh: the virtual GPU end to end: display-set, the demo desktop following it, screendumps
# compared with tests/reference/, bad requests, a second head. Not a timing test (bench/ is).
#
# With HYPERDESK_REGENERATE_REFERENCES=1 the screendumps are written to tests/reference/ instead
# of compared with it (tests/reference/regenerate.sh); every other check still runs.
. "$(dirname "$0")/lib.sh"
need_kvm

HERE=$(cd "$(dirname "$0")" && pwd)
REF=$(cd "$HERE/../reference" && pwd)
PNGCMP="$HERE/pngcmp.py"
REGEN=${HYPERDESK_REGENERATE_REFERENCES:-}
# Tolerance of the reference comparisons (tests/reference/README.md says why): a pixel counts as
# different when a channel differs by more than THRESHOLD; at most TOLERANCE of them may.
THRESHOLD=16
TOLERANCE=0.001
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to read PNG files"; exit 77; }

# start_vm NAME VMM-ARGS...: starts a VM with a control socket and console log in $TMP and
# waits (10 s at most) for its socket; sets VM (name), SOCK, LOG and VM_PID.
start_vm() {
	VM=$1
	shift
	SOCK="$TMP/$VM.sock"
	LOG="$TMP/$VM.log"
	timeout -k 5 120 "$HD" vmm --control "$SOCK" --serial "$LOG" "$@" \
		>"$TMP/$VM.out" 2>"$TMP/$VM.err" &
	VM_PID=$!
	PIDS="$PIDS $VM_PID"
	wait_for_file "$SOCK" || not_ok "$VM: no control socket after 10 s" "$(cat "$TMP/$VM.err")"
}

# ctl ARGS...: one control command to the current VM; sets rc, out and err.
ctl() {
	timeout -k 2 10 "$HD" ctl "$SOCK" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	out=$(cat "$TMP/out")
	err=$(cat "$TMP/err")
}

# wait_line LINE [N]: waits (10 s at most) until the console log has LINE, as a whole line, at
# least N times (default 1).
wait_line() {
	local n=${2:-1}
	for _ in $(seq 200); do
		[ "$(grep -cxF -- "$1" "$LOG" 2>/dev/null)" -ge "$n" ] && return 0
		sleep 0.05
	done
	return 1
}

# expect_line NAME LINE [N]
expect_line() {
	if wait_line "$2" "${3:-1}"; then ok "$1"; else not_ok "$1: no '$2' on the console in 10 s" "console: $(tail -5 "$LOG")"; fi
}

# expect_ctl_error NAME PATTERN CTL-ARGS...: the command fails with an error matching PATTERN,
# and the VM is still running afterwards.
expect_ctl_error() {
	local name=$1 pattern=$2
	shift 2
	ctl "$@"
	if [ "$rc" -eq 1 ] && printf '%s' "$err" | grep -q -- "$pattern"; then
		ok "$name: $err"
	else
		not_ok "$name: want exit 1 and an error matching '$pattern'" "exit $rc" "stdout: $out" "stderr: $err"
	fi
}

expect_running() {
	ctl status
	expect_in "$1" '"state":"running"' "$out"
}

# shot NAME HEAD W H: screendumps HEAD to $TMP/NAME.png and checks the PNG's IHDR size.
shot() {
	local f="$TMP/$1.png" size
	rm -f "$f"
	ctl screendump "$2" "$f"
	if [ "$rc" -ne 0 ] || [ ! -s "$f" ]; then
		not_ok "screendump $2 ($1): exit $rc" "stderr: $err"
		return
	fi
	size=$(python3 "$PNGCMP" size "$f" 2>&1)
	[ "$size" = "$3x$4" ] && ok "screendump $2 is a $3x$4 PNG" || not_ok "screendump $2 ($1): $size, want $3x$4"
}

# against_ref NAME REF: compares $TMP/NAME.png with tests/reference/REF.png (or, regenerating,
# stores it there).
against_ref() {
	local r
	if [ -n "$REGEN" ]; then
		cp "$TMP/$1.png" "$REF/$2.png" && ok "regenerated $2.png"
		return
	fi
	r=$(python3 "$PNGCMP" compare --threshold $THRESHOLD --tolerance $TOLERANCE "$TMP/$1.png" "$REF/$2.png" 2>&1)
	[ $? -eq 0 ] && ok "$1 matches $2.png: $r" || not_ok "$1 does not match $2.png" "$r"
}

# must_differ NAME FILE REF: pngcmp must call FILE and tests/reference/REF.png different.
must_differ() {
	local r
	r=$(python3 "$PNGCMP" compare --threshold $THRESHOLD --tolerance $TOLERANCE "$2" "$REF/$3.png" 2>&1)
	[ $? -eq 1 ] && ok "$1: $r" || not_ok "$1: the comparison did not fail" "$r"
}

# stop_vm: quit, then the VMM must exit 0 within 10 s (it is killed otherwise).
stop_vm() {
	local status
	ctl quit
	for _ in $(seq 100); do kill -0 "$VM_PID" 2>/dev/null || break; sleep 0.1; done
	kill "$VM_PID" 2>/dev/null
	wait "$VM_PID"
	status=$?
	[ "$status" -eq 0 ] && ok "$VM: quit, VMM exit 0" || not_ok "$VM: VMM exit $status after quit" "$(cat "$TMP/$VM.err")"
}

python3 "$PNGCMP" selftest >"$TMP/selftest" 2>&1 && ok "pngcmp.py selftest (five filter types, RGB and RGBA)" ||
	not_ok "pngcmp.py selftest" "$(cat "$TMP/selftest")"

# ---- one head: the boot mode, then three switches, each compared with its reference ----
start_vm a --guest-cmdline still=1
expect_line "guest shows its boot mode" "display: head 0 1024x768"
shot a-1024x768 0 1024 768
against_ref a-1024x768 desktop-1024x768
for mode in 1280x720 1920x1080 800x600; do
	w=${mode%x*} h=${mode#*x}
	ctl display-set 0 "$w" "$h"
	expect_rc "display-set 0 $w $h" 0
	expect_line "guest reports head 0 at $mode" "display: head 0 $mode"
	shot "a-$mode" 0 "$w" "$h"
	against_ref "a-$mode" "desktop-$mode"
done
ctl display-info
expect_in "display-info shows the scanout at 800x600" '"scanout":{"resource":' "$out"
expect_in "display-info shows the size" '"width":800,"height":600,"format"' "$out"

# The comparison can fail: another size, and the same size with other content.
must_differ "a 1280x720 shot against the 1920x1080 reference fails" "$TMP/a-1280x720.png" desktop-1920x1080

# ---- bad requests: clear errors, and the VM keeps running ----
expect_ctl_error "display-set 100000x100000" "WIDTH must be an integer from 0 to 16384" display-set 0 100000 100000
expect_ctl_error "display-set with a non-number" "WIDTH must be an integer" display-set 0 abc 600
expect_ctl_error "display-set a head that does not exist" "HEAD must be an integer from 0 to 0" display-set 99 800 600
expect_ctl_error "display-set a negative head" "HEAD must be an integer" display-set -1 800 600
expect_ctl_error "display-set below the smallest mode" "must both be 0 (disable the head) or from 16 to 16384" display-set 0 8 8
expect_ctl_error "display-set with one size" "usage: display-set HEAD WIDTH HEIGHT" display-set 0 800
expect_ctl_error "display-set at 17 bits a pixel" "DEPTH must be 0 (not known), 8, 15, 16, 24 or 32, not 17" display-set 0 800 600 0 0 17
expect_ctl_error "display-set with a depth but no size in mm" "usage: display-set HEAD WIDTH HEIGHT" display-set 0 800 600 0
expect_ctl_error "screendump to a directory that does not exist" "cannot create $TMP/none/x.png: No such file or directory" screendump 0 "$TMP/none/x.png"
expect_ctl_error "screendump of a head that does not exist" "HEAD must be an integer from 0 to 0" screendump 7 "$TMP/x.png"
expect_ctl_error "screendump without a file" "usage: screendump HEAD FILE.png" screendump 0
expect_running "the VM runs on after bad requests"

# A mode in range that the guest cannot afford: it says so and keeps the old picture.
ctl display-set 0 16384 16384
expect_rc "display-set 0 16384 16384 is accepted" 0
expect_line "the guest reports it has no memory for 16384x16384" "error: head 0: no 16384x16384 surface: -12"
shot a-kept 0 800 600

# 0 x 0 disables the head: no scanout, no screendump; then it comes back.
ctl display-set 0 0 0
expect_rc "display-set 0 0 0" 0
expect_line "guest switches head 0 off" "display: head 0 off"
expect_ctl_error "screendump of a head without scanout" "head 0 has no scanout" screendump 0 "$TMP/x.png"
ctl display-set 0 1280 720
expect_line "head 0 comes back at 1280x720" "display: head 0 1280x720" 2
shot a-back 0 1280 720
expect_running "the VM runs on after the switches"
stop_vm

# ---- a second boot: still=1 must make the same picture byte for byte ----
start_vm b --guest-cmdline still=1
expect_line "second boot shows its boot mode" "display: head 0 1024x768"
shot b-1024x768 0 1024 768
ctl display-set 0 1280 720
expect_line "second boot reports 1280x720" "display: head 0 1280x720"
shot b-1280x720 0 1280 720
for m in 1024x768 1280x720; do
	cmp -s "$TMP/a-$m.png" "$TMP/b-$m.png" && ok "two boots give the same $m PNG byte for byte" ||
		not_ok "two boots give different $m PNGs (is something time-dependent left in still=1?)" \
			"$(python3 "$PNGCMP" compare --threshold 0 --tolerance 0 "$TMP/a-$m.png" "$TMP/b-$m.png" 2>&1)"
done
stop_vm

# ---- another workload at the same size must not pass for the reference ----
start_vm d --guest-cmdline "still=1 workload=typing"
ctl display-set 0 1280 720
expect_line "typing workload reports 1280x720" "display: head 0 1280x720"
shot d-1280x720 0 1280 720
must_differ "the typing desktop is not the static reference" "$TMP/d-1280x720.png" desktop-1280x720
stop_vm

# ---- two heads: the second head goes off and comes back ----
start_vm c --heads 2 --guest-cmdline still=1
expect_line "two heads: head 1 up at boot" "display: head 1 1024x768"
ctl display-set 1 0 0
expect_rc "display-set 1 0 0" 0
expect_line "guest switches head 1 off" "display: head 1 off"
expect_ctl_error "screendump of the disabled head" "head 1 has no scanout" screendump 1 "$TMP/x.png"
ctl display-set 1 1024 768
expect_rc "display-set 1 1024 768" 0
expect_line "guest shows head 1 again" "display: head 1 1024x768" 2
shot c-head1 1 1024 768
against_ref c-head1 head1-1024x768
must_differ "the second head's picture is not the desktop" "$TMP/c-head1.png" desktop-1024x768
expect_ctl_error "screendump of head 2 of 2" "HEAD must be an integer from 0 to 1" screendump 2 "$TMP/x.png"
stop_vm

finish
