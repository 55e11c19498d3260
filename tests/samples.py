"""Test documents made on the fly with the standard library: a page image and a multi-page PDF.

The tiny model's output is noise, so these only need to be valid files of the right kind and
shape; tests assert on structure (pages, results, status codes), never on recognised words.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from sample_pages import page_png, text_pdf  # scripts/ is a folder of tools, not a package


def png(width: int = 320, height: int = 240) -> bytes:
    """An RGB PNG that looks like a page: white, with dark bars where lines of text would be."""
    return page_png(width, height)


def pdf(pages: int = 2) -> bytes:
    """A valid PDF with a title and a line of text on each page."""
    return text_pdf([[f"Page {n}", f"Page {n} of the test document."] for n in range(1, pages + 1)])
