#!/usr/bin/env python3
"""png_ink.py PNG: prints "WIDTHxHEIGHT INK" where INK is the number of
pixels that are not (near) white, read with the standard library alone
(zlib): a blank screenshot has 0.  8-bit RGB or RGBA, non-interlaced,
which is what Chromium writes; anything else is an error (exit 2)."""
import struct
import sys
import zlib


def rows(path):
    with open(path, 'rb') as f:
        data = f.read()
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        raise ValueError('not a PNG')
    pos, idat, head = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b'IHDR':
            head = struct.unpack('>IIBBBBB', body)
        elif kind == b'IDAT':
            idat.append(body)
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = head
    if depth != 8 or ctype not in (2, 6) or interlace != 0:
        raise ValueError('unsupported PNG: depth %d, colour type %d, interlace %d' % (depth, ctype, interlace))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b''.join(idat))
    stride = w * bpp
    prev = bytearray(stride)
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if ft == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif ft == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif ft == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif ft == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        elif ft != 0:
            raise ValueError('bad filter %d in row %d' % (ft, y))
        yield w, h, bpp, line
        prev = line


def main():
    ink, size = 0, None
    for w, h, bpp, line in rows(sys.argv[1]):
        size = (w, h)
        # a pixel is ink when one of its colour channels is below 200
        for x in range(0, w * bpp, bpp):
            if line[x] < 200 or line[x + 1] < 200 or line[x + 2] < 200:
                ink += 1
    print('%dx%d %d' % (size[0], size[1], ink))


if __name__ == '__main__':
    try:
        main()
    except (OSError, ValueError, zlib.error, struct.error) as e:
        print('png_ink: %s' % e, file=sys.stderr)
        sys.exit(2)
