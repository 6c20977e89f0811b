#!/usr/bin/env bash
# memory-file.sh: guest RAM in an image file (--memory-file): the file is created private and
# sized, holds what the guest wrote, is locked against a second VM, and bad paths are refused
# in one line; `memory-release` drops RAM to the file while the guest runs, and what the guest
# had written comes back intact (the checksum workload, which rewrites 16 MiB every round, and
# a snapshot taken after a release restores the same desktop picture). Not a benchmark.
. "$(dirname "$0")/lib.sh"
need_kvm
PNGCMP="$(cd "$(dirname "$0")" && pwd)/pngcmp.py"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to read PNG files"; exit 77; }

ROUNDS=1000 # about 3 s on KVM here
IMG="$TMP/ram.img"

# json_num KEY TEXT: the number after "KEY": in TEXT.
json_num() { printf '%s' "$2" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }

# ---- the checksum workload on file-backed RAM, released to the file three times mid-run ----
timeout -k 5 60 "$HD" vmm --memory 512 --memory-file "$IMG" --control "$TMP/c.sock" \
	--serial "$TMP/c.console" --guest-cmdline "workload=checksum iterations=$ROUNDS" \
	2>"$TMP/c.err" &
VMM=$!
PIDS="$PIDS $VMM"
wait_for_file "$TMP/c.sock" || not_ok "no control socket" "$(cat "$TMP/c.err")"
size=$(stat -c %s "$IMG" 2>/dev/null)
[ "$size" = $((512 << 20)) ] && ok "the memory file is the RAM's size" ||
	not_ok "memory file size '$size'"
mode=$(stat -c %a "$IMG" 2>/dev/null)
[ "$mode" = 600 ] && ok "the memory file is private (mode 600)" || not_ok "memory file mode '$mode'"
hd ctl "$TMP/c.sock" status
expect_in "status names the memory file" "\"memory_file\":\"$IMG\"" "$out"
hd vmm --memory 512 --memory-file "$IMG" --serial none --guest-cmdline exit=5
expect_rc "a second VM on the same memory file is refused" 1
expect_in "the refusal says why" "is in use by another VM" "$err"
# A busy guest touches its working set again at once, so what these free (net) may be nothing;
# that a release frees memory is checked on the idle desktop below.
for i in 1 2 3; do
	hd ctl "$TMP/c.sock" memory-release
	expect_rc "memory-release $i while the workload runs" 0
done
case "$(cat "$TMP/c.console")" in
*checksum:*) not_ok "the workload ended before the releases; raise ROUNDS" ;;
*) ok "the releases came before the workload's end" ;;
esac
wait "$VMM"
rc=$?
[ "$rc" -eq 0 ] && ok "the file-backed VM finishes (exit 0)" || not_ok "exit $rc" "$(cat "$TMP/c.err")"
X=$(sed -n 's/^checksum: //p' "$TMP/c.console")
hd vmm --serial stdio --guest-cmdline "workload=checksum iterations=$ROUNDS"
Y=$(printf '%s\n' "$out" | sed -n 's/^checksum: //p')
[ -n "$X" ] && [ "$X" = "$Y" ] && ok "checksum on released file-backed RAM equals memfd RAM's ($X)" ||
	not_ok "checksums differ: file '$X', memfd '$Y'"
grep -qaF "workload=checksum iterations=$ROUNDS" "$IMG" &&
	ok "the file holds the guest's RAM (its command line) after the VM ends" ||
	not_ok "the guest's command line is not in the memory file"

# ---- a desktop released to the file, then snapshotted: its picture comes back ----
rm -f "$IMG"
timeout -k 5 60 "$HD" vmm --memory-file "$IMG" --control "$TMP/d.sock" \
	--serial "$TMP/d.console" --guest-cmdline still=1 2>"$TMP/d.err" &
DESK=$!
PIDS="$PIDS $DESK"
for _ in $(seq 100); do grep -qx "display: head 0 1024x768" "$TMP/d.console" 2>/dev/null && break; sleep 0.1; done
sleep 1 # the first frame drawn
hd ctl "$TMP/d.sock" screendump 0 "$TMP/d-before.png"
expect_rc "screendump of the file-backed desktop" 0
hd ctl "$TMP/d.sock" status
held=$(json_num memory_resident_bytes "$out")
hd ctl "$TMP/d.sock" memory-release
expect_rc "memory-release of the idle desktop" 0
after=$(json_num resident_bytes "$out")
hd ctl "$TMP/d.sock" snapshot "$TMP/d.snap"
expect_rc "snapshot after the release (reads all RAM back from the file)" 0
hd ctl "$TMP/d.sock" quit
wait "$DESK"
timeout -k 5 60 "$HD" vmm --restore "$TMP/d.snap" --control "$TMP/r.sock" --serial none \
	2>"$TMP/r.err" &
REST=$!
PIDS="$PIDS $REST"
wait_for_file "$TMP/r.sock" || not_ok "restored desktop: no control socket" "$(cat "$TMP/r.err")"
hd ctl "$TMP/r.sock" screendump 0 "$TMP/d-after.png"
expect_rc "screendump of the restored desktop" 0
out=$(python3 "$PNGCMP" compare --threshold 0 --tolerance 0 "$TMP/d-before.png" \
	"$TMP/d-after.png" 2>&1)
expect_in "the desktop written back to the file and read again shows the same picture" "SAME" "$out"
[ -n "$held" ] && [ -n "$after" ] && [ "$after" -lt "$held" ] &&
	ok "the idle desktop's resident RAM fell from $held to $after bytes" ||
	not_ok "resident RAM before '$held', after the release '$after'"
stop "$REST"

# ---- refusals ----
hd vmm --memory-file /dev/null --serial none
expect_rc "a device as memory file is refused" 1
expect_in "it says why" "is not a regular file" "$err"
hd vmm --memory-file "$TMP" --serial none
expect_rc "a directory as memory file is refused" 1
expect_in "it names the file" "memory file '$TMP'" "$err"
hd vmm --memory-file "$TMP/no/such/dir/ram.img" --serial none
expect_rc "a memory file in a missing directory is refused" 1
expect_in "it says why" "No such file or directory" "$err"
hd vmm --memory-file "" --serial none
expect_rc "an empty --memory-file is a usage error" 2
timeout -k 5 60 "$HD" vmm --control "$TMP/m.sock" --serial none 2>"$TMP/m.err" &
MEMFD=$!
PIDS="$PIDS $MEMFD"
wait_for_file "$TMP/m.sock"
hd ctl "$TMP/m.sock" memory-release
[ "$rc" -ne 0 ] && ok "memory-release on memfd RAM fails (exit $rc)" || not_ok "memory-release on memfd RAM" "$out"
expect_in "and says why" "not an image file" "$out$err"
stop "$MEMFD"

finish
