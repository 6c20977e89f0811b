#!/usr/bin/env python3
# pngcmp.py: reads 8-bit RGB/RGBA non-interlaced PNGs (pure Python stdlib) and compares two
# of them pixel by pixel within a tolerance, for the display tests. Not a general PNG decoder.
"""
Usage:
  pngcmp.py size FILE.png
      prints "WIDTHxHEIGHT" from the IHDR chunk (the file must decode completely).
  pngcmp.py compare [--threshold T] [--tolerance F] ACTUAL.png REFERENCE.png
      prints the dimensions, the fraction of pixels in which any channel (R, G, B; alpha
      too when both have one) differs by more than T (0..255, default 16) and the largest
      channel difference; exits 0 when the dimensions match and that fraction is at most F
      (default 0.001, i.e. 0.1 % of the pixels), 1 otherwise.
  pngcmp.py rgb565 FILE.png
      prints how many pixels are not RGB 5-6-5 values expanded to 8 bits (what a guest
      drawing for a 16-bit viewer writes) and how many distinct colours the image has; exits
      0 when every pixel is one, 1 otherwise.
  pngcmp.py selftest
      encodes test images with each of the five filter types and both colour types, decodes
      them back and checks every byte.

Exit statuses: 0 same / success, 1 different, 2 unreadable or unsupported file or usage error
(one line on stderr saying why). Only bit depth 8, colour types 2 (RGB) and 6 (RGBA),
compression 0, filter method 0 and no interlacing are supported; anything else is refused.
"""
import struct
import sys
import zlib

PNG_SIG = b"\x89PNG\r\n\x1a\n"
MAX_PIXELS = 16384 * 16384


class PngError(Exception):
    pass


class Image:
    def __init__(self, width, height, channels, rows):
        self.width = width
        self.height = height
        self.channels = channels  # 3 (RGB) or 4 (RGBA)
        self.rows = rows  # list of bytes, width * channels each, unfiltered


def _chunks(data, name):
    if data[:8] != PNG_SIG:
        raise PngError(f"{name}: not a PNG file (bad signature)")
    pos = 8
    while True:
        if pos + 8 > len(data):
            raise PngError(f"{name}: truncated (no IEND chunk)")
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = data[pos + 8 + length:pos + 12 + length]
        if len(body) != length or len(crc) != 4:
            raise PngError(f"{name}: truncated {ctype!r} chunk")
        if zlib.crc32(ctype + body) != struct.unpack(">I", crc)[0]:
            raise PngError(f"{name}: bad CRC in {ctype.decode('latin-1')} chunk")
        yield ctype, body
        if ctype == b"IEND":
            return
        pos += 12 + length


def _add_bytes(a, b):
    """Bytewise (a + b) mod 256 of two equal-length byte strings, without a Python loop."""
    n = len(a)
    if n == 0:
        return b""
    x = int.from_bytes(a, "little")
    y = int.from_bytes(b, "little")
    lo = int.from_bytes(b"\x7f" * n, "little")
    hi = int.from_bytes(b"\x80" * n, "little")
    return (((x & lo) + (y & lo)) ^ ((x ^ y) & hi)).to_bytes(n, "little")


def _unfilter(raw, width, height, bpp, name):
    stride = width * bpp
    if len(raw) != height * (stride + 1):
        raise PngError(f"{name}: image data is {len(raw)} bytes, want {height * (stride + 1)}")
    rows = []
    prev = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        ftype = raw[start]
        line = raw[start + 1:start + 1 + stride]
        if ftype == 0:  # None
            cur = bytes(line)
        elif ftype == 2:  # Up
            cur = _add_bytes(line, prev)
        elif ftype == 1:  # Sub
            cur = bytearray(line)
            for i in range(bpp, stride):
                cur[i] = (cur[i] + cur[i - bpp]) & 255
            cur = bytes(cur)
        elif ftype == 3:  # Average
            cur = bytearray(line)
            for i in range(stride):
                left = cur[i - bpp] if i >= bpp else 0
                cur[i] = (cur[i] + ((left + prev[i]) >> 1)) & 255
            cur = bytes(cur)
        elif ftype == 4:  # Paeth
            cur = bytearray(line)
            for i in range(stride):
                a = cur[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                if pa <= pb and pa <= pc:
                    pred = a
                elif pb <= pc:
                    pred = b
                else:
                    pred = c
                cur[i] = (cur[i] + pred) & 255
            cur = bytes(cur)
        else:
            raise PngError(f"{name}: row {y} has unknown filter type {ftype}")
        rows.append(cur)
        prev = cur
    return rows


def read_png(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise PngError(f"{path}: {e.strerror}")
    ihdr = None
    idat = []
    for ctype, body in _chunks(data, path):
        if ctype == b"IHDR":
            if len(body) != 13:
                raise PngError(f"{path}: IHDR is {len(body)} bytes, want 13")
            ihdr = struct.unpack(">IIBBBBB", body)
        elif ctype == b"IDAT":
            if ihdr is None:
                raise PngError(f"{path}: IDAT before IHDR")
            idat.append(body)
        elif ctype == b"PLTE":
            raise PngError(f"{path}: palette images are not supported")
    if ihdr is None:
        raise PngError(f"{path}: no IHDR chunk")
    width, height, depth, ctype, comp, filt, interlace = ihdr
    if width == 0 or height == 0 or width * height > MAX_PIXELS:
        raise PngError(f"{path}: unsupported size {width}x{height}")
    if depth != 8 or ctype not in (2, 6):
        raise PngError(f"{path}: bit depth {depth}, colour type {ctype}: only 8-bit RGB (2) "
                       "and RGBA (6) are supported")
    if comp != 0 or filt != 0:
        raise PngError(f"{path}: unknown compression {comp} or filter method {filt}")
    if interlace != 0:
        raise PngError(f"{path}: interlaced images are not supported")
    if not idat:
        raise PngError(f"{path}: no IDAT chunk")
    channels = 3 if ctype == 2 else 4
    try:
        d = zlib.decompressobj()
        raw = d.decompress(b"".join(idat), height * (width * channels + 1) + 1)
        if d.unconsumed_tail or not d.eof:
            raise PngError(f"{path}: image data is longer than the image or incomplete")
    except zlib.error as e:
        raise PngError(f"{path}: corrupt image data: {e}")
    return Image(width, height, channels, _unfilter(raw, width, height, channels, path))


def compare(a, b, threshold):
    """Returns (pixels differing by more than threshold in some channel, max difference)."""
    ch = 4 if a.channels == 4 and b.channels == 4 else 3
    bad = 0
    maxd = 0
    for ra, rb in zip(a.rows, b.rows):
        if a.channels == b.channels == ch and ra == rb:
            continue
        for x in range(a.width):
            pa = ra[x * a.channels:x * a.channels + ch]
            pb = rb[x * b.channels:x * b.channels + ch]
            if pa == pb:
                continue
            d = max(abs(p - q) for p, q in zip(pa, pb))
            if d > maxd:
                maxd = d
            if d > threshold:
                bad += 1
    return bad, maxd


def not_565(img):
    """Returns (pixels whose R, G or B is not a 5-6-5 value expanded, distinct colours)."""
    ok5 = bytes(1 if v == ((v & 0xf8) | (v >> 5)) else 0 for v in range(256))
    ok6 = bytes(1 if v == ((v & 0xfc) | (v >> 6)) else 0 for v in range(256))
    bad = 0
    colours = set()
    n = img.channels
    for row in img.rows:
        for x in range(0, img.width * n, n):
            r, g, b = row[x], row[x + 1], row[x + 2]
            colours.add((r << 16) | (g << 8) | b)
            if not (ok5[r] and ok6[g] and ok5[b]):
                bad += 1
    return bad, len(colours)


# ---- selftest: a small encoder that uses every filter type ----

def _filter_row(ftype, cur, prev, bpp):
    out = bytearray(len(cur))
    for i in range(len(cur)):
        a = cur[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if ftype == 0:
            pred = 0
        elif ftype == 1:
            pred = a
        elif ftype == 2:
            pred = b
        elif ftype == 3:
            pred = (a + b) >> 1
        else:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
        out[i] = (cur[i] - pred) & 255
    return bytes(out)


def _chunk(t, body):
    return struct.pack(">I", len(body)) + t + body + struct.pack(">I", zlib.crc32(t + body))


def write_png(path, width, height, channels, rows, filters=(0,)):
    raw = bytearray()
    prev = bytes(width * channels)
    for y, row in enumerate(rows):
        f = filters[y % len(filters)]
        raw.append(f)
        raw += _filter_row(f, row, prev, channels)
        prev = row

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2 if channels == 3 else 6, 0, 0, 0)
    z = zlib.compress(bytes(raw), 6)
    data = PNG_SIG + _chunk(b"IHDR", ihdr)
    for i in range(0, len(z), 1000):  # several IDATs, as real encoders write
        data += _chunk(b"IDAT", z[i:i + 1000])
    data += _chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def selftest():
    import os
    import random
    import tempfile

    rnd = random.Random(1)
    fails = 0
    with tempfile.TemporaryDirectory() as tmp:
        for channels in (3, 4):
            w, h = 37, 23
            rows = [bytes(rnd.randrange(256) if rnd.random() < 0.5 else (x * 7 + y) & 255
                          for x in range(w * channels)) for y in range(h)]
            for filters in ((0,), (1,), (2,), (3,), (4,), (0, 1, 2, 3, 4)):
                p = os.path.join(tmp, "t.png")
                write_png(p, w, h, channels, rows, filters)
                img = read_png(p)
                good = (img.width, img.height, img.channels, img.rows) == (w, h, channels, rows)
                if not good:
                    fails += 1
                print(f"{'ok' if good else 'not ok'} - {channels * 8}-bit filters {filters}")
        # Refusals: a grey image and a corrupt CRC.
        p = os.path.join(tmp, "bad.png")
        with open(p, "wb") as f:
            f.write(PNG_SIG + _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)) +
                    _chunk(b"IDAT", zlib.compress(b"\0\0")) + _chunk(b"IEND", b""))
        q = os.path.join(tmp, "crc.png")
        with open(os.path.join(tmp, "t.png"), "rb") as f:
            data = bytearray(f.read())
        data[50] ^= 1  # inside the first IDAT's data
        with open(q, "wb") as f:
            f.write(data)
        for what, path in (("grey refused", p), ("bad CRC refused", q)):
            try:
                read_png(path)
                fails += 1
                print(f"not ok - {what}")
            except PngError as e:
                print(f"ok - {what}: {e}")
    print(f"selftest: {'passed' if not fails else f'{fails} failed'}")
    return 0 if not fails else 1


def main(argv):
    args = argv[1:]
    threshold = 16
    tolerance = 0.001
    try:
        if args[:1] == ["selftest"]:
            return selftest()
        if len(args) == 2 and args[0] == "size":
            img = read_png(args[1])
            print(f"{img.width}x{img.height}")
            return 0
        if len(args) == 2 and args[0] == "rgb565":
            img = read_png(args[1])
            bad, colours = not_565(img)
            print(f"{bad} of {img.width * img.height} pixels are not RGB 5-6-5, "
                  f"{colours} colours")
            return 0 if bad == 0 else 1
        if args[:1] == ["compare"]:
            rest = args[1:]
            while rest and rest[0].startswith("--"):
                if rest[0] == "--threshold" and len(rest) > 1:
                    threshold = int(rest[1])
                elif rest[0] == "--tolerance" and len(rest) > 1:
                    tolerance = float(rest[1])
                else:
                    raise ValueError(rest[0])
                rest = rest[2:]
            if len(rest) != 2 or not 0 <= threshold <= 255 or not 0 <= tolerance <= 1:
                raise ValueError("arguments")
            a, b = read_png(rest[0]), read_png(rest[1])
            if (a.width, a.height) != (b.width, b.height):
                print(f"DIFFERENT: {a.width}x{a.height} against {b.width}x{b.height}")
                return 1
            bad, maxd = compare(a, b, threshold)
            frac = bad / (a.width * a.height)
            verdict = "SAME" if frac <= tolerance else "DIFFERENT"
            print(f"{verdict}: {a.width}x{a.height}, {bad} pixels ({frac * 100:.4f} %) differ by "
                  f"more than {threshold}, max difference {maxd}, tolerance "
                  f"{tolerance * 100:g} %")
            return 0 if frac <= tolerance else 1
    except PngError as e:
        print(f"pngcmp: {e}", file=sys.stderr)
        return 2
    except ValueError:
        pass
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
