#!/usr/bin/env bash
# bench-migrate.sh: live migration over loopback between two VMMs on this host, at each memory
# size, with the guest idle (the demo desktop: a clock redrawn each second) and while it
# rewrites 16 MiB of memory as fast as it can (workload=checksum), each also after writing all
# its free RAM first (memfill=all: "-filled" rows, so every page is sent, not a hole); prints
# the summary's total time, downtime, bytes on the wire and passes, median of RUNS (by
# downtime). Prints every command. Not a test.
# usage: bench-migrate.sh HYPERDESK [RUNS] [MEMORY-MiB...]
set -u
HD=${1:?usage: $0 HYPERDESK [RUNS] [MEMORY-MiB...]}
RUNS=${2:-3}
shift 2 2>/dev/null || shift $#
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(1024 4096)
TMP=$(mktemp -d)
SRC="" DST=""
trap '[ -n "$SRC" ] && kill "$SRC" 2>/dev/null; [ -n "$DST" ] && kill "$DST" 2>/dev/null; rm -rf "$TMP"' EXIT

# one_run MiB CMDLINE: prints "total-ms downtime-ms bytes passes" of one migration.
one_run() {
	local m=$1 cmdline=$2 s="$TMP/src.sock" port="" serial=none
	rm -f "$s" "$TMP/dst.err" "$TMP/src.console"
	case "$cmdline" in memfill=*) serial="$TMP/src.console" ;; esac
	"$HD" vmm --incoming tcp:127.0.0.1:0 --serial none 2>"$TMP/dst.err" &
	DST=$!
	"$HD" vmm --memory "$m" --control "$s" --serial "$serial" --guest-cmdline "$cmdline" \
		2>>"$TMP/src.err" &
	SRC=$!
	until [ -n "$port" ]; do
		port=$(sed -n 's/.*waiting for a migration on tcp:127\.0\.0\.1:\([0-9]*\).*/\1/p' \
			"$TMP/dst.err")
		sleep 0.01
	done
	until "$HD" ctl "$s" status >/dev/null 2>&1; do sleep 0.01; done
	if [ "$serial" != none ]; then # the fill done (seconds a GiB here)
		until grep -q '^memfill:' "$serial" 2>/dev/null; do sleep 0.05; done
		sed -n 's/^memfill: /#   memfill: /p' "$serial" >&2
	fi
	sleep 1 # the guest settles: desktop drawn, or the workload under way
	"$HD" migrate "$s" "tcp:127.0.0.1:$port" >"$TMP/mig.out" 2>&1
	wait "$SRC"
	SRC=""
	awk '/total time/ {t = $3} /downtime/ {d = $2} /bytes sent/ {b = $3}
	     /passes/ {p = $2} END {print t, d, b, p}' "$TMP/mig.out"
	kill "$DST" 2>/dev/null
	wait "$DST"
	DST=""
}

printf '%-6s %-16s %10s %12s %14s %7s\n' MiB guest total-ms downtime-ms bytes passes
for m in "${SIZES[@]}"; do
	for kind in idle dirtying idle-filled dirtying-filled; do
		case "$kind" in
		idle) cmd="workload=static" ;;
		dirtying) cmd="workload=checksum iterations=1000000000" ;;
		idle-filled) cmd="memfill=all workload=static" ;;
		dirtying-filled) cmd="memfill=all workload=checksum iterations=1000000000" ;;
		esac
		serial=none when="1 s later"
		if [ "${kind%-filled}" != "$kind" ]; then
			serial=F when="1 s after F's 'memfill:' line"
		fi
		echo "# $HD vmm --incoming tcp:127.0.0.1:0 --serial none" >&2
		echo "# $HD vmm --memory $m --control S --serial $serial --guest-cmdline '$cmd'" >&2
		echo "# ($when) $HD migrate S tcp:127.0.0.1:PORT" >&2
		rows=()
		for _ in $(seq "$RUNS"); do rows+=("$(one_run "$m" "$cmd")"); done
		med=$(printf '%s\n' "${rows[@]}" | sort -k2 -n | awk '{r[NR] = $0} END {print r[int((NR + 1) / 2)]}')
		read -r t d b p <<<"$med"
		printf '%-6s %-16s %10s %12s %14s %7s\n' "$m" "$kind" "$t" "$d" "$b" "$p"
		echo "#   all runs (total downtime bytes passes): $(printf '%s; ' "${rows[@]}")" >&2
	done
done
