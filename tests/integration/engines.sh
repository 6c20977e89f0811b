#!/usr/bin/env bash
# engines.sh: the execution engines give the same guest-visible results: the demo guest, its
# engine workloads (workload=compute|pio|syscall|mixed) and the workload guests (tests/guests)
# print the same output and exit status under kvm, soft and auto; without KVM the VMM says so
# once and runs soft.
. "$(dirname "$0")/lib.sh"

if ! "$HD" vmm --help 2>&1 | grep -q "auto|kvm|soft"; then
	echo "SKIP: this hyperdesk has no engine selection"
	exit 77
fi

# Without KVM (any engine but kvm): the soft engine runs the guest, with one warning line.
hd vmm --kvm-device "$TMP/no-kvm" --guest-cmdline exit=7
soft_built=1
case "$err" in *"no software engine"*) soft_built=0 ;; esac
if [ "$soft_built" = 1 ]; then
	expect_rc "no KVM: demo guest on the soft engine" 7
	expect_in "no KVM: output" "exit: 7" "$out"
	expect_one_line_error "no KVM: said once" "software engine only"
else
	echo "# this build has no software engine (Unicorn): fallback to kvm only"
	expect_rc "no soft engine and no KVM" 1
fi

need_kvm

for cmdline in exit=7 exit=0 fault=1 fault=2; do
	ref_out="" ref_rc=""
	for engine in kvm soft auto; do
		hd vmm --engine "$engine" --guest-cmdline "$cmdline"
		if [ -z "$ref_rc" ]; then
			ref_out=$out ref_rc=$rc
			continue
		fi
		if [ "$rc" = "$ref_rc" ] && [ "$out" = "$ref_out" ]; then
			ok "demo $cmdline: $engine matches kvm (exit $rc)"
		else
			not_ok "demo $cmdline: $engine differs from kvm" "kvm: exit $ref_rc: $ref_out" \
				"$engine: exit $rc: $out" "stderr: $err"
		fi
	done
done

hd vmm --engine auto --cpus 2 --guest-cmdline exit=3
expect_rc "auto with 2 vCPUs" 3

if [ -n "$GUESTS" ]; then
	for g in compute pio syscall mixed; do
		ref=""
		for engine in kvm soft auto; do
			hd vmm --engine "$engine" --guest "$GUESTS/$g.elf"
			if [ "$rc" -ne 0 ]; then
				not_ok "$g on $engine: exit $rc" "stdout: $out" "stderr: $err"
				continue
			fi
			case "$out" in
			"$g checksum "*) ;;
			*) not_ok "$g on $engine: no checksum" "stdout: $out"; continue ;;
			esac
			if [ -z "$ref" ]; then
				ref=$out
				ok "$g on $engine: $out"
			elif [ "$out" = "$ref" ]; then
				ok "$g on $engine: same checksum"
			else
				not_ok "$g on $engine: checksum differs" "want: $ref" "got: $out"
			fi
		done
	done
fi

# The same workloads in the demo guest (workload=NAME): one checksum line under every engine,
# exit 0, the whole output identical; at the default sizes the checksum is the asm guest's.
for g in compute pio syscall mixed; do
	ref_out="" ref_sum=""
	for engine in kvm soft auto; do
		hd vmm --engine "$engine" --guest-cmdline "workload=$g"
		sum=$(sed -n 's/^checksum: 0x\([0-9a-f]\{16\}\)$/\1/p' <<<"$out")
		if [ "$rc" -ne 0 ] || [ -z "$sum" ]; then
			not_ok "demo workload=$g on $engine: exit $rc, checksum '$sum'" "stdout: $out" \
				"stderr: $err"
			continue
		fi
		if [ -z "$ref_sum" ]; then
			ref_out=$out ref_sum=$sum
			ok "demo workload=$g on $engine: checksum 0x$sum"
		elif [ "$out" = "$ref_out" ]; then
			ok "demo workload=$g on $engine: same checksum and output"
		else
			not_ok "demo workload=$g on $engine: differs" "want: $ref_out" "got: $out"
		fi
	done
	if [ -n "$ref_sum" ] && [ -n "$GUESTS" ] && [ -e "$GUESTS/$g.elf" ]; then
		hd vmm --engine kvm --guest "$GUESTS/$g.elf"
		expect_in "demo workload=$g: same checksum as tests/guests/$g" "$g checksum $ref_sum" \
			"$out"
	fi
done
hd vmm --guest-cmdline "workload=syscall iterations=10"
expect_in "demo workload=syscall iterations=10" "workload: syscall, 10 int \$0x80" "$out"

# The control socket shows the mode, each vCPU's engine and the engine counters.
sock="$TMP/ctl.sock"
"$HD" vmm --engine auto --control "$sock" --serial none >/dev/null 2>&1 &
PIDS="$PIDS $!"
if wait_for_file "$sock"; then
	sleep 0.5
	st=$("$HD" ctl "$sock" status 2>&1)
	expect_in "status reports the engine mode" '"engine":"auto"' "$st"
	expect_in "status reports each vCPU's engine" '"vcpu_engines":[' "$st"
	sa=$("$HD" ctl "$sock" stats 2>&1)
	expect_in "stats reports engine switches" '"switches_to_soft":' "$sa"
	expect_in "stats reports soft instructions" '"soft_insns":' "$sa"
	"$HD" ctl "$sock" quit >/dev/null 2>&1
else
	not_ok "control socket did not appear"
fi

finish
