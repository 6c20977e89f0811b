#!/usr/bin/env bash
# bench-snapshot.sh: snapshot save time (the `snapshot` command's own ms and bytes) and restore
# time (exec to the restored VM answering `ctl status`, next to a plain boot's) at each memory
# size, median of RUNS. Prints every command. Not a test; no guest here dirties most of its RAM.
# usage: bench-snapshot.sh HYPERDESK GUEST-DIR [RUNS] [MEMORY-MiB...]
set -u
HD=${1:?usage: $0 HYPERDESK GUEST-DIR [RUNS] [MEMORY-MiB...]}
GUESTS=${2:?usage: $0 HYPERDESK GUEST-DIR [RUNS] [MEMORY-MiB...]}
RUNS=${3:-5}
shift 3 2>/dev/null || shift $#
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(1024 4096)
TMP=$(mktemp -d)
VMM=""
trap '[ -n "$VMM" ] && kill "$VMM" 2>/dev/null; rm -rf "$TMP"' EXIT

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# up_ms ARGS...: starts `hyperdesk vmm ARGS --control S`, prints ms until `ctl S status`
# answers, then quits the VM.
up_ms() {
	local s="$TMP/up.sock" t0 t1
	rm -f "$s"
	t0=$(now_ms)
	"$HD" vmm "$@" --control "$s" --serial none 2>>"$TMP/err" &
	VMM=$!
	until "$HD" ctl "$s" status >/dev/null 2>&1; do sleep 0.005; done
	t1=$(now_ms)
	"$HD" ctl "$s" quit >/dev/null 2>&1
	wait "$VMM"
	VMM=""
	echo $((t1 - t0))
}

printf '%-8s %12s %10s %10s %12s %12s\n' MiB file-bytes save-ms "save-ms/GiB" restore-ms boot-ms
for m in "${SIZES[@]}"; do
	# spin.elf: prints and loops; its RAM is what the boot set up (page tables, image)
	boot=(--guest "$GUESTS/spin.elf" --memory "$m")
	echo "# $HD vmm ${boot[*]} --control S --serial none; $HD ctl S snapshot F" >&2
	echo "# $HD vmm --restore F --control S --serial none (until ctl S status answers)" >&2
	saves=() restores=() boots=() bytes=0
	for _ in $(seq "$RUNS"); do
		s="$TMP/vm.sock"
		rm -f "$s" "$TMP/F"
		"$HD" vmm "${boot[@]}" --control "$s" --serial none 2>>"$TMP/err" &
		VMM=$!
		until "$HD" ctl "$s" status >/dev/null 2>&1; do sleep 0.005; done
		r=$("$HD" ctl "$s" snapshot "$TMP/F")
		"$HD" ctl "$s" quit >/dev/null 2>&1
		wait "$VMM"
		VMM=""
		saves+=("$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ms"])' "$r")")
		bytes=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["bytes"])' "$r")
		restores+=("$(up_ms --restore "$TMP/F")")
		boots+=("$(up_ms "${boot[@]}")")
	done
	save=$(printf '%s\n' "${saves[@]}" | median)
	printf '%-8s %12s %10s %10.1f %12s %12s\n' "$m" "$bytes" "$save" \
		"$(awk -v s="$save" -v m="$m" 'BEGIN {print s * 1024 / m}')" \
		"$(printf '%s\n' "${restores[@]}" | median)" "$(printf '%s\n' "${boots[@]}" | median)"
done
