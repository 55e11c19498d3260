"""ASGI middleware: request size limit (413) and input checks for POST /layout-parsing."""

from __future__ import annotations

import json
import logging

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .responses import log_id_from, new_log_id, send_error
from .validation import Capabilities, Rejection, check_file_content, check_request_fields

logger = logging.getLogger("pvd_api")

INFER_PATH = "/layout-parsing"
_BODY_METHODS = {"POST", "PUT", "PATCH"}


class BodyTooLargeError(Exception):
    pass


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise anyio.EndOfStream
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # http.disconnect, when it comes

    return replay


class RequestGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        allow_file_urls: bool,
        caps: Capabilities,
        max_new_tokens: int | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.allow_file_urls = allow_file_urls
        self.caps = caps
        self.max_new_tokens = max_new_tokens

    def _too_large(self, size: int | None) -> str:
        size_text = f"is {_mb(size)}, which is" if size is not None else "is"
        return (
            f"The request body {size_text} over this server's limit of "
            f"{_mb(self.max_body_bytes)} (API_MAX_UPLOAD_MB). Base64 makes a file about 4/3 "
            "larger: split the document or raise the limit"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await send_error(send, 413, self._too_large(declared), new_log_id(), close=True)
            return
        try:
            body = await _read_body(receive, self.max_body_bytes)
        except BodyTooLargeError:
            await send_error(send, 413, self._too_large(None), new_log_id(), close=True)
            return
        except anyio.EndOfStream:
            return  # the client went away
        if scope["path"] == INFER_PATH:
            # Parsed once, off the event loop: an upload can be tens of MB of JSON.
            request = await anyio.to_thread.run_sync(_json_object, body)
            if request is not None:
                rejection, log_id = await self._check(request)
                if rejection is not None:
                    logger.info("rejected %s (logId %s): %s", INFER_PATH, log_id, rejection.message)
                    await send_error(send, rejection.status, rejection.message, log_id)
                    return
                if self._cap_answer_length(request):
                    body = await anyio.to_thread.run_sync(_json_bytes, request)
        await self.app(scope, _replay(body, receive), send)

    def _cap_answer_length(self, request: dict) -> bool:
        """Hold maxNewTokens (PaddleX's own request field) to VLM_MAX_OUTPUT_TOKENS: a default
        for requests without one, a ceiling for the others. Greedy decoding can loop; this is
        what ends it, on every VLM engine. True when the request was changed."""
        if self.max_new_tokens is None:
            return False
        asked = request.get("maxNewTokens")
        if isinstance(asked, float) and asked.is_integer():
            asked = int(asked)  # PaddleX's schema takes 1e6 as the integer 1000000
        if asked is not None and (not isinstance(asked, int) or isinstance(asked, bool)):
            return False  # PaddleX's schema validation answers this one
        if asked is not None and 0 < asked <= self.max_new_tokens:
            return False
        request["maxNewTokens"] = self.max_new_tokens
        return True

    async def _check(self, request: dict) -> tuple[Rejection | None, str]:
        log_id = log_id_from(request)
        rejection, text, file_type = check_request_fields(
            request, allow_urls=self.allow_file_urls, caps=self.caps
        )
        if rejection is None and text is not None:
            rejection = await anyio.to_thread.run_sync(check_file_content, text, file_type)
        return rejection, log_id


def _json_object(raw: bytes) -> dict | None:
    """The request as a JSON object, or None: PaddleX answers malformed JSON with its own 422."""
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _json_bytes(value: dict) -> bytes:
    return json.dumps(value).encode()
