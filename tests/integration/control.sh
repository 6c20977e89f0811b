#!/usr/bin/env bash
# control.sh: the control socket and `hyperdesk ctl` against a running VM: status, stats,
# pause/resume, errors, hostile requests, quit and SIGTERM. Not a load test.
. "$(dirname "$0")/lib.sh"
need_kvm

SOCK="$TMP/vm.sock"
GUEST=demo
[ -n "$GUESTS" ] && GUEST="$GUESTS/spin.elf" # a vCPU that never halts is the harder case

"$HD" vmm --guest "$GUEST" --cpus 2 --memory 128 --control "$SOCK" >"$TMP/console" 2>"$TMP/vmm.err" &
VMM=$!
PIDS="$VMM"
wait_for_file "$SOCK" && ok "control socket appears" || not_ok "control socket never appeared" "$(cat "$TMP/vmm.err")"

json() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print($2)" "$out"; }

hd ctl "$SOCK" status
expect_rc "ctl status" 0
[ "$(json "$out" "d['state']")" = running ] && ok "state is running" || not_ok "state" "$out"
[ "$(json "$out" "d['vcpus']")" = 2 ] && ok "status reports 2 vCPUs" || not_ok "vcpus" "$out"
[ "$(json "$out" "d['memory_mib']")" = 128 ] && ok "status reports 128 MiB" || not_ok "memory" "$out"
[ "$(json "$out" "d['engine']")" = auto ] && ok "status reports the default engine mode (auto)" || not_ok "engine" "$out"

hd ctl "$SOCK" stats
expect_rc "ctl stats" 0
[ "$(json "$out" "len(d['vcpus'])")" = 2 ] && ok "stats has one entry per vCPU" || not_ok "stats vcpus" "$out"
[ "$(json "$out" "d['vcpus'][0]['io_exits'] > 0")" = True ] && ok "vCPU 0 counted I/O exits" || not_ok "io exits" "$out"

hd ctl "$SOCK" pause
expect_rc "ctl pause" 0
hd ctl "$SOCK" status
[ "$(json "$out" "d['state']")" = paused ] && ok "state is paused" || not_ok "paused state" "$out"
hd ctl "$SOCK" pause
expect_rc "pausing twice is an error" 1
expect_in "and says why" "already paused" "$err"
hd ctl "$SOCK" resume
expect_rc "ctl resume" 0
hd ctl "$SOCK" status
[ "$(json "$out" "d['state']")" = running ] && ok "running again after resume" || not_ok "resume" "$out"

hd ctl "$SOCK" frobnicate 1 two
expect_rc "unknown command is an error reply" 1
expect_in "error names the command" 'unknown command "frobnicate"' "$err"

hd ctl "$SOCK" status extra
expect_rc "status with arguments is refused" 1

hd ctl "$SOCK" help
expect_rc "ctl help" 0
expect_in "help lists quit" '"quit"' "$out"

# Hostile peers: garbage, non-objects, an endless line, a peer that vanishes mid-request.
python3 - "$SOCK" >"$TMP/raw" 2>&1 <<'PY'
import socket, sys
def ask(payload):
    s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
    s.sendall(payload); data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk: break
        data += chunk
    s.close(); return data.decode(errors="replace").strip()
print(ask(b"this is not json\n"))
print(ask(b"[1,2,3]\n"))
print(ask(b'{"cmd": 5}\n'))
print(ask(b'{"cmd":"status","args":"x"}\n'))
print(ask(b"{" * 100000 + b"\n"))
print(ask(b"x" * (70 * 1024)))
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b'{"cmd":"sta'); s.close()
print(ask(b'{"cmd":"status"}\n'))
PY
raw=$(cat "$TMP/raw")
[ "$(printf '%s\n' "$raw" | grep -c '"ok":false')" -eq 6 ] && ok "six hostile requests get error replies" || not_ok "hostile requests" "$raw"
expect_in "non-JSON is named as such" "not valid JSON" "$raw"
expect_in "an endless line is cut off" "too long" "$raw"
expect_in "a good request still works afterwards" '"ok":true' "$(printf '%s\n' "$raw" | tail -n 1)"

# Several clients at once, bounded.
for i in $(seq 20); do timeout 20 "$HD" ctl "$SOCK" status >/dev/null 2>&1 & done
wait_ok=0
for j in $(jobs -p); do [ "$j" = "$VMM" ] && continue; wait "$j" || wait_ok=1; done
kill -0 "$VMM" 2>/dev/null && ok "VMM survives 20 concurrent clients" || not_ok "VMM died under concurrent clients"

hd ctl "$SOCK" quit
expect_rc "ctl quit" 0
wait "$VMM"
vrc=$?
PIDS=""
[ "$vrc" -eq 0 ] && ok "VMM exits 0 after quit" || not_ok "VMM exit after quit: $vrc" "$(cat "$TMP/vmm.err")"
[ ! -e "$SOCK" ] && ok "control socket removed on exit" || not_ok "socket left behind"

hd ctl "$SOCK" status
expect_rc "ctl to a VM that is gone" 1
expect_one_line_error "ctl explains it cannot reach the VM" "cannot reach a VM"

# SIGTERM stops a running VM cleanly.
"$HD" vmm --guest "$GUEST" --control "$SOCK" >/dev/null 2>&1 &
VMM=$!
PIDS="$VMM"
wait_for_file "$SOCK"
kill -TERM "$VMM"
wait "$VMM"
vrc=$?
PIDS=""
[ "$vrc" -eq 0 ] && ok "SIGTERM stops the VMM with status 0" || not_ok "SIGTERM exit status $vrc"

# A stale socket file from a dead VMM is replaced; a regular file is not.
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$SOCK"
hd vmm --control "$SOCK" --guest-cmdline exit=0
expect_rc "a stale control socket is replaced" 0
echo data >"$TMP/regular"
hd vmm --control "$TMP/regular" --guest-cmdline exit=0
expect_rc "a regular file is never replaced" 1
[ "$(cat "$TMP/regular")" = data ] && ok "the regular file is untouched" || not_ok "regular file changed"

finish
