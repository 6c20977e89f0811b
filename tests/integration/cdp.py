#!/usr/bin/env python3
# cdp.py: drives headless Chromium through the DevTools protocol (a tiny websocket client,
# Python stdlib only) for the web test: starts the browser with a window of a given size,
# opens a URL, waits until a JavaScript expression is true, waits a little more and saves a
# screenshot. It kills only the browser it started. Not a general DevTools client.
"""
Usage:
  cdp.py [--chromium PATH] [--size WxH] [--until JS] [--timeout S] [--settle S] URL OUT.png
Prints "ready after N ms" or why not, and the value of --until at the end. Exit statuses:
0 saved (the condition held), 1 the condition never held (a screenshot is saved anyway),
2 the browser could not be driven.
"""
import base64
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request


class WS:
    """A websocket client for DevTools' plain ws:// endpoint (text frames, no extensions)."""

    def __init__(self, url):
        assert url.startswith("ws://")
        hostport, _, path = url[5:].partition("/")
        host, _, port = hostport.rpartition(":")
        self.s = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        resp = b""
        while b"\r\n\r\n" not in resp:
            chunk = self.s.recv(4096)
            if not chunk:
                raise OSError("the DevTools websocket closed during the handshake")
            resp += chunk
        head, _, self.buf = resp.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise OSError("DevTools refused the websocket: " + head.split(b"\r\n")[0].decode())
        self.next_id = 0

    def _recv_exact(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(1 << 16)
            if not chunk:
                raise OSError("the DevTools websocket closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        n = len(data)
        hdr = bytes([0x81])
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 65536:
            hdr += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            hdr += bytes([0x80 | 127]) + struct.pack(">Q", n)
        self.s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv(self):
        msg = b""
        while True:
            b0, b1 = self._recv_exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._recv_exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._recv_exact(8))[0]
            payload = self._recv_exact(n)  # servers do not mask
            op = b0 & 0x0F
            if op == 8:
                raise OSError("DevTools closed the websocket")
            if op in (0, 1, 2):
                msg += payload
                if b0 & 0x80:
                    return msg.decode()

    def call(self, method, **params):
        self.next_id += 1
        my = self.next_id
        self.send(json.dumps({"id": my, "method": method, "params": params}))
        while True:
            m = json.loads(self.recv())
            if m.get("id") == my:
                if "error" in m:
                    raise OSError(f"{method}: {m['error'].get('message')}")
                return m.get("result", {})


def main(argv):
    args = argv[1:]
    opts = {"--chromium": "chromium", "--size": "1024x600", "--until": "true",
            "--timeout": "20", "--settle": "1"}
    while args and args[0] in opts and len(args) > 1:
        opts[args[0]] = args[1]
        args = args[2:]
    if len(args) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    url, out = args
    w, h = (int(v) for v in opts["--size"].split("x"))
    prof = tempfile.mkdtemp(prefix="cdp-")
    cmd = [opts["--chromium"], "--headless", "--no-sandbox", "--disable-gpu",
           "--no-first-run", "--no-default-browser-check", "--disable-extensions",
           "--hide-scrollbars", "--mute-audio", f"--user-data-dir={prof}",
           f"--window-size={w},{h}", "--remote-debugging-port=0",
           "--remote-debugging-address=127.0.0.1", "about:blank"]
    try:
        browser = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=open(os.path.join(prof, "stderr.log"), "wb"))
    except OSError as e:
        print(f"cdp.py: cannot start {opts['--chromium']}: {e}", file=sys.stderr)
        shutil.rmtree(prof, ignore_errors=True)
        return 2
    status = 2
    try:
        port = None
        end = time.time() + 30
        while time.time() < end and browser.poll() is None:
            try:
                port = int(open(os.path.join(prof, "DevToolsActivePort")).read().split()[0])
                break
            except (OSError, ValueError, IndexError):
                time.sleep(0.1)
        if port is None:
            log = open(os.path.join(prof, "stderr.log"), "rb").read().decode(errors="replace")
            raise OSError("the browser did not open its DevTools port; its log ends:\n" +
                          "\n".join(log.splitlines()[-5:]))
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list",
                                                   timeout=10))
        page = [t for t in targets if t.get("type") == "page"][0]
        ws = WS(page["webSocketDebuggerUrl"])
        ws.call("Page.enable")
        # New headless Chromium counts its (invisible) toolbars in --window-size: make the
        # page's viewport exactly WxH, as a browser window's content area would be.
        ws.call("Emulation.setDeviceMetricsOverride", width=w, height=h, deviceScaleFactor=1,
                mobile=False)
        start = time.time()
        ws.call("Page.navigate", url=url)
        ok = False
        value = None
        while time.time() - start < float(opts["--timeout"]):
            r = ws.call("Runtime.evaluate", expression=opts["--until"], returnByValue=True)
            value = r.get("result", {}).get("value")
            if value is True:
                ok = True
                break
            time.sleep(0.2)
        if ok:
            print(f"ready after {int((time.time() - start) * 1000)} ms")
            time.sleep(float(opts["--settle"]))
        else:
            print(f"the condition never held in {opts['--timeout']} s")
        shot = ws.call("Page.captureScreenshot", format="png")
        with open(out, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        r = ws.call("Runtime.evaluate", expression="document.getElementById('status') ? "
                    "document.getElementById('status').textContent : document.title",
                    returnByValue=True)
        print("page says: " + str(r.get("result", {}).get("value")))
        status = 0 if ok else 1
    except (OSError, ValueError, KeyError, IndexError) as e:
        print(f"cdp.py: {e}", file=sys.stderr)
    finally:
        browser.send_signal(signal.SIGTERM)
        try:
            browser.wait(10)
        except subprocess.TimeoutExpired:
            browser.kill()
            browser.wait()
        shutil.rmtree(prof, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
