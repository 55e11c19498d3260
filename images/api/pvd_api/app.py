"""PaddleX's own FastAPI app for the pipeline, with our additions installed around it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from .config import VLMTarget
from .guard import RequestGuard
from .responses import error_response, log_id_from_bytes, new_log_id
from .settings import Settings
from .validation import Capabilities
from .vlm import (
    PADDLEX_CALL_TIMEOUT_S,
    FailureTracker,
    GuardedPipeline,
    genai_clients,
    install_error_translation,
    probe,
)

logger = logging.getLogger("pvd_api")

Handler = Callable[[Request, Exception], Awaitable[Response]]
VLM_HEALTH_PATH = "/health/vlm"
RESTRUCTURE_PATH = "/restructure-pages"
# What PaddleX raises when a page sent to /restructure-pages is not a prunedResult it made.
_MALFORMED_PAGE_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError)


def capabilities(pipeline: Any) -> Capabilities:
    return Capabilities(
        layout_detection=bool(getattr(pipeline, "use_layout_detection", False)),
        doc_preprocessor=bool(getattr(pipeline, "use_doc_preprocessor", False)),
    )


async def _body_log_id(request: Request) -> str:
    try:
        return log_id_from_bytes(await request.body())
    except Exception:  # the body may be gone (client disconnected)
        return log_id_from_bytes(b"")


def _install_handlers(app: FastAPI) -> None:
    paddlex_http_handler: Handler = app.exception_handlers[HTTPException]

    async def http_handler(request: Request, exc: Exception) -> Response:
        # PaddleX answers any unreadable input with "Invalid input file" and logs the reason;
        # put the reason (e.g. "Failed to decode image bytes") in the answer too.
        assert isinstance(exc, HTTPException)
        if exc.detail == "Invalid input file" and exc.__cause__ is not None:
            exc = HTTPException(exc.status_code, f"Invalid input file: {exc.__cause__}")
        return await paddlex_http_handler(request, exc)

    async def unexpected_handler(request: Request, exc: Exception) -> JSONResponse:
        # Same shape as PaddleX's handler, but say what went wrong instead of only
        # "Internal server error"; the traceback goes to the log with the logId.
        log_id = await _body_log_id(request)
        text = f"{type(exc).__name__}: {exc}"
        if len(text) > 500:
            text = text[:500] + "..."
        if request.url.path == RESTRUCTURE_PATH and isinstance(exc, _MALFORMED_PAGE_ERRORS):
            # Its only input is the client's pages: no VLM, no files.
            logger.info("rejected %s (logId %s): %s", RESTRUCTURE_PATH, log_id, text)
            return error_response(
                422,
                f"a page's prunedResult cannot be restructured ({text}): send each page's "
                "prunedResult exactly as /layout-parsing returned it",
                log_id,
            )
        logger.error("unhandled error (logId %s)", log_id, exc_info=exc)
        return error_response(500, f"Internal server error ({text})", log_id)

    app.add_exception_handler(HTTPException, http_handler)
    app.add_exception_handler(Exception, unexpected_handler)
    # Registered per class too, so that Starlette's ExceptionMiddleware answers them and a
    # client's malformed page is not also logged as a crash by ServerErrorMiddleware.
    for error_class in _MALFORMED_PAGE_ERRORS:
        app.add_exception_handler(error_class, unexpected_handler)


def _add_vlm_health(app: FastAPI, clients: list[Any], target: VLMTarget) -> None:
    async def check_vlm() -> JSONResponse:
        for client in clients:
            failure = await probe(client, target)
            if failure is not None:
                return error_response(failure.status, failure.message)
        model = target.model_name or getattr(clients[0], "_model_name", "?")
        message = f"VLM ready: {target.server_url} serves {model!r}"
        return JSONResponse({"logId": new_log_id(), "errorCode": 0, "errorMsg": message})

    app.add_api_route(VLM_HEALTH_PATH, check_vlm, methods=["GET"], operation_id="checkVlm")


def build_app(
    pipeline: Any,
    pipeline_config: Mapping[str, Any],
    settings: Settings,
    target: VLMTarget,
) -> FastAPI:
    """Create the app exactly as ``paddlex --serve`` does, then add our layer."""
    from paddlex.inference.serving.basic_serving import create_pipeline_app

    tracker = FailureTracker()
    clients = genai_clients(pipeline)
    if not clients:
        raise RuntimeError("the pipeline has no VLM client (genai_config backend not a server?)")
    request_timeout = settings.vlm_request_timeout_s or target.timeout_s or PADDLEX_CALL_TIMEOUT_S
    for client in clients:
        install_error_translation(
            client,
            target,
            tracker,
            request_timeout_s=request_timeout,
            connect_timeout_s=settings.vlm_connect_timeout_s,
        )
    app: FastAPI = create_pipeline_app(GuardedPipeline(pipeline, tracker), dict(pipeline_config))
    _install_handlers(app)
    _add_vlm_health(app, clients, target)
    app.add_middleware(
        RequestGuard,
        max_body_bytes=settings.max_upload_bytes,
        allow_file_urls=settings.allow_file_urls,
        max_new_tokens=settings.max_new_tokens,
        caps=capabilities(pipeline),
    )
    return app
