#!/usr/bin/env bash
# bench-engines.sh: wall time of each engine workload guest (tests/guests: compute, pio,
# syscall, mixed) under --engine kvm, soft and auto, median of N runs, plus the measured cost
# of an engine switch. Prints every command it runs. Not a test: it asserts nothing.
# usage: bench-engines.sh HYPERDESK GUEST-DIR [RUNS]
set -u
HD=${1:?usage: $0 HYPERDESK GUEST-DIR [RUNS]}
GUESTS=${2:?usage: $0 HYPERDESK GUEST-DIR [RUNS]}
RUNS=${3:-10}

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

printf '%-8s %10s %10s %10s   (median ms of %d runs)\n' workload kvm soft auto "$RUNS"
for g in compute pio syscall mixed; do
	row=()
	for e in kvm soft auto; do
		cmd=("$HD" vmm --engine "$e" --guest "$GUESTS/$g.elf" --serial none)
		echo "# ${cmd[*]}" >&2
		times=()
		for _ in $(seq "$RUNS"); do
			t0=$(date +%s%N)
			"${cmd[@]}" >/dev/null 2>&1 || echo "# run failed: exit $?" >&2
			t1=$(date +%s%N)
			times+=($(((t1 - t0) / 1000)))
		done
		row+=("$(printf '%s\n' "${times[@]}" | median | awk '{printf "%.1f", $1 / 1000}')")
	done
	printf '%-8s %10s %10s %10s\n' "$g" "${row[@]}"
done

# Switch cost: the VMM's own account of time spent moving state (it logs one summary line a
# vCPU at -v). The pio guest under auto switches to soft for its bursts and back at CPL3.
cmd=("$HD" vmm -v --engine auto --guest "$GUESTS/mixed.elf" --serial none)
echo "# ${cmd[*]}" >&2
"${cmd[@]}" 2>&1 | grep "per switch" | sed 's/^/switch cost: /'
