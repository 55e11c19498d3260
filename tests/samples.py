"""Test documents made on the fly with the standard library: a page image and a multi-page PDF.

The tiny model's output is noise, so these only need to be valid files of the right kind and
shape; tests assert on structure (pages, results, status codes), never on recognised words.
"""

from __future__ import annotations

import struct
import zlib


def png(width: int = 320, height: int = 240) -> bytes:
    """An RGB PNG that looks like a page: white, with dark bars where lines of text would be."""
    rows = bytearray()
    for y in range(height):
        line = (y // 12) % 2 == 1 and 16 <= y < height - 16
        rows.append(0)  # filter: none
        for x in range(width):
            dark = line and 16 <= x < width - 16 - (y * 7) % 60
            rows += b"\x20\x20\x20" if dark else b"\xff\xff\xff"
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def pdf(pages: int = 2) -> bytes:
    """A valid PDF with one line of Helvetica text per page (A6 pages, so rendering is quick)."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, filled in below once the page numbers are known
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids = []
    for number in range(1, pages + 1):
        text = f"BT /F1 18 Tf 30 300 Td (Page {number} of the test document) Tj ET".encode()
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text))
        content = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 298 420] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % content
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), pages)

    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for index, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (index, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
