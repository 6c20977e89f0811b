#!/usr/bin/env bash
# migrate.sh: live migration between two VMMs on this host over loopback: the checksum workload
# migrated mid-run ends with the same checksum as an uninterrupted run (kvm, auto and soft
# engines); a destination nobody listens for, one that refuses the VM and one killed mid-copy
# leave the source running and correct; a poisoned page travels as metadata (twice); refusals
# and hostile streams end in one clear line; a VNC session of the display broker follows the VM
# to its new VMM; and, where `ip netns` works, the same across two network namespaces. Not a
# benchmark (bench/bench-migrate.sh).
. "$(dirname "$0")/lib.sh"
need_kvm

# A few seconds of the checksum workload on KVM here (16 MiB rewritten each round): long
# enough to migrate in the middle of it. The soft engine is ~100x slower a round.
ITER=3000
ITER_SOFT=15
POISON_GPA=0x8000000

# baseline ENGINE ITER: sets B to the checksum of an uninterrupted run.
baseline() {
	hd vmm --engine "$1" --serial stdio --guest-cmdline "workload=checksum iterations=$2"
	B=$(printf '%s\n' "$out" | sed -n 's/^checksum: //p')
	[ -n "$B" ] && ok "$1: uninterrupted checksum $B" || not_ok "$1: baseline run" "$out" "$err"
}

# start_dest NAME [VMM-ARGS...]: a `vmm --incoming` on a free loopback port; sets DEST and
# DPORT.
start_dest() {
	local name=$1
	shift
	timeout -k 5 120 "$HD" vmm --incoming tcp:127.0.0.1:0 --serial "$TMP/$name.console" "$@" \
		2>"$TMP/$name.err" &
	DEST=$!
	PIDS="$PIDS $DEST"
	DPORT=""
	for _ in $(seq 100); do
		DPORT=$(sed -n 's/.*waiting for a migration on tcp:127\.0\.0\.1:\([0-9]*\).*/\1/p' \
			"$TMP/$name.err" 2>/dev/null)
		[ -n "$DPORT" ] && return 0
		sleep 0.1
	done
	not_ok "$name: the destination never listened" "$(cat "$TMP/$name.err")"
	return 1
}

# start_src NAME ITER [VMM-ARGS...]: the checksum workload with a control socket; sets SRC,
# SOCK and LOG, and waits for the workload to start.
start_src() {
	local name=$1 iter=$2
	shift 2
	SOCK="$TMP/$name.sock"
	LOG="$TMP/$name.console"
	timeout -k 5 120 "$HD" vmm --control "$SOCK" --serial "$LOG" \
		--guest-cmdline "workload=checksum iterations=$iter" "$@" 2>"$TMP/$name.err" &
	SRC=$!
	PIDS="$PIDS $SRC"
	wait_line "workload: checksum, $iter rounds over 16 MiB" ||
		not_ok "$name: the workload never started" "$(cat "$TMP/$name.err")"
}

# checksum_of FILE
checksum_of() { sed -n 's/^checksum: //p' "$1"; }

# wait_pid PID: its exit status (the processes are bounded by timeout).
wait_pid() {
	{ wait "$1"; } 2>/dev/null # no "Killed" notice for the destination killed on purpose
	local s=$?
	PIDS=$(echo " $PIDS " | sed "s/ $1 / /")
	return $s
}

# ---- a successful migration mid-workload, per engine ----
migrate_ok() {
	local eng=$1 iter=$2
	baseline "$eng" "$iter"
	start_dest "$eng-dst" --engine "$eng" || return
	start_src "$eng-src" "$iter" --engine "$eng"
	hd migrate "$SOCK" "tcp:127.0.0.1:$DPORT"
	expect_rc "$eng: hyperdesk migrate" 0
	expect_in "$eng: the summary gives the downtime" "downtime" "$out"
	expect_in "$eng: the summary counts poisoned pages" "poisoned pages 0" "$out"
	wait_pid "$SRC"
	local s=$?
	[ "$s" -eq 0 ] && ok "$eng: the source VMM exits 0 after the move" ||
		not_ok "$eng: source exit $s" "$(cat "$TMP/$eng-src.err")"
	expect_in "$eng: the source says where the VM went" "moved to tcp:127.0.0.1:$DPORT" \
		"$(cat "$TMP/$eng-src.err")"
	[ -z "$(checksum_of "$TMP/$eng-src.console")" ] &&
		ok "$eng: the workload had not finished at the source (migrated mid-run)" ||
		not_ok "$eng: the workload finished before the migration; raise ITER"
	wait_pid "$DEST"
	s=$?
	[ "$s" -eq 0 ] && ok "$eng: the destination finishes the guest (exit 0)" ||
		not_ok "$eng: destination exit $s" "$(cat "$TMP/$eng-dst.err")"
	local y
	y=$(checksum_of "$TMP/$eng-dst.console")
	[ -n "$y" ] && [ "$y" = "$B" ] && ok "$eng: migrated checksum equals the uninterrupted one" ||
		not_ok "$eng: migrated checksum '$y', uninterrupted '$B'" \
			"$(cat "$TMP/$eng-dst.console")" "$(cat "$TMP/$eng-dst.err")"
}

migrate_ok kvm "$ITER"
migrate_ok auto "$ITER"
if "$HD" vmm --engine soft --guest-cmdline exit=0 --serial none 2>&1 | grep -q "no software engine"; then
	echo "# soft engine not built: its migration is not tested"
else
	migrate_ok soft "$ITER_SOFT"
fi
KVM_SUM=""
baseline kvm "$ITER"
KVM_SUM=$B

# ---- failures leave the source as it was ----
start_src fail "$ITER" --engine kvm
FREEPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
hd migrate "$SOCK" "tcp:127.0.0.1:$FREEPORT"
expect_rc "migration to a port nobody listens on fails" 1
expect_in "the reason is given" "Connection refused" "$err"
expect_in "the user is told the VM goes on" "the VM goes on at the source" "$err"

# A destination that cannot build the VM (no KVM device there) refuses it, and says why.
start_dest refusing --engine kvm --kvm-device "$TMP/no-kvm" || true
hd migrate "$SOCK" "tcp:127.0.0.1:$DPORT"
expect_rc "migration to a destination that refuses fails" 1
expect_in "the destination's reason reaches the user" "the destination refused the VM" "$err"
wait_pid "$DEST"
s=$?
[ "$s" -eq 1 ] && ok "the refusing destination exits 1" ||
	not_ok "refusing destination exit $s" "$(cat "$TMP/refusing.err")"

# A destination that dies in the middle of the copy (rate-limited so that the copy lasts).
start_dest killed || true
# DEST is the `timeout` bounding the VMM: kill the VMM itself, its child.
DVMM=$(ps -o pid= --ppid "$DEST" | tr -d ' ')
# 4 MB/s: the first pass (~17 MiB) takes seconds, so the copy is seen under way.
"$HD" migrate --max-rate 4 "$SOCK" "tcp:127.0.0.1:$DPORT" >"$TMP/kmig.out" 2>"$TMP/kmig.err" &
MIG=$!
PIDS="$PIDS $MIG"
copying=""
for _ in $(seq 100); do
	hd ctl "$SOCK" migrate-status
	case "$out" in *'"phase":"copying"'*) copying=1; break ;; esac
	sleep 0.1
done
[ -n "$copying" ] && ok "the copy is under way" ||
	not_ok "the copy never started" "$out"
[ -n "$DVMM" ] && kill -KILL "$DVMM"
wait_pid "$DEST"
wait_pid "$MIG"
s=$?
[ "$s" -eq 1 ] && ok "migrate exits 1 when the destination dies mid-copy" ||
	not_ok "migrate exit $s after the destination died" "$(cat "$TMP/kmig.out" "$TMP/kmig.err")"
expect_in "it says the migration failed" "migration failed" "$(cat "$TMP/kmig.err")"
hd ctl "$SOCK" migrate-status
expect_in "the source reports the failure" '"state":"failed"' "$out"
hd ctl "$SOCK" status
expect_rc "the source VM still answers" 0
wait_pid "$SRC"
s=$?
[ "$s" -eq 0 ] && ok "the source finishes its workload (exit 0)" ||
	not_ok "source exit $s" "$(cat "$TMP/fail.err")"
y=$(checksum_of "$TMP/fail.console")
[ -n "$y" ] && [ "$y" = "$KVM_SUM" ] &&
	ok "the source's checksum is still right after three failed migrations" ||
	not_ok "source checksum '$y', want '$KVM_SUM'" "$(cat "$TMP/fail.console")"

# ---- a poisoned page travels as metadata, and on with a second migration ----
start_dest poison-dst --engine kvm --control "$TMP/poison-dst.sock" || true
DEST1=$DEST DPORT1=$DPORT
start_dest poison-dst2 --engine kvm || true
start_src poison-src "$ITER" --engine kvm --fault-inject "poison=$POISON_GPA"
hd ctl "$SOCK" snapshot "$TMP/poison.snap"
expect_rc "a snapshot of a VM with a poisoned page does not kill it" 0
expect_in "the snapshot says what it did with the page" "cannot be read (memory error): saved as zero" \
	"$(cat "$TMP/poison-src.err")"
hd migrate "$SOCK" "tcp:127.0.0.1:$DPORT1"
expect_rc "migration with a poisoned page completes" 0
expect_in "the summary counts it" "poisoned pages 1" "$out"
expect_in "the source logs the unreadable page" "page $POISON_GPA cannot be read" \
	"$(cat "$TMP/poison-src.err")"
wait_pid "$SRC"
expect_in "the destination logs the poisoned page" "page $POISON_GPA arrived poisoned" \
	"$(cat "$TMP/poison-dst.err")"
hd migrate "$TMP/poison-dst.sock" "tcp:127.0.0.1:$DPORT"
expect_rc "a second migration of that VM completes" 0
expect_in "the page goes on as poisoned" "poisoned pages 1" "$out"
wait_pid "$DEST1"
wait_pid "$DEST"
s=$?
[ "$s" -eq 0 ] && ok "the last destination runs the guest to the end (exit 0)" ||
	not_ok "poison destination exit $s" "$(cat "$TMP/poison-dst2.err")"
expect_in "the last destination logs the poisoned page" "page $POISON_GPA arrived poisoned" \
	"$(cat "$TMP/poison-dst2.err")"
y=$(checksum_of "$TMP/poison-dst2.console")
[ "$y" = "$KVM_SUM" ] && ok "checksum right after a migration with a poisoned page" ||
	not_ok "poison checksum '$y', want '$KVM_SUM'"

# ---- refusals ----
hd vmm --incoming tcp:127.0.0.1:0 --memory 512
expect_rc "--incoming with --memory refused" 1
expect_one_line_error "--incoming with --memory" "memory conflicts with --incoming"
hd vmm --incoming tcp:0.0.0.0:0
expect_rc "a non-loopback --incoming refused without --incoming-insecure" 1
expect_one_line_error "non-loopback --incoming" "unauthenticated and unencrypted"
hd vmm --incoming 127.0.0.1:0
expect_rc "--incoming without tcp: is a usage error" 2
hd migrate "$TMP/none.sock" "udp:1.2.3.4:5"
expect_rc "migrate to a non-tcp address is a usage error" 2
hd migrate "$TMP/none.sock" "tcp:127.0.0.1:1"
expect_rc "migrate without a VM fails" 1
expect_one_line_error "migrate without a VM" "cannot reach a VM"

# Hostile streams: garbage, a truncated header, a configuration that is no snapshot image, a
# blob length beyond the limit. (Records out of RAM and the rest: unit tests and the fuzzer.)
hostile() {
	local name=$1 payload=$2 want=$3
	start_dest "$name" || return
	python3 - "$DPORT" "$payload" <<'PY'
import socket, struct, sys
port, kind = int(sys.argv[1]), sys.argv[2]
hdr = b"HDMIGR\r\n" + struct.pack("<IIII", 1, 64, 4096, 1) + struct.pack("<Q", 256 << 20)
hdr += struct.pack("<QQQQ", 0, 256 << 20, 0, 0)
data = {"garbage": b"GET / HTTP/1.0\r\n\r\n" * 8,
        "truncated": hdr[:40],
        "badconfig": hdr + struct.pack("<IIQQ", 1, 1, 0, 10) + b"0123456789",
        "toobig": hdr + struct.pack("<IIQQ", 1, 1, 0, 1 << 40)}[kind]
s = socket.create_connection(("127.0.0.1", port))
s.sendall(data)
s.shutdown(socket.SHUT_WR)
try:
    s.recv(4096)
except OSError:
    pass
PY
	wait_pid "$DEST"
	local s=$?
	[ "$s" -eq 1 ] && ok "$name stream refused (exit 1)" ||
		not_ok "$name stream: destination exit $s" "$(cat "$TMP/$name.err")"
	expect_in "$name stream: the reason is given" "$want" "$(cat "$TMP/$name.err")"
}
hostile garbage garbage "not a hyperdesk migration stream"
hostile truncated truncated "ended early"
hostile badconfig badconfig "not a hyperdesk snapshot"
hostile toobig toobig "bad config record"

# ---- display sessions follow the VM: a VNC client of the broker stays connected through the
# migration and then sees the destination's display change ----
start_broker -v || not_ok "the broker never said ready" "$(cat "$TMP/broker.err")"
start_dest desk-dst --display "$TMP/ch.sock" --control "$TMP/desk-dst.sock" || true
SOCK="$TMP/desk-src.sock"
LOG="$TMP/desk-src.console"
timeout -k 5 120 "$HD" vmm --display "$TMP/ch.sock" --control "$SOCK" --serial "$LOG" \
	2>"$TMP/desk-src.err" &
SRC=$!
PIDS="$PIDS $SRC"
wait_line "display: head 0 1024x768" || not_ok "the desktop never came up" "$(cat "$LOG")"
timeout -k 2 60 python3 "$(dirname "$0")/rfbwatch.py" "$VNCPORT" 45 1280x720 \
	>"$TMP/watch.out" 2>&1 &
WATCH=$!
PIDS="$PIDS $WATCH"
for _ in $(seq 100); do grep -q '^ready' "$TMP/watch.out" 2>/dev/null && break; sleep 0.1; done
expect_in "a VNC session is open on the source's desktop" "ready 1024x768" \
	"$(cat "$TMP/watch.out")"
hd migrate "$SOCK" "tcp:127.0.0.1:$DPORT"
expect_rc "the desktop VM migrates" 0
wait_pid "$SRC"
hd ctl "$TMP/desk-dst.sock" display-set 0 1280 720
expect_rc "display-set on the destination" 0
wait_pid "$WATCH"
s=$?
[ "$s" -eq 0 ] && ok "the same VNC session sees the destination's new mode (1280x720)" ||
	not_ok "the session did not follow the VM (rfbwatch exit $s)" "$(cat "$TMP/watch.out")" \
		"$(grep -i 'session\|vm ' "$TMP/broker.err" | tail -8)"
expect_in "the broker moved the session" "moved to vm" "$(cat "$TMP/broker.err")"
stop "$DEST" "$BRK"

# ---- two hosts: network namespaces joined by a veth pair ----
NS_A=hdmig-a-$$ NS_B=hdmig-b-$$
netns_cleanup() {
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
}
if [ "$(id -u)" -ne 0 ] || ! ip netns add "$NS_A" 2>/dev/null; then
	echo "# SKIP: network namespaces unavailable (needs root and ip netns): two-host run not tested"
else
	trap 'netns_cleanup; cleanup' EXIT
	ip netns add "$NS_B" &&
		ip link add "hdm$$a" type veth peer name "hdm$$b" &&
		ip link set "hdm$$a" netns "$NS_A" && ip link set "hdm$$b" netns "$NS_B" &&
		ip -n "$NS_A" addr add 10.77.0.1/24 dev "hdm$$a" &&
		ip -n "$NS_B" addr add 10.77.0.2/24 dev "hdm$$b" &&
		ip -n "$NS_A" link set "hdm$$a" up && ip -n "$NS_B" link set "hdm$$b" up &&
		ip -n "$NS_A" link set lo up && ip -n "$NS_B" link set lo up
	expect_rc_ns=$?
	if [ "$expect_rc_ns" -ne 0 ]; then
		not_ok "setting up the two namespaces failed"
	else
		ip netns exec "$NS_B" timeout -k 5 120 "$HD" vmm --incoming tcp:10.77.0.2:0 \
			--incoming-insecure --engine kvm --serial "$TMP/ns-dst.console" \
			2>"$TMP/ns-dst.err" &
		DEST=$!
		PIDS="$PIDS $DEST"
		DPORT=""
		for _ in $(seq 100); do
			DPORT=$(sed -n 's/.*on tcp:10\.77\.0\.2:\([0-9]*\).*/\1/p' "$TMP/ns-dst.err")
			[ -n "$DPORT" ] && break
			sleep 0.1
		done
		SOCK="$TMP/ns-src.sock"
		LOG="$TMP/ns-src.console"
		ip netns exec "$NS_A" timeout -k 5 120 "$HD" vmm --control "$SOCK" --serial "$LOG" \
			--engine kvm --guest-cmdline "workload=checksum iterations=$ITER" \
			2>"$TMP/ns-src.err" &
		SRC=$!
		PIDS="$PIDS $SRC"
		wait_line "workload: checksum, $ITER rounds over 16 MiB" ||
			not_ok "namespace source never started" "$(cat "$TMP/ns-src.err")"
		hd migrate "$SOCK" "tcp:10.77.0.2:$DPORT"
		expect_rc "migration from one namespace to the other over veth" 0
		wait_pid "$SRC"
		wait_pid "$DEST"
		s=$?
		y=$(checksum_of "$TMP/ns-dst.console")
		[ "$s" -eq 0 ] && [ "$y" = "$KVM_SUM" ] &&
			ok "two hosts: the destination namespace finishes with the right checksum" ||
			not_ok "two hosts: exit $s, checksum '$y', want '$KVM_SUM'" \
				"$(cat "$TMP/ns-dst.err")"
	fi
	netns_cleanup
fi

finish
