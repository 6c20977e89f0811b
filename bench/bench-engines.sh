#!/usr/bin/env bash
# bench-engines.sh: time of each engine workload guest (tests/guests: compute, pio, syscall,
# mixed) and of the demo guest's workload=compute|pio|syscall|mixed (rows demo-NAME) under
# --engine kvm, soft and auto, median of N runs: the process's wall time, and the
# guest's own run time (the VMM's account at -v: first vCPU entry to power-off, without the
# process's start-up and KVM's set-up and teardown); then the measured cost of an engine
# switch. Prints every command it runs. Not a test: it asserts nothing.
# usage: bench-engines.sh HYPERDESK GUEST-DIR [RUNS]
set -u
HD=${1:?usage: $0 HYPERDESK GUEST-DIR [RUNS]}
GUESTS=${2:?usage: $0 HYPERDESK GUEST-DIR [RUNS]}
RUNS=${3:-10}

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

wall_rows=() guest_rows=()
# NAME = a workload guest (tests/guests/NAME.elf); demo-NAME = the built-in demo guest with
# workload=NAME, the same work behind the demo kernel's boot and system-call path.
for g in compute pio syscall mixed demo-compute demo-pio demo-syscall demo-mixed; do
	wall=() guest=()
	case "$g" in
	demo-*) guest_args=(--guest-cmdline "workload=${g#demo-}") ;;
	*) guest_args=(--guest "$GUESTS/$g.elf") ;;
	esac
	for e in kvm soft auto; do
		cmd=("$HD" vmm -v --engine "$e" "${guest_args[@]}" --serial none)
		echo "# ${cmd[*]}" >&2
		times=() ran=()
		for _ in $(seq "$RUNS"); do
			t0=$(date +%s%N)
			log=$("${cmd[@]}" 2>&1 >/dev/null) || echo "# run failed: exit $?" >&2
			t1=$(date +%s%N)
			times+=($(((t1 - t0) / 1000)))
			# "vCPU 0: ran 6.4 ms: ..." (one vCPU)
			ran+=("$(sed -n 's/.*vCPU 0: ran \([0-9.]*\) ms.*/\1/p' <<<"$log" | head -1)")
		done
		wall+=("$(printf '%s\n' "${times[@]}" | median | awk '{printf "%.1f", $1 / 1000}')")
		guest+=("$(printf '%s\n' "${ran[@]}" | median | awk '{printf "%.1f", $1}')")
	done
	wall_rows+=("$(printf '%-12s %10s %10s %10s' "$g" "${wall[@]}")")
	guest_rows+=("$(printf '%-12s %10s %10s %10s' "$g" "${guest[@]}")")
done
printf '%-12s %10s %10s %10s   (wall ms, process start to exit, median of %d runs)\n' \
	workload kvm soft auto "$RUNS"
printf '%s\n' "${wall_rows[@]}"
printf '%-12s %10s %10s %10s   (guest ms, first vCPU entry to power-off, median of %d runs)\n' \
	workload kvm soft auto "$RUNS"
printf '%s\n' "${guest_rows[@]}"

# Switch cost: the VMM's own account of time spent moving state (it logs one summary line a
# vCPU at -v). The mixed guest under auto switches to soft for its kernel work and back at CPL3.
cmd=("$HD" vmm -v --engine auto --guest "$GUESTS/mixed.elf" --serial none)
echo "# ${cmd[*]}" >&2
"${cmd[@]}" 2>&1 | grep "per switch" | sed 's/^/switch cost: /'
