"""Checks on a POST /layout-parsing body before PaddleX sees it.

Only what PaddleX gets wrong or answers unclearly is checked here; everything else (JSON syntax,
field types, value ranges) is left to PaddleX's own schema validation, whose 422 is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .filecheck import SUPPORTED_IMAGES, FileCheckError, count_pdf_pages, decode_base64, sniff

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_FILE_TYPES = {0: "PDF", 1: "image"}


@dataclass(frozen=True)
class Capabilities:
    """What the loaded pipeline can do (a request cannot switch on what was never loaded)."""

    layout_detection: bool
    doc_preprocessor: bool


@dataclass(frozen=True)
class Rejection:
    status: int
    message: str


def _file_type(value: Any) -> int | Rejection | None:
    """Mirror PaddleX's Literal[0, 1] (which also takes true/false and 0.0/1.0)."""
    if value is None:
        return None
    if isinstance(value, bool) or (isinstance(value, float) and value in (0.0, 1.0)):
        return int(value)
    if isinstance(value, int) and value in _FILE_TYPES:
        return value
    return Rejection(422, f"`fileType` must be 0 (PDF) or 1 (image), as a number; got {value!r}")


def _flag_rejection(body: dict[str, Any], caps: Capabilities) -> Rejection | None:
    if body.get("useLayoutDetection") is True and not caps.layout_detection:
        return Rejection(
            422,
            "`useLayoutDetection` is true, but this server was started with layout detection "
            "off (use_layout_detection: False), so no layout model is loaded; leave it out",
        )
    for flag in ("useDocOrientationClassify", "useDocUnwarping"):
        if body.get(flag) is True and not caps.doc_preprocessor:
            return Rejection(
                422,
                f"`{flag}` is true, but this server was started without the document "
                "preprocessor (use_doc_preprocessor: False); leave it out",
            )
    return None


def check_request_fields(
    body: dict[str, Any], *, allow_urls: bool, caps: Capabilities
) -> tuple[Rejection | None, str | None, int | None]:
    """Cheap checks. Returns (rejection, base64 text to inspect further, fileType)."""
    if rejection := _flag_rejection(body, caps):
        return rejection, None, None
    file_type = _file_type(body.get("fileType"))
    if isinstance(file_type, Rejection):
        return file_type, None, None
    file = body.get("file")
    if not isinstance(file, str):
        return None, None, None  # PaddleX's schema validation answers this one
    stripped = file.strip()
    if not stripped:
        return Rejection(422, "`file` is empty: send the document encoded as Base64"), None, None
    if _URL.match(stripped):
        if not stripped.lower().startswith(("http://", "https://")):
            return (
                Rejection(
                    422,
                    "`file` is a URL with a scheme other than http(s); send the "
                    "document's bytes encoded as Base64",
                ),
                None,
                None,
            )
        if not allow_urls:
            return (
                Rejection(
                    422,
                    "`file` is a URL, and this server does not download files "
                    "(API_ALLOW_FILE_URLS is off): send the document's bytes "
                    "encoded as Base64 instead",
                ),
                None,
                None,
            )
        return None, None, file_type  # PaddleX downloads it; nothing to inspect here
    return None, file, file_type


def check_file_content(text: str, file_type: int | None) -> Rejection | None:
    """Decode and sniff the Base64 content (CPU work: run it in a thread)."""
    try:
        data = decode_base64(text)
    except FileCheckError as exc:
        return Rejection(422, str(exc))
    found = sniff(data)
    if file_type is None:
        hint = {
            "pdf": " (this one looks like a PDF: use 0)",
            "image": f" (this one looks like {found.description}: use 1)",
        }.get(found.kind, "")
        return Rejection(
            422, f"`fileType` is required with Base64 data: 0 for a PDF, 1 for an image{hint}"
        )
    if found.kind == "unsupported" or found.kind == "unknown":
        return Rejection(
            422,
            f"`file` is {found.description}, which this server cannot read: send a PDF "
            f"(fileType 0) or an image ({SUPPORTED_IMAGES}; fileType 1)",
        )
    expected = "pdf" if file_type == 0 else "image"
    if found.kind != expected:
        right = 0 if found.kind == "pdf" else 1
        return Rejection(
            422,
            f"`fileType` is {file_type} ({_FILE_TYPES[file_type]}), but `file` is "
            f"{found.description}: use fileType {right}",
        )
    if found.kind == "pdf":
        try:
            count_pdf_pages(data)
        except FileCheckError as exc:
            return Rejection(422, str(exc))
    return None
