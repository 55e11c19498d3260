"""VLM server failures turned into answers that name the server, instead of a bare 500.

PaddleX calls the VLM through an ``openai.AsyncOpenAI`` client owned by its ``GenAIClient``,
on a background event loop. With ``use_queues: True`` (the default in the PaddleOCR-VL configs)
the failure reaches the request only as ``RuntimeError("Exception from the 'vlm' worker: ...")``
with the original exception dropped, so the client's ``chat.completions.create`` is wrapped to
record a description of the first failure, and the pipeline's ``predict`` is wrapped to turn
that record into an HTTP error when the call fails.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import openai
from starlette.exceptions import HTTPException

from .config import VLMTarget

logger = logging.getLogger("pvd_api")

PADDLEX_CALL_TIMEOUT_S = 600.0  # what PaddleX passes on every chat completion
PROBE_TIMEOUT_S = 5.0  # GET /health/vlm


@dataclass(frozen=True)
class VLMFailure:
    status: int
    message: str


class VLMError(HTTPException):
    """Rendered by PaddleX's own HTTPException handler: {"logId", "errorCode", "errorMsg"}."""


class FailureTracker:
    """The first VLM failure seen during the current pipeline call.

    PaddleX serves pipeline calls one at a time by default
    (PADDLE_PDX_SERVING_SERIAL_PIPELINE_CALLS), so one slot per pipeline is exact; with
    parallel calls a failure could be reported on a neighbouring request, which has hit the same
    VLM problem anyway.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failure: VLMFailure | None = None

    def reset(self) -> None:
        with self._lock:
            self._failure = None

    def record(self, failure: VLMFailure) -> None:
        with self._lock:
            if self._failure is None:
                self._failure = failure

    def take(self) -> VLMFailure | None:
        with self._lock:
            failure, self._failure = self._failure, None
            return failure


def _root_cause(exc: BaseException) -> str:
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        nxt = exc.__cause__ or exc.__context__
        if nxt is None:
            break
        exc = nxt
    return str(exc) or type(exc).__name__


def _vlm_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"]
        if isinstance(error, str):
            return error
    return exc.message


def describe(
    exc: openai.OpenAIError,
    target: VLMTarget,
    model: str,
    *,
    timeout_s: float,
    connect_timeout_s: float | None = None,
    served: list[str] | None = None,
) -> VLMFailure:
    url = target.server_url
    where = f"the VLM server at {url} ({target.backend}, model {model!r})"
    if isinstance(exc, openai.APITimeoutError):
        limits = f"{timeout_s:g} s (VLM_REQUEST_TIMEOUT_S)"
        if connect_timeout_s is not None:
            limits += f", connecting {connect_timeout_s:g} s (VLM_CONNECT_TIMEOUT_S)"
        return VLMFailure(504, f"No answer in time from {where}: the limits are {limits}")
    if isinstance(exc, openai.APIConnectionError):
        return VLMFailure(
            503,
            f"Cannot reach the VLM server at {url}: {_root_cause(exc)}. Check that it is "
            "running and healthy; it refuses connections while it loads the model",
        )
    if isinstance(exc, openai.NotFoundError):
        served_text = (
            f"it serves {', '.join(map(repr, served))}" if served else "its model list is unknown"
        )
        return VLMFailure(
            502,
            f"The VLM server at {url} does not serve the model {model!r} that this server "
            f"asks for ({served_text}; it answered 404: {_vlm_message(exc)}). Make the names "
            "agree: client_kwargs.model_name in the pipeline config, --served-model-name (vLLM) "
            "or --alias (llama-server) there",
        )
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return VLMFailure(
            502,
            f"The VLM server at {url} refused the API key ({exc.status_code}): set the same key "
            "in client_kwargs.api_key as on the VLM server",
        )
    if isinstance(exc, openai.APIStatusError):
        code = exc.status_code
        message = f"The VLM server at {url} answered {code}: {_vlm_message(exc)}"
        if code in (400, 422):
            # The request PaddleX built from this one was refused, e.g. maxNewTokens beyond the
            # model's context: the client can change it.
            return VLMFailure(
                422, message + " (check maxNewTokens, minPixels, maxPixels, temperature, topP)"
            )
        return VLMFailure(503 if code in (429, 503) else 502, message)
    return VLMFailure(502, f"Bad answer from {where}: {type(exc).__name__}: {exc}")


async def _served_models(client: openai.AsyncOpenAI) -> list[str] | None:
    try:
        page = await client.with_options(max_retries=0, timeout=5.0).models.list()
    except openai.OpenAIError:
        return None
    return [model.id for model in page.data]


def install_error_translation(
    genai_client: Any,
    target: VLMTarget,
    tracker: FailureTracker,
    *,
    request_timeout_s: float,
    connect_timeout_s: float,
) -> None:
    """Wrap the client's chat.completions.create: record failures, apply our timeouts.

    PaddleX passes ``timeout=600`` on every call, which also makes the connect timeout 600 s
    (a VLM host that drops packets would hold each request for 10 minutes); it is replaced by
    ``openai.Timeout(request_timeout_s, connect=connect_timeout_s)``.
    """
    openai_client: openai.AsyncOpenAI = genai_client.openai_client
    model = target.model_name or getattr(genai_client, "_model_name", "?")
    completions = openai_client.chat.completions
    original = completions.create
    timeout = openai.Timeout(request_timeout_s, connect=connect_timeout_s)

    async def create(*args: Any, **kwargs: Any) -> Any:
        kwargs["timeout"] = timeout
        try:
            return await original(*args, **kwargs)
        except openai.OpenAIError as exc:
            served = (
                await _served_models(openai_client)
                if isinstance(exc, openai.NotFoundError)
                else None
            )
            failure = describe(
                exc,
                target,
                model,
                timeout_s=request_timeout_s,
                connect_timeout_s=connect_timeout_s,
                served=served,
            )
            tracker.record(failure)
            raise

    completions.create = create  # type: ignore[method-assign]


class GuardedPipeline:
    """Delegates to the PaddleX pipeline; turns a recorded VLM failure into a VLMError."""

    def __init__(self, pipeline: Any, tracker: FailureTracker) -> None:
        self._pipeline = pipeline
        self._tracker = tracker

    def predict(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        self._tracker.reset()
        try:
            yield from self._pipeline.predict(*args, **kwargs)
        except Exception as exc:
            failure = self._tracker.take()
            if failure is None:
                raise
            logger.error("VLM call failed: %s (%s)", failure.message, exc)
            raise VLMError(failure.status, failure.message) from exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pipeline, name)


def genai_clients(pipeline: Any) -> list[Any]:
    """The GenAIClient of every internal pipeline (one per device)."""
    if getattr(pipeline, "multi_device_inference", False):
        inner = list(pipeline._executor.pipelines)
    else:
        inner = [pipeline]
    clients = []
    for item in inner:
        model = getattr(item, "vl_rec_model", None)
        client = getattr(model, "genai_client", None)
        if client is not None:
            clients.append(client)
    return clients


async def probe(genai_client: Any, target: VLMTarget) -> VLMFailure | None:
    """Ask the VLM for its model list; None when it serves the model PaddleX will ask for."""
    from paddlex.inference.models.common.genai import run_async

    openai_client: openai.AsyncOpenAI = genai_client.openai_client
    model = target.model_name or getattr(genai_client, "_model_name", "?")

    async def list_models() -> Any:
        return await openai_client.with_options(
            max_retries=0, timeout=PROBE_TIMEOUT_S
        ).models.list()

    # The client belongs to PaddleX's background event loop: run the call there.
    future = run_async(list_models(), return_future=True)
    try:
        page = await asyncio.wrap_future(future)
    except openai.APITimeoutError:
        return VLMFailure(
            503,
            f"No answer from the VLM server at {target.server_url} within {PROBE_TIMEOUT_S:g} s "
            "(is its name resolvable and the server up?)",
        )
    except openai.OpenAIError as exc:
        failure = describe(exc, target, model, timeout_s=PROBE_TIMEOUT_S)
        return VLMFailure(503, failure.message)
    served = [item.id for item in page.data]
    if model not in served:
        return VLMFailure(
            503,
            f"The VLM server at {target.server_url} is up but does not serve {model!r} "
            f"(it serves {', '.join(map(repr, served)) or 'nothing'})",
        )
    return None
