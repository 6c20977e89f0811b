# lib.sh: helpers for the integration tests: checks that count and report, bounded runs of
# the hyperdesk binary, temporary files cleaned on exit. Sourced; not a test itself.
set -u

HD=${1:?usage: $0 PATH-TO-hyperdesk [TEST-GUEST-DIR]}
GUESTS=${2:-}
TMP=$(mktemp -d)
PIDS=""
passed=0
failed=0

cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; shift; for l in "$@"; do echo "#   $l"; done; }

# need_kvm: skip the whole test (exit 77) where the host has no usable KVM.
need_kvm() {
	if [ ! -c /dev/kvm ] || ! [ -r /dev/kvm -a -w /dev/kvm ]; then
		echo "SKIP: no usable /dev/kvm on this host"
		exit 77
	fi
}

# hd ARGS...: runs hyperdesk bounded to 60 s; sets rc, out (stdout) and err (stderr).
hd() {
	timeout -k 5 60 "$HD" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	out=$(cat "$TMP/out")
	err=$(cat "$TMP/err")
}

# expect_rc NAME WANT: checks the last hd's exit status.
expect_rc() {
	if [ "$rc" -eq "$2" ]; then ok "$1 (exit $rc)"; else not_ok "$1: exit $rc, want $2" "stdout: $out" "stderr: $err"; fi
}

# expect_in NAME TEXT HAYSTACK
expect_in() {
	case "$3" in
	*"$2"*) ok "$1" ;;
	*) not_ok "$1: '$2' not found" "in: $3" ;;
	esac
}

# expect_one_line_error NAME PATTERN: stderr is exactly one line and contains PATTERN.
expect_one_line_error() {
	local lines
	lines=$(printf '%s' "$err" | grep -c '')
	if [ "$lines" -eq 1 ] && printf '%s' "$err" | grep -q -- "$2"; then
		ok "$1: $err"
	else
		not_ok "$1: want one stderr line matching '$2'" "stderr ($lines lines): $err"
	fi
}

# wait_for_file PATH: up to 10 s.
wait_for_file() {
	for _ in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.1; done
	return 1
}

# wait_line LINE [TENTHS]: waits (10 s by default) for a whole line on the console log $LOG.
wait_line() {
	for _ in $(seq "${2:-100}"); do
		grep -qxF -- "$1" "$LOG" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# wait_depth DEPTH BPC: waits (5 s at most) until display-info (control socket $SOCK) shows
# head 0 requested at DEPTH bits a pixel and BPC bits per colour; sets info.
wait_depth() {
	for _ in $(seq 50); do
		info=$("$HD" ctl "$SOCK" display-info 2>&1)
		case "$info" in *"\"depth\":$1,\"bpc\":$2}"*) return 0 ;; esac
		sleep 0.1
	done
	return 1
}

# wait_565 WANT FILE: screendumps head 0 (through $SOCK) into FILE until `$PNGCMP rgb565`
# exits WANT (0: every pixel is 5-6-5, 1: some are not), 10 s at most; sets r565 to its line.
wait_565() {
	for _ in $(seq 50); do
		"$HD" ctl "$SOCK" screendump 0 "$2" >/dev/null 2>&1
		r565=$(python3 "$PNGCMP" rgb565 "$2" 2>&1)
		[ $? -eq "$1" ] && return 0
		sleep 0.2
	done
	return 1
}

# stop PID...: ends processes this test started, and forgets them.
stop() {
	for p in "$@"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
		PIDS=$(echo " $PIDS " | sed "s/ $p / /")
	done
}

# start_run NAME RUN-ARGS...: `hyperdesk run` with VNC on a free loopback port, bounded to
# 200 s; sets RUN_PID, PORT, LOG (console), SOCK (control socket). Waits (15 s at most) for the
# guest's first mode.
start_run() {
	local name=$1
	shift
	LOG="$TMP/$name.console"
	SOCK="$TMP/$name.sock"
	timeout -k 5 200 "$HD" run --vnc 127.0.0.1:0 --serial "$LOG" --control "$SOCK" "$@" \
		>"$TMP/$name.out" 2>"$TMP/$name.err" &
	RUN_PID=$!
	PIDS="$PIDS $RUN_PID"
	PORT=""
	for _ in $(seq 150); do
		PORT=$(sed -n 's/.*VNC at 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/$name.err" | head -n1)
		[ -n "$PORT" ] && grep -q "display: head 0" "$LOG" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# start_broker ARGS...: `hyperdesk broker --channel $TMP/ch.sock --vnc 127.0.0.1:0 ARGS`,
# bounded to 120 s; sets BRK (its PID) and VNCPORT (empty if it never said ready in 10 s).
# Its stdout and stderr are $TMP/broker.out and $TMP/broker.err.
start_broker() {
	timeout -k 5 120 "$HD" broker --channel "$TMP/ch.sock" --vnc 127.0.0.1:0 "$@" \
		>"$TMP/broker.out" 2>"$TMP/broker.err" &
	BRK=$!
	PIDS="$PIDS $BRK"
	VNCPORT=""
	for _ in $(seq 100); do
		VNCPORT=$(sed -n 's/^ready \([0-9]*\).*/\1/p' "$TMP/broker.out")
		[ -n "$VNCPORT" ] && return 0
		sleep 0.1
	done
	return 1
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}
