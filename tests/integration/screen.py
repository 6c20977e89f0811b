#!/usr/bin/env python3
# screen.py: small picture tools for the viewer and web tests (pure Python stdlib): turns an
# X screen dump (`xwd -root`, 24/32-bit TrueColor ZPixmap) into a PNG, and prints the colour of
# pixels of a PNG. Not a general XWD or PNG library: pngcmp.py reads and writes the PNGs.
"""
Usage:
  screen.py xwd2png IN.xwd OUT.png   writes the dump as an RGB PNG; prints WIDTHxHEIGHT
  screen.py pixel FILE.png X Y...    prints "RRGGBB" for each X Y pair, one a line
  screen.py colours FILE.png         prints the 8 commonest colours, "RRGGBB FRACTION"
  screen.py crop IN.png OUT.png X Y W H   writes that rectangle of IN as an RGB PNG
Exit statuses: 0 done, 2 unreadable or unsupported input or usage error.
"""
import os
import struct
import sys
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pngcmp  # noqa: E402


def read_xwd(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 100:
        raise ValueError(f"{path}: too short for an XWD header")
    h = struct.unpack(">25I", data[:100])
    (hsize, version, fmt, depth, width, height, _xoff, byte_order, _unit, _bit_order, _pad,
     bpp, bpl, vclass, rmask, gmask, bmask, _bits_rgb, _cmap, ncolors) = h[:20]
    if version != 7 or fmt != 2 or bpp not in (24, 32) or vclass not in (4, 5):
        raise ValueError(f"{path}: XWD version {version}, format {fmt}, {bpp} bpp, class "
                         f"{vclass}: only TrueColor ZPixmap of 24/32 bpp is supported")
    if not 0 < width <= 16384 or not 0 < height <= 16384 or bpl < width * bpp // 8:
        raise ValueError(f"{path}: bad size {width}x{height}, {bpl} bytes a line")
    start = hsize + ncolors * 12
    if start + bpl * height > len(data):
        raise ValueError(f"{path}: truncated pixel data")
    step = bpp // 8
    endian = "little" if byte_order == 0 else "big"

    def shift(mask):
        s = 0
        while mask and not mask & 1:
            mask >>= 1
            s += 1
        return s

    rs, gs, bs = shift(rmask), shift(gmask), shift(bmask)
    rows = []
    for y in range(height):
        line = data[start + y * bpl:start + y * bpl + width * step]
        out = bytearray(width * 3)
        if step == 4 and endian == "little" and (rs, gs, bs) == (16, 8, 0):
            out[0::3] = line[2::4]  # the common case, fast: bytes B G R X
            out[1::3] = line[1::4]
            out[2::3] = line[0::4]
        else:
            for x in range(width):
                v = int.from_bytes(line[x * step:x * step + step], endian)
                out[x * 3:x * 3 + 3] = bytes(((v & rmask) >> rs, (v & gmask) >> gs,
                                              (v & bmask) >> bs))
        rows.append(bytes(out))
    return width, height, rows


def main(argv):
    a = argv[1:]
    try:
        if len(a) == 3 and a[0] == "xwd2png":
            w, h, rows = read_xwd(a[1])
            pngcmp.write_png(a[2], w, h, 3, rows)
            print(f"{w}x{h}")
            return 0
        if len(a) >= 4 and a[0] == "pixel" and len(a) % 2 == 0:
            img = pngcmp.read_png(a[1])
            for i in range(2, len(a), 2):
                x, y = int(a[i]), int(a[i + 1])
                if not (0 <= x < img.width and 0 <= y < img.height):
                    raise ValueError(f"{x},{y} is outside {img.width}x{img.height}")
                p = img.rows[y][x * img.channels:x * img.channels + 3]
                print(p.hex())
            return 0
        if len(a) == 7 and a[0] == "crop":
            img = pngcmp.read_png(a[1])
            x, y, w, h = (int(v) for v in a[3:7])
            if x < 0 or y < 0 or w < 1 or h < 1 or x + w > img.width or y + h > img.height:
                raise ValueError(f"{w}x{h}+{x}+{y} is outside {img.width}x{img.height}")
            ch = img.channels
            rows = []
            for r in img.rows[y:y + h]:
                line = r[x * ch:(x + w) * ch]
                rows.append(line if ch == 3 else bytes(b for i, b in enumerate(line) if i % 4 != 3))
            pngcmp.write_png(a[2], w, h, 3, rows)
            return 0
        if len(a) == 2 and a[0] == "colours":
            img = pngcmp.read_png(a[1])
            c = Counter()
            for row in img.rows:
                for x in range(0, img.width, 2):
                    c[bytes(row[x * img.channels:x * img.channels + 3])] += 1
            total = sum(c.values())
            for col, n in c.most_common(8):
                print(f"{col.hex()} {n / total:.4f}")
            return 0
    except (ValueError, OSError, pngcmp.PngError) as e:
        print(f"screen.py: {e}", file=sys.stderr)
        return 2
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
