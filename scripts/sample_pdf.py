"""Write small, valid PDFs of text lines with the standard library only.

Used by scripts/smoke (a sample page for the real model to read) and by the tests.
"""

from __future__ import annotations

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
