#!/usr/bin/env python3
"""check_clip.py FILE... - is any text of a chart cut off or written over
another text?

A PNG (as pngcairo draws it, at its own font sizes) is read pixel by
pixel: nothing but the background may be drawn in its outermost FRAME
pixels, so a title, legend or label that runs off an edge is caught
whatever its font, even when the cut falls on a space (narrower than the
frame).  The charts keep clear of it by design.  An SVG is read for its texts: for each <text> of gnuplot's SVG (each in a <g> whose
transform places it: translate(x,y), maybe rotate(270)), its box is
estimated from its characters (DejaVu Sans advance widths, the font
gnuplot's 'Sans' resolves to here) times its font size, anchored as
text-anchor says.  A box that leaves the canvas (width x height of the
<svg>) is cut off; two boxes that overlap by more than a sliver (a tenth
of the font size each way) are written over each other.  Prints one line
per problem; exit status 1 if there was any, 0 if none, 2 on bad input.

The widths are an estimate (a renderer may kern or substitute), so the
margins are small but not zero: a text that really fits is never
flagged, and one cut by more than a character is.
"""
import re
import struct
import sys
import xml.etree.ElementTree as ET
import zlib

# DejaVu Sans advance widths in em (from its hmtx table, rounded).
W = {' ': .318, '!': .401, '"': .460, '#': .838, '$': .636, '%': .950, '&': .780, "'": .275,
     '(': .390, ')': .390, '*': .500, '+': .838, ',': .318, '-': .361, '.': .318, '/': .337,
     ':': .337, ';': .337, '<': .838, '=': .838, '>': .838, '?': .531, '@': 1.0, '[': .390,
     '\\': .337, ']': .390, '^': .838, '_': .500, '`': .500, '{': .636, '|': .337, '}': .636,
     '~': .838,
     'A': .684, 'B': .686, 'C': .698, 'D': .770, 'E': .632, 'F': .575, 'G': .775, 'H': .752,
     'I': .295, 'J': .295, 'K': .656, 'L': .557, 'M': .863, 'N': .748, 'O': .787, 'P': .603,
     'Q': .787, 'R': .695, 'S': .635, 'T': .611, 'U': .732, 'V': .684, 'W': .989, 'X': .685,
     'Y': .611, 'Z': .685,
     'a': .613, 'b': .635, 'c': .550, 'd': .635, 'e': .615, 'f': .352, 'g': .635, 'h': .634,
     'i': .278, 'j': .278, 'k': .579, 'l': .278, 'm': .974, 'n': .634, 'o': .612, 'p': .635,
     'q': .635, 'r': .411, 's': .521, 't': .392, 'u': .634, 'v': .592, 'w': .818, 'x': .592,
     'y': .592, 'z': .525}
for d in '0123456789':
    W[d] = .636


def width_em(s):
    return sum(W.get(ch, .70) for ch in s)


NS = '{http://www.w3.org/2000/svg}'
TR = re.compile(r'translate\(\s*([-\d.]+)\s*,\s*([-\d.]+)\s*\)(?:\s*rotate\(\s*([-\d.]+)\s*\))?')


def boxes(path):
    tree = ET.parse(path)
    root = tree.getroot()
    cw = float(root.get('width', '0').rstrip('px'))
    ch = float(root.get('height', '0').rstrip('px'))
    out = []
    for g in root.iter(NS + 'g'):
        m = TR.search(g.get('transform', ''))
        if not m:
            continue
        for t in g.findall(NS + 'text'):
            s = ''.join(t.itertext())
            if not s.strip():
                continue
            fs = float(g.get('font-size', t.get('font-size', '11')))
            x, y = float(m.group(1)), float(m.group(2))
            rot = float(m.group(3) or 0) % 360
            anchor = g.get('text-anchor', t.get('text-anchor', 'start'))
            w = width_em(s) * fs
            lead = {'start': 0.0, 'middle': w / 2, 'end': w}.get(anchor, 0.0)
            # along the text: [-lead, w - lead]; across: baseline at 0, ascent 0.76 em, descent 0.24 em
            a0, a1, c0, c1 = -lead, w - lead, -0.76 * fs, 0.24 * fs
            if rot == 0:
                b = (x + a0, y + c0, x + a1, y + c1)
            elif rot == 270:   # reads upwards: along is -y, across is +x
                b = (x + c0, y - a1, x + c1, y - a0)
            elif rot == 90:
                b = (x - c1, y + a0, x - c0, y + a1)
            else:
                continue
            out.append((s.strip(), fs, b))
    return cw, ch, out


def png_rows(path):
    """The pixels of an 8-bit, non-interlaced grey, RGB or RGBA PNG: width,
    height, channels and the rows as bytes."""
    with open(path, 'rb') as f:
        data = f.read()
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        raise ValueError('not a PNG')
    pos, idat, w = 8, b'', 0
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b'IHDR':
            w, h, depth, ctype, _, _, interlace = struct.unpack('>IIBBBBB', body)
            if depth != 8 or interlace or ctype not in (0, 2, 4, 6):
                raise ValueError('a PNG this check does not read (depth %d, type %d)' % (depth, ctype))
            ch = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
        elif kind == b'IDAT':
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * ch
    rows, prev = [], bytearray(stride)
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if ft == 1:
            for i in range(ch, stride):
                line[i] = (line[i] + line[i - ch]) & 255
        elif ft == 2:
            line = bytearray((u + v) & 255 for u, v in zip(line, prev))
        elif ft == 3:
            for i in range(stride):
                line[i] = (line[i] + ((line[i - ch] if i >= ch else 0) + prev[i]) // 2) & 255
        elif ft == 4:
            for i in range(stride):
                b = prev[i]
                if i >= ch:
                    a, c = line[i - ch], prev[i - ch]
                else:
                    a = c = 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, ch, rows


FRAME = 6


def png_edges(path):
    """Problems: non-background pixels in the outer FRAME pixels."""
    w, h, ch, rows = png_rows(path)
    bg = b'\xff' * ch   # every script draws on white
    hits = []
    for y in range(h):
        edge_row = y < FRAME or y >= h - FRAME
        xs = range(w) if edge_row else [*range(FRAME), *range(w - FRAME, w)]
        for x in xs:
            px = rows[y][x * ch:(x + 1) * ch]
            if px != bg:
                hits.append((x, y))
    if not hits:
        return []
    sides = set()
    for x, y in hits:
        sides.add('top' if y < FRAME else 'bottom' if y >= h - FRAME else 'left' if x < FRAME else 'right')
    return ['%s: something is cut off at the %s edge (%d pixels within %d of it are not background, e.g. at %d,%d)'
            % (path, ' and '.join(sorted(sides)), len(hits), FRAME, hits[0][0], hits[0][1])]


def main(paths):
    bad = 0
    for p in paths:
        if p.endswith('.png'):
            try:
                probs = png_edges(p)
            except (OSError, ValueError, zlib.error, struct.error) as e:
                print(f'{p}: cannot read: {e}')
                return 2
            for line in probs:
                print(line)
            bad += len(probs)
            continue
        try:
            cw, ch, bs = boxes(p)
        except (ET.ParseError, OSError, ValueError) as e:
            print(f'{p}: cannot read: {e}')
            return 2
        if cw <= 0 or ch <= 0:
            print(f'{p}: no canvas size')
            return 2
        for s, fs, (x0, y0, x1, y1) in bs:
            slack = 0.1 * fs
            if x0 < -slack or y0 < -slack or x1 > cw + slack or y1 > ch + slack:
                print(f'{p}: cut off at the edge: "{s}" spans x {x0:.0f}..{x1:.0f}, y {y0:.0f}..{y1:.0f}'
                      f' of {cw:.0f} x {ch:.0f}')
                bad += 1
        for i in range(len(bs)):
            for j in range(i + 1, len(bs)):
                (s1, f1, a), (s2, f2, b) = bs[i], bs[j]
                sl = 0.1 * min(f1, f2)
                ox = min(a[2], b[2]) - max(a[0], b[0])
                oy = min(a[3], b[3]) - max(a[1], b[1])
                if ox > sl and oy > sl:
                    print(f'{p}: texts overlap: "{s1}" and "{s2}"')
                    bad += 1
    return 1 if bad else 0


if __name__ == '__main__':
    if len(sys.argv) < 2:
        print('usage: check_clip.py SVG...', file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
