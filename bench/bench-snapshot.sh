#!/usr/bin/env bash
# bench-snapshot.sh: snapshot save time (the `snapshot` command's own ms and bytes) and restore
# time (exec to the restored VM answering `ctl status`, next to a plain boot's) at each memory
# size, median of RUNS: the spin guest (only what its boot set up is in RAM), and the demo
# desktop after memfill=all (all of its free RAM written, so all of it is saved and restored).
# Prints every command. Not a test.
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

# snap_ms ARGS...: starts `hyperdesk vmm ARGS --control S --serial C`, waits until `ctl S
# status` answers (and, for memfill=, until the desktop is up after the fill), snapshots it to
# $TMP/F, quits it; sets SAVE (ms) and BYTES.
snap_ms() {
	local s="$TMP/vm.sock" con="$TMP/console" r
	rm -f "$s" "$TMP/F" "$con"
	"$HD" vmm "$@" --control "$s" --serial "$con" 2>>"$TMP/err" &
	VMM=$!
	until "$HD" ctl "$s" status >/dev/null 2>&1; do sleep 0.005; done
	case "$*" in *memfill=*)
		until grep -q '^display: head 0' "$con" 2>/dev/null; do sleep 0.05; done
		sed -n 's/^memfill: /#   memfill: /p' "$con" >&2
		sleep 1 # the first frame drawn
		;;
	esac
	r=$("$HD" ctl "$s" snapshot "$TMP/F")
	"$HD" ctl "$s" quit >/dev/null 2>&1
	wait "$VMM"
	VMM=""
	SAVE=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ms"])' "$r")
	BYTES=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["bytes"])' "$r")
}

per_gib() { awk -v v="$1" -v m="$2" 'BEGIN {printf "%.1f", v * 1024 / m}'; }

printf '%-8s %-7s %12s %10s %10s %12s %12s %12s\n' MiB guest file-bytes save-ms "save-ms/GiB" \
	restore-ms "restore/GiB" boot-ms
for m in "${SIZES[@]}"; do
	for kind in spin filled; do
		if [ "$kind" = spin ]; then
			# spin.elf: prints and loops; its RAM is what the boot set up (page tables, image)
			boot=(--guest "$GUESTS/spin.elf" --memory "$m") when=""
		else
			boot=(--memory "$m" --guest-cmdline memfill=all)
			when=" (once C says 'display: head 0', and 1 s more)"
		fi
		echo "# $HD vmm ${boot[*]} --control S --serial C; $HD ctl S snapshot F$when" >&2
		echo "# $HD vmm --restore F --control S --serial none (until ctl S status answers)" >&2
		saves=() restores=() boots=() bytes=0
		for _ in $(seq "$RUNS"); do
			snap_ms "${boot[@]}"
			saves+=("$SAVE")
			bytes=$BYTES
			restores+=("$(up_ms --restore "$TMP/F")")
			# a filled guest answers status long before its fill is done: no boot figure
			[ "$kind" = spin ] && boots+=("$(up_ms "${boot[@]}")")
		done
		rm -f "$TMP/F"
		save=$(printf '%s\n' "${saves[@]}" | median)
		restore=$(printf '%s\n' "${restores[@]}" | median)
		boot_med=-
		[ "$kind" = spin ] && boot_med=$(printf '%s\n' "${boots[@]}" | median)
		printf '%-8s %-7s %12s %10s %10s %12s %12s %12s\n' "$m" "$kind" "$bytes" "$save" \
			"$(per_gib "$save" "$m")" "$restore" "$(per_gib "$restore" "$m")" "$boot_med"
		echo "#   all runs: save ${saves[*]}; restore ${restores[*]}" >&2
	done
done
