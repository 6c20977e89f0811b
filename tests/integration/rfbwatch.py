#!/usr/bin/env python3
# rfbwatch.py: a minimal RFB 3.8 client (Python stdlib) that connects with no authentication,
# offers ExtendedDesktopSize, keeps asking for updates and prints every desktop-size rectangle
# it receives: "extdesktop REASON STATUS WxH SCREENS" or "desktopsize WxH", after a first line
# "ready WxH". For tests of what the broker tells a session about another's resize; not a viewer.
"""Usage: rfbwatch.py PORT SECONDS [WANT_WxH | cursor]
Exits 0 once an ExtendedDesktopSize of WANT arrives (or when SECONDS are up without WANT),
1 if WANT was given and never came, 2 on a protocol error. With "cursor" it also offers the
RichCursor and PointerPos pseudo-encodings, prints "cursor WxH hot X,Y opaque N" for each
cursor shape and "pointer X,Y" for each position, and exits 0 once a cursor shape with at
least one opaque pixel has arrived."""
import socket
import struct
import sys
import time


def main(argv):
    port, seconds = int(argv[1]), float(argv[2])
    want = argv[3] if len(argv) > 3 else None
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    buf = b""

    def need(n):
        nonlocal buf
        while len(buf) < n:
            c = s.recv(1 << 16)
            if not c:
                raise EOFError("the server closed the connection")
            buf += c
        d, buf = buf[:n], buf[n:]
        return d

    if not need(12).startswith(b"RFB 003."):
        raise ValueError("not an RFB server")
    s.sendall(b"RFB 003.008\n")
    types = need(need(1)[0])
    if 1 not in types:
        raise ValueError("the server wants authentication: %r" % types)
    s.sendall(b"\x01")
    if struct.unpack(">I", need(4))[0] != 0:
        raise ValueError("security result: failed")
    s.sendall(b"\x01")  # shared
    w, h = struct.unpack(">HH", need(4))
    pf = need(16)
    bpp = pf[0] // 8
    need(struct.unpack(">I", need(4))[0])
    want_cursor = want == "cursor"
    # Raw, DesktopSize (-223), ExtendedDesktopSize (-308); RichCursor (-239), PointerPos (-232)
    encs = [0, -223, -308] + ([-239, -232] if want_cursor else [])
    s.sendall(struct.pack(">BxH", 2, len(encs)) + b"".join(struct.pack(">i", e) for e in encs))
    s.sendall(struct.pack(">BBHHHH", 3, 0, 0, 0, w, h))
    print("ready %dx%d" % (w, h), flush=True)
    end = time.time() + seconds
    s.settimeout(0.5)
    got = False
    while time.time() < end and not got:
        try:
            t = need(1)[0]
        except socket.timeout:
            s.sendall(struct.pack(">BBHHHH", 3, 1, 0, 0, w, h))
            continue
        if t == 0:  # FramebufferUpdate
            need(1)
            n = struct.unpack(">H", need(2))[0]
            for _ in range(n):
                x, y, rw, rh, enc = struct.unpack(">HHHHi", need(12))
                if enc == 0:
                    need(rw * rh * bpp)
                elif enc == -223:
                    w, h = rw, rh
                    print("desktopsize %dx%d" % (rw, rh), flush=True)
                elif enc == -308:
                    ns = need(4)[0]
                    need(16 * ns)
                    print("extdesktop %d %d %dx%d %d" % (x, y, rw, rh, ns), flush=True)
                    if y == 0:
                        w, h = rw, rh
                    got = want is not None and "%dx%d" % (rw, rh) == want and x == 2
                elif enc == -239:
                    need(rw * rh * bpp)
                    mask = need(((rw + 7) // 8) * rh)
                    opaque = sum(bin(b).count("1") for b in mask)
                    print("cursor %dx%d hot %d,%d opaque %d" % (rw, rh, x, y, opaque), flush=True)
                    got = got or (want_cursor and opaque > 0)
                elif enc == -232:
                    print("pointer %d,%d" % (x, y), flush=True)
                else:
                    raise ValueError("unexpected encoding %d" % enc)
            s.sendall(struct.pack(">BBHHHH", 3, 1, 0, 0, w, h))
        elif t == 1:  # SetColourMapEntries
            need(3)
            need(6 * struct.unpack(">H", need(2))[0])
        elif t == 2:  # Bell
            pass
        elif t == 3:  # ServerCutText
            need(3)
            need(struct.unpack(">I", need(4))[0])
        else:
            raise ValueError("unexpected message type %d" % t)
    s.close()
    return 0 if got or want is None else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, EOFError, ValueError) as e:
        print("rfbwatch: %s" % e, flush=True)
        sys.exit(2)
