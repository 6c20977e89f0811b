#!/usr/bin/env python3
# gen-font.py: turns PSF console fonts (e.g. Debian console-setup-linux's Terminus) into C
# bitmap tables for the demo guest. Not a font renderer: it copies ASCII plus a few extras.
"""usage: gen-font.py OUT.c NAME=FONT.psf[.gz] [NAME=FONT.psf[.gz] ...]

Writes OUT.c defining `const struct font NAME` for each pair (struct font is declared in
guests/demo/fonts.h). Glyph i of a table is character code 0x20 + i: codes 0x20-0x7e are
ASCII, codes from 0x7f up are EXTRAS, in order, so the guest writes them as "\\x7f" etc.
"""
import gzip
import os
import struct
import sys

# Code points placed after ASCII, at 0x7f, 0x80, ...; fonts.h names them. Keep in step.
EXTRAS = [
    0x00B7,  # 0x7f middle dot
    0x00B0,  # 0x80 degree
    0x2022,  # 0x81 bullet
    0x2026,  # 0x82 ellipsis
    0x00D7,  # 0x83 multiplication sign
    0x25B6,  # 0x84 right-pointing triangle
    0x2190,  # 0x85 left arrow
    0x2192,  # 0x86 right arrow
    0x25CF,  # 0x87 black circle
    0x2588,  # 0x88 full block
    0x25B2,  # 0x89 up-pointing triangle
]
CODEPOINTS = list(range(0x20, 0x7F)) + EXTRAS

PACKAGE_HINT = ("the console fonts come from Debian's console-setup-linux package "
                "(apt-get install console-setup-linux)")


class FontError(Exception):
    pass


def read_font(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise FontError(f"cannot read {path}: {e.strerror}; {PACKAGE_HINT}") from None
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if data[:2] == b"\x36\x04":
        return parse_psf1(data, path)
    if data[:4] == b"\x72\xb5\x4a\x86":
        return parse_psf2(data, path)
    raise FontError(f"{path} is not a PSF font")


def parse_psf1(data, path):
    mode, charsize = data[2], data[3]
    count = 512 if mode & 0x01 else 256
    glyphs = [data[4 + i * charsize:4 + (i + 1) * charsize] for i in range(count)]
    if len(glyphs[-1]) != charsize:
        raise FontError(f"{path} is truncated")
    umap = {}
    if mode & 0x06:
        # One entry per glyph: 16-bit code points, 0xFFFE starts multi-code sequences
        # (skipped), 0xFFFF ends the entry.
        pos, glyph, in_seq = 4 + count * charsize, 0, False
        while pos + 1 < len(data) and glyph < count:
            (v,) = struct.unpack_from("<H", data, pos)
            pos += 2
            if v == 0xFFFF:
                glyph, in_seq = glyph + 1, False
            elif v == 0xFFFE:
                in_seq = True
            elif not in_seq:
                umap.setdefault(v, glyph)
    return 8, charsize, glyphs, umap


def parse_psf2(data, path):
    _, _, hdr, flags, count, charsize, height, width = struct.unpack_from("<8I", data, 0)
    row = (width + 7) // 8
    if charsize != row * height:
        raise FontError(f"{path}: glyph size {charsize} does not match {width}x{height}")
    glyphs = [data[hdr + i * charsize:hdr + (i + 1) * charsize] for i in range(count)]
    if len(glyphs[-1]) != charsize:
        raise FontError(f"{path} is truncated")
    umap = {}
    if flags & 1:
        # UTF-8 per glyph: 0xFE starts sequences (skipped), 0xFF ends the entry.
        table, pos, glyph, in_seq = data[hdr + count * charsize:], 0, 0, False
        while pos < len(table) and glyph < count:
            b = table[pos]
            if b == 0xFF:
                glyph, in_seq, pos = glyph + 1, False, pos + 1
                continue
            if b == 0xFE:
                in_seq, pos = True, pos + 1
                continue
            n = 1 if b < 0x80 else 2 if b < 0xE0 else 3 if b < 0xF0 else 4
            ch = table[pos:pos + n].decode("utf-8", errors="replace")
            pos += n
            if not in_seq and len(ch) == 1:
                umap.setdefault(ord(ch), glyph)
    return width, height, glyphs, umap


def glyph_for(cp, glyphs, umap, path):
    if umap:
        if cp in umap:
            return glyphs[umap[cp]]
        if cp < 0x80:
            raise FontError(f"{path} has no glyph for U+{cp:04X}")
        return glyphs[umap.get(ord("?"), ord("?"))]
    # No Unicode table: assume the font is in code-page order (ASCII at least).
    return glyphs[cp] if cp < 0x80 else glyphs[ord("?")]


def emit(out, name, path):
    width, height, glyphs, umap = read_font(path)
    row = (width + 7) // 8
    lines = [f"/* {os.path.basename(path)}: {width}x{height}, {len(CODEPOINTS)} glyphs */",
             f"static const unsigned char {name}_bits[] = {{"]
    for cp in CODEPOINTS:
        g = glyph_for(cp, glyphs, umap, path)
        lines.append("\t" + ", ".join(f"0x{b:02x}" for b in g) + f", /* U+{cp:04X} */")
    lines.append("};")
    lines.append(f"const struct font {name} = {{{width}, {height}, {row}, 0x20, "
                 f"{len(CODEPOINTS)}, {name}_bits}};")
    out.extend(lines)


def main(argv):
    if len(argv) < 3 or any("=" not in a for a in argv[2:]):
        sys.stderr.write(__doc__)
        return 2
    out = ["/* fonts.c: bitmap fonts for the demo guest, generated by scripts/gen-font.py at",
           " * build time from console fonts; not hand-written and not committed. */",
           '#include "fonts.h"', ""]
    try:
        for spec in argv[2:]:
            name, path = spec.split("=", 1)
            emit(out, name, path)
            out.append("")
    except FontError as e:
        sys.stderr.write(f"gen-font.py: error: {e}\n")
        return 1
    tmp = argv[1] + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(out))
    os.replace(tmp, argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
