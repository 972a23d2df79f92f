#!/usr/bin/env python3
# tests/png-check.py FILE WIDTH HEIGHT — a screenshot was rendered: a PNG of exactly
# WIDTH x HEIGHT whose pixels are not all one colour (no blank page). Prints what it
# found; exits 1 when it is not so. Reads the PNG itself (zlib), no image library.
import struct
import sys
import zlib

path, want_w, want_h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = open(path, "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit(f"{path}: not a PNG")
pos, idat = 8, b""
w = h = None
while pos < len(data):
    (length,) = struct.unpack(">I", data[pos:pos + 4])
    kind = data[pos + 4:pos + 8]
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + length
raw = zlib.decompress(idat)
# after the filters, a blank page is nearly all zero bytes: count the bytes that are not
distinct = len(set(raw))
busy = sum(1 for b in raw[::97] if b)
print(f"{w}x{h}, {distinct} distinct byte values, {busy} of {len(raw[::97])} samples not zero")
if (w, h) != (want_w, want_h):
    sys.exit(f"{path}: {w}x{h}, not {want_w}x{want_h}")
if distinct < 16 or busy < 200:
    sys.exit(f"{path}: looks blank")
