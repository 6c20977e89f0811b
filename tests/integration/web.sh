#!/usr/bin/env bash
# web.sh: the broker's web client: `hyperdesk run --web` serves noVNC over its own small HTTP
# server (content types, refusals, hostile clients), and headless Chromium, driven through the
# DevTools protocol (cdp.py), opens the landing URL at 1024x600: the guest takes the browser's
# size (resize=remote) and the page shows the demo desktop. Kills only what it started.
. "$(dirname "$0")/lib.sh"
need_kvm

HERE=$(cd "$(dirname "$0")" && pwd)
PNGCMP="$HERE/pngcmp.py"
SCREEN="$HERE/screen.py"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed"; exit 77; }
NOVNC=$(cd "$HERE/../.." && pwd)/web/node_modules/@novnc/novnc
[ -f "$NOVNC/core/rfb.js" ] || { echo "not ok - noVNC is not installed in web/node_modules (scripts/setup installs it)"; echo "0 passed, 1 failed"; exit 1; }
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)

# ---- refusals before anything starts ----
hd run --web 127.0.0.1:0 --novnc "$TMP"
expect_rc "--web with a folder that is not noVNC: refused" 2
expect_in "and says what is missing" "not installed" "$err"
hd run --web 0.0.0.0:0
expect_rc "--web off loopback without a password: refused" 2
expect_in "and says why" "password" "$err"
hd run --web nonsense
expect_rc "--web needs ADDR:PORT" 2

# ---- hyperdesk run --web ----
LOG="$TMP/console"
timeout -k 5 200 "$HD" run --vnc 127.0.0.1:0 --web 127.0.0.1:0 --serial "$LOG" -C still=1 \
	>"$TMP/run.out" 2>"$TMP/run.err" &
RUN_PID=$!
PIDS="$RUN_PID"
PORT="" WEB=""
for _ in $(seq 150); do
	PORT=$(sed -n 's/.*VNC at 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/run.err" | head -n1)
	WEB=$(sed -n 's|.*web client at http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$TMP/run.err" | head -n1)
	[ -n "$PORT" ] && [ -n "$WEB" ] && grep -q "display: head 0" "$LOG" 2>/dev/null && break
	sleep 0.1
done
if [ -n "$WEB" ]; then ok "run --web serves on port $WEB (VNC $PORT)"; else
	not_ok "run --web did not come up" "$(cat "$TMP/run.err")"; finish; fi

# The server itself, from a client that says exactly what it sends.
python3 - "$WEB" "$PORT" >"$TMP/http.out" 2>&1 <<'PY'
import socket, sys, time
web, vnc = int(sys.argv[1]), sys.argv[2]
def ask(raw, timeout=5):
    s = socket.create_connection(("127.0.0.1", web), timeout=timeout)
    s.sendall(raw)
    data = b""
    try:
        while True:
            c = s.recv(65536)
            if not c: break
            data += c
    except socket.timeout:
        pass
    s.close()
    return data
def status(d): return d.split(b"\r\n", 1)[0].decode(errors="replace")
def header(d, name):
    for line in d.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == name.lower().encode(): return v.strip().decode()
    return ""
def check(name, cond, detail=""):
    print(("ok - " if cond else "not ok - ") + name + ("" if cond else " :: " + detail))
c = lambda path, extra=b"": ask(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + extra + b"\r\n")
d = c(b"/")
check("/ redirects to the page with the VNC port, autoconnect and resize=remote",
      status(d).startswith("HTTP/1.1 302") and header(d, "Location") ==
      "/vnc.html?host=127.0.0.1&port=%s&autoconnect=1&resize=remote" % vnc, repr(d[:300]))
d = c(b"/vnc.html")
check("/vnc.html is our page, as HTML", status(d).endswith("200 OK") and
      header(d, "Content-Type").startswith("text/html") and b"core/rfb.js" in d, repr(d[:200]))
d = c(b"/core/rfb.js")
check("noVNC's core/rfb.js as JavaScript", status(d).endswith("200 OK") and
      header(d, "Content-Type").startswith("text/javascript") and
      int(header(d, "Content-Length") or -1) == len(d.split(b"\r\n\r\n", 1)[1]), repr(d[:200]))
d = ask(b"HEAD /core/rfb.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
check("HEAD: the header alone", status(d).endswith("200 OK") and d.endswith(b"\r\n\r\n"), repr(d[-50:]))
for path in (b"/../../../../etc/passwd", b"/core/../../../../etc/passwd", b"/%2e%2e/%2e%2e/etc/passwd",
             b"/core/%2e%2e/package.json", b"/.hidden", b"/core/..%2f..%2fpackage.json",
             b"/core%5c..%5cpackage.json", b"/no-such-file.js", b"/core"):
    d = c(path)
    check("refused: " + path.decode(), status(d).startswith("HTTP/1.1 404"), status(d))
d = ask(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
check("POST: 405 with Allow", status(d).startswith("HTTP/1.1 405") and header(d, "Allow") == "GET, HEAD", repr(d[:200]))
d = ask(b"GET / HTTP/2.0\r\n\r\n")
check("HTTP/2.0 on this port: 505", status(d).startswith("HTTP/1.1 505"), status(d))
d = ask(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(200)) + b"\r\n\r\n")
check("a TLS hello or garbage: 400", status(d).startswith("HTTP/1.1 400"), repr(d[:80]))
d = ask(b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n\r\n")
check("a 5000-byte target: 414", status(d).startswith("HTTP/1.1 414"), status(d))
d = ask(b"GET / HTTP/1.1\r\n" + b"X-Pad: " + b"b" * 9000 + b"\r\n\r\n")
check("headers past 8 KiB: 431", status(d).startswith("HTTP/1.1 431"), status(d))
# keep-alive: two requests on one connection, pipelined
d = ask(b"GET /vnc.html HTTP/1.1\r\nHost: x\r\n\r\nGET /core/rfb.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
check("keep-alive: two pipelined requests answered", d.count(b"HTTP/1.1 200 OK") == 2, repr(d[:100]))
# hostile: 80 connections held open, some sending a request a byte at a time, then dropped
socks = []
for i in range(80):
    try:
        s = socket.create_connection(("127.0.0.1", web), timeout=2); s.sendall(b"GET /co"); socks.append(s)
    except OSError:
        pass
time.sleep(0.5)
for s in socks: s.close()
d = c(b"/vnc.html")
check("served after 80 idle connections were dropped", status(d).endswith("200 OK"), status(d))
# a client that asks for a large file and never reads
s = socket.create_connection(("127.0.0.1", web), timeout=2)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
for _ in range(50):
    s.sendall(b"GET /core/rfb.js HTTP/1.1\r\nHost: x\r\n\r\n")
d = c(b"/core/rfb.js")
check("a client that never reads holds up no one else", status(d).endswith("200 OK"), status(d))
s.close()
PY
while read -r line; do
	case "$line" in
	"ok - "*) ok "http: ${line#ok - }" ;;
	"not ok - "*) l=${line#not ok - }; not_ok "http: ${l%% :: *}" "${l#* :: }" ;;
	*) echo "# $line" ;;
	esac
done <"$TMP/http.out"
kill -0 "$RUN_PID" 2>/dev/null && ok "run survives hostile HTTP clients" || not_ok "run died under hostile HTTP clients"

# ---- headless Chromium at 1024x600 ----
if [ -z "$CHROMIUM" ]; then
	not_ok "chromium is not installed (scripts/setup installs it)"
else
	UNTIL="(function(){var s=document.getElementById('status'), c=document.querySelector('canvas');
		return !!(s && s.classList.contains('hidden') && c && c.width==1024 && c.height==600);})()"
	timeout -k 5 90 python3 "$HERE/cdp.py" --chromium "$CHROMIUM" --size 1024x600 --until "$UNTIL" \
		--timeout 30 --settle 1 "http://127.0.0.1:$WEB/" "$TMP/browser.png" >"$TMP/cdp.out" 2>&1
	crc=$?
	[ "$crc" -eq 0 ] && ok "chromium connects; noVNC's canvas is 1024x600 ($(head -n1 "$TMP/cdp.out"))" ||
		not_ok "chromium: exit $crc" "$(cat "$TMP/cdp.out")"
	grep -qx "display: head 0 1024x600" "$LOG" && ok "the guest reports head 0 1024x600, the browser's size" ||
		not_ok "the guest never reported 1024x600" "$(grep display "$LOG")"
	size=$(python3 "$PNGCMP" size "$TMP/browser.png" 2>&1)
	[ "$size" = 1024x600 ] && ok "the screenshot is 1024x600" || not_ok "the screenshot is $size"
	# The desktop's top panel, sampled along its length (clear of its text), not a blank or
	# an error page.
	px=$(python3 "$SCREEN" pixel "$TMP/browser.png" 460 14 540 14 600 14 700 14 640 4 2>&1 | sort -u)
	panel=1
	for p in $px; do
		python3 -c 'import sys; p = bytes.fromhex(sys.argv[1]); sys.exit(0 if max(abs(a - b) for a, b in zip(p, bytes.fromhex("0e121d"))) <= 8 else 1)' "$p" 2>/dev/null || panel=0
	done
	[ "$panel" = 1 ] && ok "the screenshot shows the desktop's panel ($(echo $px))" || not_ok "no desktop panel in the screenshot" "$px"
	# All of it against what a plain VNC client of the broker sees: noVNC asks for Tight at
	# its default JPEG quality (6), which blurs text edges (~1 % of the pixels here), and
	# draws the pointer; a blank or error page differs almost everywhere.
	timeout -k 2 30 "$HD" shot "vnc://127.0.0.1:$PORT" -o "$TMP/shot.png" >/dev/null 2>"$TMP/shot.err"
	if cmp=$(python3 "$PNGCMP" compare --tolerance 0.03 "$TMP/browser.png" "$TMP/shot.png" 2>&1); then
		ok "the browser shows what a VNC client sees ($cmp)"
	else
		not_ok "the browser's picture differs from the VNC capture" "$cmp" "$(cat "$TMP/shot.err")"
	fi
fi

kill -0 "$RUN_PID" 2>/dev/null && ok "run is still up" || not_ok "run died"
kill -INT "$RUN_PID"
wait "$RUN_PID"
rrc=$?
PIDS=""
[ "$rrc" -eq 0 ] && ok "Ctrl-C stops run and its web server cleanly" || not_ok "run exit $rrc" "$(tail -5 "$TMP/run.err")"

finish
