#!/usr/bin/env bash
# vmm-errors.sh: bad input to `hyperdesk vmm` (files, sizes, devices, options) and crashing
# guests each give one clear error line and a non-zero status, never a hang or a core dump.
. "$(dirname "$0")/lib.sh"

hd vmm --memory 0
expect_rc "--memory 0 is a usage error" 2
expect_one_line_error "--memory 0" "too little"

hd vmm --memory lots
expect_rc "--memory lots" 2
expect_one_line_error "--memory lots" "not a number"

hd vmm --cpus 0
expect_rc "--cpus 0" 2
expect_one_line_error "--cpus 0" "--cpus"

hd vmm --frobnicate
expect_rc "unknown option" 2

hd vmm --engine warp
expect_rc "--engine warp is not an engine" 2
expect_one_line_error "--engine warp" "not an engine"

hd vmm --engine-tune burst_exits=zero
expect_rc "--engine-tune with a bad value" 2
expect_one_line_error "--engine-tune burst_exits=zero" "not a number"

hd vmm --engine-tune nosuch=1
expect_rc "--engine-tune with an unknown key" 2
expect_one_line_error "--engine-tune nosuch=1" "unknown engine tunable"

hd vmm --guest "$TMP/missing.elf"
expect_rc "missing guest file" 1
expect_one_line_error "missing guest file" "cannot open guest"

head -c 3000 /dev/urandom >"$TMP/noise.elf"
hd vmm --guest "$TMP/noise.elf"
expect_rc "corrupt guest file" 1
expect_one_line_error "corrupt guest file" "not an ELF file"

# Only --engine kvm insists on KVM; auto and soft fall back to the soft engine (engines.sh).
hd vmm --engine kvm --kvm-device "$TMP/no-kvm"
expect_rc "no KVM device" 1
expect_one_line_error "no KVM device" "no KVM"

hd vmm --control "$TMP/a/very/long/$(printf 'x%.0s' $(seq 120))/sock" --guest-cmdline exit=0
expect_rc "overlong control socket path" 1
expect_one_line_error "overlong control socket path" "too long"

need_kvm
hd vmm --memory 2
expect_rc "demo guest does not fit in 2 MiB" 1
expect_one_line_error "guest larger than memory" "does not fit in guest RAM"

if [ -n "$GUESTS" ]; then
	# A truncated copy of a valid guest: headers intact, segment data cut off.
	head -c 100 "$GUESTS/exit42.elf" >"$TMP/truncated.elf"
	hd vmm --guest "$TMP/truncated.elf"
	expect_rc "truncated guest file" 1
	expect_one_line_error "truncated guest file" "truncated"

	hd vmm --guest "$GUESTS/triple-fault.elf"
	expect_rc "a triple-faulting guest ends the VMM with status 3" 3
	expect_one_line_error "triple fault is reported" "triple fault"
fi

finish
