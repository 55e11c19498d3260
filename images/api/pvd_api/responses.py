"""Error bodies in PaddleX's own shape: {"logId", "errorCode" (the HTTP status), "errorMsg"}."""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import Send


def new_log_id() -> str:
    """Same format as PaddleX's ``generate_log_id``."""
    return str(uuid.uuid4())


def log_id_from(body: Any) -> str:
    """The client's ``logId`` when the JSON body has one (PaddleX echoes it), else a new one."""
    if isinstance(body, dict) and isinstance(body.get("logId"), str) and body["logId"]:
        return body["logId"]
    return new_log_id()


def log_id_from_bytes(raw: bytes) -> str:
    try:
        return log_id_from(json.loads(raw))
    except (ValueError, UnicodeDecodeError):
        return new_log_id()


def error_response(status: int, message: str, log_id: str | None = None) -> JSONResponse:
    body = {"logId": log_id or new_log_id(), "errorCode": status, "errorMsg": message}
    return JSONResponse(body, status_code=status)


async def send_error(
    send: Send, status: int, message: str, log_id: str | None = None, *, close: bool = False
) -> None:
    """Send an error from plain ASGI code (middleware).

    ``close`` when the request body was not read: the connection cannot be reused then.
    """
    response = error_response(status, message, log_id)
    if close:
        response.headers["Connection"] = "close"
    await send(
        {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": response.raw_headers,
        }
    )
    await send({"type": "http.response.body", "body": response.body})
