"""Small, valid sample documents made with the standard library only: PDFs of text lines and
PNG images that look like pages. Used by scripts/smoke, scripts/bench and the tests.
"""

from __future__ import annotations

import struct
import zlib

PAGE_WIDTH, PAGE_HEIGHT = 420, 595  # A5 in points: quick to render, big enough to read


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _content(lines: list[str]) -> bytes:
    """Helvetica text: the first line as a 20 pt title, the rest as 12 pt body lines."""
    parts, y = [], PAGE_HEIGHT - 60
    for index, line in enumerate(lines):
        size = 20 if index == 0 else 12
        parts.append(f"BT /F1 {size} Tf 40 {y} Td ({_escape(line)}) Tj ET")
        y -= 34 if index == 0 else 18
    return "\n".join(parts).encode("latin-1", errors="replace")


def text_pdf(pages: list[list[str]]) -> bytes:
    """A PDF with one page per list of lines."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, filled in once the page objects are numbered
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids = []
    for lines in pages:
        stream = _content(lines)
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>"
            % (PAGE_WIDTH, PAGE_HEIGHT, len(objects))
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(pages))

    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


WHITE, DARK = b"\xff\xff\xff", b"\x20\x20\x20"


def page_png(width: int, height: int, variant: int = 0) -> bytes:
    """An RGB PNG that looks like a page: white, with dark bars where lines of text would be,
    and `variant` as a row of dark and light squares in the top margin."""
    rows = bytearray()
    for y in range(height):
        row = bytearray(WHITE * width)
        if (y // 12) % 2 == 1 and 16 <= y < height - 16:
            end = width - 16 - (y // 12 * 37 + variant * 13) % max(1, width // 3)
            if end > 16:
                row[3 * 16 : 3 * end] = DARK * (end - 16)
        if 2 <= y < 6:
            for bit in range(min(32, (width - 4) // 4)):
                if variant >> bit & 1:
                    row[3 * (2 + 4 * bit) : 3 * (6 + 4 * bit)] = DARK * 4
        rows += b"\x00" + row  # filter byte: none
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(bytes(rows), 6))
        + png_chunk(b"IEND", b"")
    )


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
