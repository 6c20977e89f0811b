#!/usr/bin/env bash
# snapshot.sh: `ctl snapshot` of a running guest and `vmm --restore`: the compute workload ends
# with the same checksum after a restore (kvm and auto engines, twice from one file), damaged or
# foreign files and conflicting options are refused in one line, a desktop's GPU state is
# refused plainly. Not a benchmark (bench/bench-snapshot.sh) nor a format test (unit tests).
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

# ---- the desktop: the GPU has resources and a scanout, which a restore cannot bring back yet
SOCK="$TMP/desk.sock"
timeout -k 5 60 "$HD" vmm --control "$SOCK" --serial "$TMP/desk.console" 2>"$TMP/desk.err" &
DESK=$!
PIDS="$PIDS $DESK"
for _ in $(seq 100); do grep -q "display: head 0" "$TMP/desk.console" 2>/dev/null && break; sleep 0.1; done
grep -q "display: head 0" "$TMP/desk.console" && ok "desktop is up" ||
	not_ok "desktop never came up" "$(cat "$TMP/desk.console")"
hd ctl "$SOCK" snapshot "$TMP/desk.snap"
expect_rc "ctl snapshot of the desktop" 0
hd ctl "$SOCK" quit
wait "$DESK"
hd vmm --restore "$TMP/desk.snap"
expect_rc "desktop snapshot refused at restore" 1
expect_one_line_error "desktop snapshot" "restoring GPU resources and scanouts is not implemented yet"

finish
