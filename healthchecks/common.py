"""What both probes share: a hard deadline, one-line verdicts, HTTP calls that name their failure.

A probe prints exactly one line and exits 0 (healthy) or 1 (unhealthy). Docker keeps that line
in `docker inspect` (State.Health.Log), so it must say what is wrong and how to fix it.
"""

from __future__ import annotations

import base64
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import httpx

# 64x32 white PNG with a black bar: small enough for any engine, still a real image.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAEAAAAAgCAIAAAAt/+nTAAAAOklEQVR42u3VwQ0AMAjEsNt/aToF"
    "iApnA7+S+rwAAAAAAAAAADQAsiwAAAAAgFmAEwMAAAAAAAAcADybZm2eFc8O3wAAAABJRU5ErkJggg=="
)


class ProbeFailure(Exception):
    """An unhealthy verdict: the message is the one line the user sees."""


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    return float(value) if value else default


def env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    return value not in ("0", "false", "no", "off")


class Deadline:
    """The time a probe has left; every HTTP call gets at most what remains."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise ProbeFailure(f"probe ran out of its {self.seconds:g} s budget")
        return left

    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.left())


def describe_http_error(url: str, error: httpx.HTTPError) -> str:
    """Turn an httpx exception into words a user can act on."""
    if isinstance(error, httpx.ConnectError):
        text = str(error)
        if "Name or service not known" in text or "Temporary failure in name resolution" in text:
            host = httpx.URL(url).host
            return f"cannot resolve host '{host}' of {url}"
        return f"nothing accepts connections at {url} ({text or 'connection refused'})"
    if isinstance(error, httpx.TimeoutException):
        return f"no answer from {url} in time (the server hangs or is overloaded)"
    return f"{url}: {type(error).__name__}: {error}"


def request(
    client: httpx.Client, deadline: Deadline, method: str, url: str, **kwargs: object
) -> httpx.Response:
    """One HTTP call within the deadline; a transport failure becomes a ProbeFailure."""
    try:
        return client.request(method, url, timeout=deadline.timeout(), **kwargs)  # type: ignore[arg-type]
    except httpx.HTTPError as error:
        raise ProbeFailure(describe_http_error(url, error)) from error


def json_of(response: httpx.Response) -> dict:
    """The JSON object of an answer, or a ProbeFailure naming what came instead."""
    try:
        value = response.json()
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ProbeFailure(f"{response.url} answered something that is not a JSON object")
    return value


def model_ids(response: httpx.Response) -> list[str]:
    """The model names of an OpenAI /v1/models answer."""
    data = json_of(response).get("data")
    if not isinstance(data, list):
        raise ProbeFailure(f"{response.url} answered without a model list: is it an OpenAI API?")
    return [str(entry.get("id")) for entry in data if isinstance(entry, dict)]


def first_success_marker(name: str) -> Path:
    """Where a probe remembers its first full success. /dev/shm is emptied when the container
    restarts, so a restarted engine proves itself again."""
    directory = Path(os.environ.get("PROBE_STATE_DIR", "/dev/shm"))
    return directory / f"paddleocr-vl-{name}-probe.ok"


def run(probe: Callable[[Deadline], str], budget_env: str, default_budget: float) -> NoReturn:
    """Run a probe under a hard deadline and exit with Docker's healthcheck convention.

    httpx timeouts do not cover name resolution; the alarm ends any Python code that runs
    past the budget. A call blocked inside C (getaddrinfo) cannot be interrupted: there the
    healthcheck's own timeout, set above the budget in the compose files, is the last resort.
    """
    budget = env_float(budget_env, default_budget)

    def on_alarm(_signum: int, _frame: object) -> None:
        raise ProbeFailure(f"probe gave up after {budget:g} s (name resolution or a call hung)")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, budget + 0.5)
    try:
        verdict = probe(Deadline(budget))
    except ProbeFailure as failure:
        print(f"UNHEALTHY: {failure}", flush=True)
        sys.exit(1)
    except Exception as error:  # an answer or file we did not expect: still one line
        print(f"UNHEALTHY: probe failed: {type(error).__name__}: {error}", flush=True)
        sys.exit(1)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    print(f"healthy: {verdict}", flush=True)
    sys.exit(0)
