#!/usr/bin/env bash
# boot-demo.sh: boots the built-in demo guest and checks its console, command line and exit
# status handling end to end. Not a timing test (bench/ measures boot time).
. "$(dirname "$0")/lib.sh"
need_kvm

hd vmm --guest-cmdline exit=0
expect_rc "demo guest powers off with exit=0" 0
expect_in "banner names the guest" "hyperdesk demo guest" "$out"
expect_in "banner has default vCPU count" "1 vCPUs (1 online)" "$out"
expect_in "banner has default memory" "256 MiB RAM" "$out"
expect_in "command line reaches the guest" "cmdline: exit=0" "$out"

hd vmm --cpus 4 --memory 512 --guest-cmdline "exit=7"
expect_rc "guest exit status becomes the VMM's" 7
expect_in "4 vCPUs come online" "4 vCPUs (4 online)" "$out"
expect_in "memory size reaches the guest" "512 MiB RAM" "$out"
expect_in "guest reports its exit" "exit: 7" "$out"

hd vmm --guest-cmdline "colour=blue exit=255"
expect_rc "exit=255" 255
expect_in "unknown options are warned about" "warning: unknown option colour" "$out"

hd vmm --guest-cmdline "exit=256"
expect_rc "an out-of-range exit value is a guest error" 1
expect_in "guest explains the bad value" "error: bad value for exit: 256" "$out"

hd vmm --memory 256 --guest-cmdline "memfill=257"
expect_rc "memfill= more than the RAM is a guest error" 1
expect_in "guest explains the bad value" "error: bad value for memfill: 257 (more than the" "$out"
hd vmm --guest-cmdline "memfill=lots"
expect_rc "a memfill= that is no number is a guest error" 1
expect_in "guest names the bad value" "error: bad value for memfill: lots" "$out"

hd vmm --guest-cmdline "fault=1"
expect_rc "a guest page fault ends with the guest's fault status" 125
expect_in "guest reports the exception" "guest: exception 14" "$out"

hd vmm --serial "$TMP/console.log" --guest-cmdline exit=3
expect_rc "--serial FILE" 3
expect_in "console goes to the file" "exit: 3" "$(cat "$TMP/console.log")"
[ -z "$out" ] && ok "nothing on stdout with --serial FILE" || not_ok "stdout not empty with --serial FILE" "$out"

hd vmm --serial none --guest-cmdline exit=4
expect_rc "--serial none" 4

hd run --vnc 127.0.0.1:0 --guest-cmdline exit=5
expect_rc "hyperdesk run boots the demo guest" 5
expect_in "run shows the console" "hyperdesk demo guest" "$out"

if [ -n "$GUESTS" ]; then
	hd vmm --guest "$GUESTS/exit42.elf"
	expect_rc "--guest PATH boots another ELF guest" 42
	expect_in "its console" "tiny guest ok" "$out"
fi

finish
