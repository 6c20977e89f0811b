#!/usr/bin/env bash
# bench-memory-file.sh: guest RAM in an image file (--memory-file) against a memfd: the
# checksum workload's run time (16 MiB rewritten per round), and `memory-release` (its own ms,
# bytes released) on an idle desktop and in the middle of the checksum workload, at each memory
# size; median of RUNS. The file lives in DIR (default: the current directory, so a disk, not
# tmpfs). Prints every command. Not a test.
# usage: bench-memory-file.sh HYPERDESK [RUNS] [DIR] [MEMORY-MiB...]
set -u
HD=${1:?usage: $0 HYPERDESK [RUNS] [DIR] [MEMORY-MiB...]}
RUNS=${2:-5}
DIR=${3:-.}
shift 3 2>/dev/null || shift $#
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(1024 4096)
ROUNDS=1000
TMP=$(mktemp -d)
IMG=$(mktemp -p "$DIR" hyperdesk-bench-XXXXXX.img)
VMM=""
trap '[ -n "$VMM" ] && kill "$VMM" 2>/dev/null; rm -rf "$TMP" "$IMG"' EXIT

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# run_ms ARGS...: ms the checksum workload's VM takes from exec to exit.
run_ms() {
	local t0
	t0=$(now_ms)
	"$HD" vmm "$@" --serial none --guest-cmdline "workload=checksum iterations=$ROUNDS" \
		2>>"$TMP/err"
	echo $(($(now_ms) - t0))
}

# release ARGS...: starts a VM with ARGS on the memory file, waits 1 s, prints the
# `memory-release` reply's ms and released_bytes, then quits the VM.
release() {
	local s="$TMP/vm.sock" r
	rm -f "$s"
	"$HD" vmm --memory-file "$IMG" "$@" --control "$s" --serial none 2>>"$TMP/err" &
	VMM=$!
	until "$HD" ctl "$s" status >/dev/null 2>&1; do sleep 0.005; done
	sleep 1
	r=$("$HD" ctl "$s" memory-release)
	"$HD" ctl "$s" quit >/dev/null 2>&1
	wait "$VMM"
	VMM=""
	echo "$(field "$r" ms) $(field "$r" released_bytes)"
}

printf '%-6s %12s %12s %16s %14s %18s %16s\n' MiB memfd-run-ms file-run-ms idle-release-ms \
	idle-released busy-release-ms busy-released
for m in "${SIZES[@]}"; do
	echo "# $HD vmm --memory $m [--memory-file $IMG] --serial none --guest-cmdline 'workload=checksum iterations=$ROUNDS'" >&2
	echo "# $HD vmm --memory-file $IMG --memory $m [--guest-cmdline still=1 | workload=checksum ...] --control S; sleep 1; $HD ctl S memory-release" >&2
	a=() b=() ims=() ib=() bms=() bb=()
	for _ in $(seq "$RUNS"); do
		a+=("$(run_ms --memory "$m")")
		b+=("$(run_ms --memory "$m" --memory-file "$IMG")")
		read -r ms by < <(release --memory "$m" --guest-cmdline still=1)
		ims+=("$ms") ib+=("$by")
		read -r ms by < <(release --memory "$m" --guest-cmdline "workload=checksum iterations=100000")
		bms+=("$ms") bb+=("$by")
	done
	printf '%-6s %12s %12s %16s %14s %18s %16s\n' "$m" \
		"$(printf '%s\n' "${a[@]}" | median)" "$(printf '%s\n' "${b[@]}" | median)" \
		"$(printf '%s\n' "${ims[@]}" | median)" "$(printf '%s\n' "${ib[@]}" | median)" \
		"$(printf '%s\n' "${bms[@]}" | median)" "$(printf '%s\n' "${bb[@]}" | median)"
done
