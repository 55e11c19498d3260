"""Test documents made on the fly with the standard library: a page image and a multi-page PDF.

The tiny model's output is noise, so these only need to be valid files of the right kind and
shape; tests assert on structure (pages, results, status codes), never on recognised words.
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from sample_pdf import text_pdf  # scripts/ is a folder of tools, not a package


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
    """A valid PDF with a title and a line of text on each page."""
    return text_pdf([[f"Page {n}", f"Page {n} of the test document."] for n in range(1, pages + 1)])
