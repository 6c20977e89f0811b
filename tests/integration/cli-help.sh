#!/usr/bin/env bash
# cli-help.sh: --help and --version of the binary and each subcommand tell the truth and exit
# 0; unknown commands exit 2. Not a test of any VM behaviour.
. "$(dirname "$0")/lib.sh"

hd --version
expect_rc "--version" 0
expect_in "--version prints the version" "hyperdesk 0." "$out"
hd --help
expect_rc "--help" 0
for c in run vmm ctl migrate; do expect_in "--help lists $c" "$c" "$out"; done
for c in run vmm ctl migrate; do
	hd "$c" --help
	expect_rc "$c --help" 0
done
hd vmm --help
for o in --guest --memory --cpus --serial --guest-cmdline --control --engine; do
	expect_in "vmm --help documents $o" "$o" "$out"
done
for o in --incoming --incoming-insecure --fault-inject; do
	expect_in "vmm --help documents $o" "$o" "$out"
done
expect_in "vmm --help says the migration stream is unencrypted" "unencrypted" "$out"
hd migrate --help
expect_in "migrate --help says the stream is unauthenticated" "authenticated" "$out"
expect_in "migrate --help documents --max-rate" "--max-rate" "$out"
hd migrate
expect_rc "migrate without arguments" 2
hd frobnicate
expect_rc "unknown command" 2
hd
expect_rc "no command" 2
hd ctl
expect_rc "ctl without arguments" 2
finish
