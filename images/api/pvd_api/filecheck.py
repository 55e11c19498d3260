"""Checks on the request's ``file`` field: Base64, magic bytes, whether a PDF opens.

Pure functions (no web framework) so they are easy to test; each problem raises
:class:`FileCheckError` with a message meant for the person who sent the file.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["pdf", "image", "unsupported", "unknown"]

# Formats OpenCV 4.10 (what PaddleX decodes images with) reads; multi-page TIFF goes through PIL.
_IMAGE_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (0, b"\xff\xd8\xff", "a JPEG image"),
    (0, b"II*\x00", "a TIFF image"),
    (0, b"MM\x00*", "a TIFF image"),
    (0, b"\x00\x00\x00\x0cjP  \r\n\x87\n", "a JPEG 2000 image"),
    (0, b"\xffO\xffQ", "a JPEG 2000 image"),
    (0, b"BM", "a BMP image"),
    (0, b"#?RADIANCE", "a Radiance HDR image"),
    (0, b"\x59\xa6\x6a\x95", "a Sun raster image"),
)
_UNSUPPORTED_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"GIF87a", "a GIF image"),
    (0, b"GIF89a", "a GIF image"),
    (4, b"ftypheic", "a HEIC image"),
    (4, b"ftypheix", "a HEIC image"),
    (4, b"ftypmif1", "a HEIF image"),
    (4, b"ftypavif", "an AVIF image"),
    (0, b"\x00\x00\x01\x00", "an ICO image"),
    (0, b"PK\x03\x04", "a ZIP archive (or .docx/.xlsx/.pptx/.odt)"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Microsoft Office document"),
    (0, b"{\\rtf", "an RTF document"),
    (0, b"\x1f\x8b", "a gzip archive"),
    (0, b"%!PS", "a PostScript document"),
)
_PNM = re.compile(rb"P[1-6][\s#]")
_NON_BASE64 = re.compile(r"[^A-Za-z0-9+/=]")
SUPPORTED_IMAGES = "PNG, JPEG, BMP, TIFF, WebP, JPEG 2000, PBM/PGM/PPM"


class FileCheckError(ValueError):
    """The file cannot be processed; ``str(error)`` is the message for the client."""


@dataclass(frozen=True)
class Sniffed:
    kind: Kind
    description: str  # with its article: "a PNG image", "plain text"


def decode_base64(text: str) -> bytes:
    """Decode like PaddleX does, but refuse what PaddleX would silently turn into garbage.

    PaddleX calls ``base64.b64decode(file)`` without validation: characters outside the Base64
    alphabet are dropped, so a data URI, URL-safe Base64 or stray text decode to corrupt bytes.
    Whitespace (line-wrapped output of ``base64``) is accepted, as PaddleX accepts it too.
    """
    compact = "".join(text.split())
    if not compact:
        raise FileCheckError("`file` is empty: send the document's bytes encoded as Base64")
    if compact.startswith("data:"):
        raise FileCheckError(
            "`file` is a data URI ('data:...;base64,...'): send only the Base64 text after "
            "the comma"
        )
    bad = _NON_BASE64.search(compact)
    if bad is not None:
        char = bad.group()
        if char in "-_":
            raise FileCheckError(
                "`file` uses URL-safe Base64 ('-' and '_'); encode it with the standard "
                "alphabet ('+' and '/'), e.g. `base64 -w0 FILE`"
            )
        raise FileCheckError(
            f"`file` is not valid Base64: character {char!r} at position {bad.start()} is not "
            "in the Base64 alphabet. Send the document's bytes Base64-encoded"
            + (" (URLs are not fetched by this server)" if "://" in compact[:64] else "")
        )
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FileCheckError(
            f"`file` is not valid Base64 ({exc}); its length must be a multiple of 4, "
            "padded with '='"
        ) from None
    if not data:
        raise FileCheckError("`file` decodes to 0 bytes: the document is empty")
    return data


def sniff(data: bytes) -> Sniffed:
    """Tell what the bytes are from their first bytes (magic numbers)."""
    if b"%PDF-" in data[:1024]:
        return Sniffed("pdf", "a PDF document")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return Sniffed("image", "a WebP image")
    for offset, magic, description in _IMAGE_SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return Sniffed("image", description)
    if _PNM.match(data[:3]):
        return Sniffed("image", "a PNM image")
    for offset, magic, description in _UNSUPPORTED_SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return Sniffed("unsupported", description)
    head = data[:512].lstrip()
    if head[:5].lower() in (b"<?xml", b"<svg ", b"<!doc", b"<html"):
        return Sniffed("unsupported", "XML, HTML or SVG text")
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return Sniffed("unknown", "unrecognised binary data")
    return Sniffed("unsupported", "plain text")


def count_pdf_pages(data: bytes) -> int:
    """Open the PDF the way PaddleX will (pypdfium2, under PaddleX's pdfium lock)."""
    import pypdfium2 as pdfium
    from paddlex.inference.utils.pdfium_lock import pdfium_lock

    with pdfium_lock:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            text = str(exc)
            if "password" in text.lower():
                raise FileCheckError(
                    "the PDF is encrypted with a password; send an unencrypted copy"
                ) from None
            # PDFium also refuses a PDF whose page tree is empty; its error code is not reliable
            # then (a stale one from an earlier failure on the same thread, or "Success").
            raise FileCheckError(
                f"the PDF cannot be opened: it is corrupt, truncated or has no pages ({text})"
            ) from None
        try:
            pages = len(document)
        finally:
            document.close()
    if pages == 0:
        raise FileCheckError("the PDF has no pages")
    return pages
