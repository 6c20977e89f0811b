#!/usr/bin/env python3
# rfbinput.py: a minimal RFB 3.8 client (stdlib sockets, None security, loopback) that sends
# key and pointer events, and a screendump differ, for input.sh. Not a viewer: it never asks for pixels.
"""
Usage:
  rfbinput.py send PORT ACTION...
      connects to 127.0.0.1:PORT, sends each ACTION in order, waits a moment, disconnects.
      move:X,Y   pointer to (X, Y), no buttons     down:X,Y / up:X,Y   left button there
      type:TEXT  each character pressed and released (X11 keysyms = Latin-1 code points)
      key:NAME   Return, BackSpace, Tab, Escape, Shift_L (press and release)
  rfbinput.py diff A.png B.png [X0 Y0 X1 Y1]
      prints "COUNT X0 Y0 X1 Y1 OUTSIDE": pixels that differ, their bounding box (inclusive;
      -1s when none) and how many of them lie outside the given box (0 without one).
Exit status 0, or 1 with one line on stderr (connection or protocol failure, unreadable PNG).
"""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pngcmp  # noqa: E402

KEYSYMS = {"Return": 0xff0d, "BackSpace": 0xff08, "Tab": 0xff09, "Escape": 0xff1b,
           "Shift_L": 0xffe1}


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise OSError("the server closed the connection")
        buf += chunk
    return buf


def handshake(s):
    version = recv_exact(s, 12)
    if not version.startswith(b"RFB 003."):
        raise OSError(f"not an RFB server: {version!r}")
    s.sendall(b"RFB 003.008\n")
    n = recv_exact(s, 1)[0]
    if n == 0:
        reason_len = struct.unpack(">I", recv_exact(s, 4))[0]
        raise OSError("refused: " + recv_exact(s, reason_len).decode(errors="replace"))
    types = recv_exact(s, n)
    if 1 not in types:
        raise OSError(f"no None security offered ({list(types)})")
    s.sendall(bytes([1]))
    if struct.unpack(">I", recv_exact(s, 4))[0] != 0:
        raise OSError("security handshake failed")
    s.sendall(bytes([1]))  # ClientInit: shared
    w, h = struct.unpack(">HH", recv_exact(s, 4))
    recv_exact(s, 16)
    name_len = struct.unpack(">I", recv_exact(s, 4))[0]
    recv_exact(s, name_len)
    return w, h


def key(s, keysym, down):
    s.sendall(struct.pack(">BBHI", 4, 1 if down else 0, 0, keysym))


def pointer(s, mask, x, y):
    s.sendall(struct.pack(">BBHH", 5, mask, x, y))


def send(port, actions):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        handshake(s)
        for a in actions:
            verb, _, arg = a.partition(":")
            if verb in ("move", "down", "up"):
                x, y = (int(v) for v in arg.split(","))
                pointer(s, 1 if verb == "down" else 0, x, y)
            elif verb == "type":
                for ch in arg:
                    key(s, ord(ch), True)
                    key(s, ord(ch), False)
            elif verb == "key":
                key(s, KEYSYMS[arg], True)
                key(s, KEYSYMS[arg], False)
            else:
                raise OSError(f"unknown action {a!r}")
            time.sleep(0.05)
        # Let the broker's session thread read everything before the socket closes.
        time.sleep(0.5)


def diff(a_path, b_path, box):
    a, b = pngcmp.read_png(a_path), pngcmp.read_png(b_path)
    if (a.width, a.height, a.channels) != (b.width, b.height, b.channels):
        raise pngcmp.PngError("the images differ in size or format")
    ch = a.channels
    count = outside = 0
    x0 = y0 = 1 << 30
    x1 = y1 = -1
    for y in range(a.height):
        ra, rb = a.rows[y], b.rows[y]
        if ra == rb:
            continue
        for x in range(a.width):
            if ra[x * ch:x * ch + 3] != rb[x * ch:x * ch + 3]:
                count += 1
                x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
                if box and not (box[0] <= x <= box[2] and box[1] <= y <= box[3]):
                    outside += 1
    if not count:
        x0 = y0 = -1
    print(count, x0, y0, x1, y1, outside)


def main(argv):
    try:
        if len(argv) >= 3 and argv[1] == "send":
            send(int(argv[2]), argv[3:])
        elif len(argv) in (4, 8) and argv[1] == "diff":
            diff(argv[2], argv[3], [int(v) for v in argv[4:]] or None)
        else:
            print(__doc__.strip(), file=sys.stderr)
            return 1
    except (OSError, pngcmp.PngError, ValueError, KeyError) as e:
        print(f"rfbinput: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
