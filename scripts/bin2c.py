#!/usr/bin/env python3
# bin2c.py: turns a binary file into a C source defining a byte array and its length, so the
# built-in guest travels inside the hyperdesk binary. Not a general resource compiler.
import sys

def main():
    if len(sys.argv) != 4:
        sys.exit("usage: bin2c.py INPUT OUTPUT.c SYMBOL")
    src, dst, sym = sys.argv[1:]
    data = open(src, "rb").read()
    with open(dst, "w") as f:
        f.write("/* Generated from %s by bin2c.py; do not edit. */\n" % src.rsplit("/", 1)[-1])
        f.write("#include <stddef.h>\n")
        f.write("const unsigned char %s[] __attribute__((aligned(16))) = {\n" % sym)
        for i in range(0, len(data), 16):
            f.write("  " + ", ".join("0x%02x" % b for b in data[i:i + 16]) + ",\n")
        f.write("};\n")
        f.write("const size_t %s_len = %d;\n" % (sym, len(data)))

main()
