"""The CPU stack (compose.yaml + compose.cpu.yaml) booted for real: llama.cpp's llama-server with
the tiny model converted by llama.cpp's own converter, and PaddleX serving in front of it.

What stands in for what: the upstream llama.cpp and Python images are replaced by stand-ins built
from the same sources and versions (with --bases=local); the official GGUF pair by the tiny
random-weight model (its answers are noise, so nothing here checks recognised text); layout
detection is off because no layout weights can be downloaded here. Everything else is the
bundle as users run it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

import samples
from stack import API, VLM, Stack

pytestmark = pytest.mark.stack

UPLOAD_LIMIT_MB = 2


@pytest.fixture(scope="module")
def stack(
    request: pytest.FixtureRequest, bases: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    settings = {
        "LLAMACPP_MODEL": "gguf/model.gguf",
        "LLAMACPP_MMPROJ": "gguf/mmproj.gguf",
        "USE_LAYOUT_DETECTION": "false",
        "VLM_MAX_CONCURRENCY": "2",
        "LLAMACPP_CTX_PER_REQUEST": "4096",
        "VLM_MAX_OUTPUT_TOKENS": "24",
        "API_MAX_UPLOAD_MB": str(UPLOAD_LIMIT_MB),
    }
    stack = Stack.create("cpu", bases, tmp_path_factory.mktemp("cpu"), settings, extra=[])
    failures_before = request.session.testsfailed
    stack.build()
    try:
        stack.up(wait_timeout=600)
        yield stack
    finally:
        if request.session.testsfailed > failures_before:
            print(f"\n===== logs of {stack.project} =====\n{stack.logs()}")
        stack.down()


def encoded(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_api_became_healthy_only_after_the_vlm(stack: Stack) -> None:
    events = stack.events()

    def first(service: str, status: str) -> float:
        times = [
            e["timeNano"]
            for e in events
            if e["Actor"]["Attributes"].get("com.docker.compose.service") == service
            and e["Action"] == status
        ]
        assert times, f"no '{status}' event for {service}"
        return min(times)

    vlm_healthy = first(VLM, "health_status: healthy")
    assert first(API, "start") > vlm_healthy
    assert first(API, "health_status: healthy") > vlm_healthy
    assert stack.health(VLM) == stack.health(API) == "healthy"


def test_health_answers_on_the_published_port(stack: Stack) -> None:
    response = httpx.get(f"{stack.api_url}/health", timeout=10)
    assert response.status_code == 200
    assert response.json()["errorCode"] == 0


PROMPT_TOKENS = "llamacpp:prompt_tokens_total"


def test_png_gives_one_result_with_markdown(stack: Stack) -> None:
    calls, prompts = len(stack.api_calls_to_vlm()), stack.vlm_metrics()[PROMPT_TOKENS]
    response = stack.post("/layout-parsing", {"file": encoded(samples.png()), "fileType": 1})
    assert response.status_code == 200, response.text
    (page,) = response.json()["result"]["layoutParsingResults"]
    assert isinstance(page["markdown"]["text"], str)
    assert "prunedResult" in page
    # The API called the VLM by its service name, and llama-server did the work.
    new_calls = stack.api_calls_to_vlm()[calls:]
    assert new_calls and all('"HTTP/1.1 200 OK"' in line for line in new_calls), new_calls
    assert stack.vlm_metrics()[PROMPT_TOKENS] > prompts


def test_two_page_pdf_gives_two_results(stack: Stack) -> None:
    response = stack.post("/layout-parsing", {"file": encoded(samples.pdf(2)), "fileType": 0})
    assert response.status_code == 200, response.text
    pages = response.json()["result"]["layoutParsingResults"]
    assert len(pages) == 2
    assert all(isinstance(page["markdown"]["text"], str) for page in pages)


BAD_INPUTS = {
    "not an image": ({"file": encoded(b"just some text, not a picture"), "fileType": 1}, "image"),
    "corrupt PDF": ({"file": encoded(samples.pdf(2)[:150]), "fileType": 0}, "PDF"),
    "empty file": ({"file": "", "fileType": 1}, "empty"),
    "wrong fileType": ({"file": encoded(samples.png()), "fileType": 7}, "fileType"),
    "PNG sent as PDF": ({"file": encoded(samples.png()), "fileType": 0}, "fileType"),
    "not Base64": ({"file": "%%% not base64 %%%", "fileType": 1}, "Base64"),
    "URL refused": ({"file": "http://example.invalid/page.png", "fileType": 1}, "URL"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gets_a_clear_4xx(stack: Stack, case: str) -> None:
    body, word = BAD_INPUTS[case]
    response = stack.post("/layout-parsing", body, timeout=60)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    error = response.json()
    assert error["errorCode"] == response.status_code
    assert word.lower() in error["errorMsg"].lower(), error["errorMsg"]


def test_body_over_the_limit_gets_413(stack: Stack) -> None:
    oversized = "A" * (UPLOAD_LIMIT_MB * 1024 * 1024 + 1024)
    response = stack.post("/layout-parsing", {"file": oversized, "fileType": 1}, timeout=60)
    assert response.status_code == 413
    assert f"{UPLOAD_LIMIT_MB:.1f} MB" in response.json()["errorMsg"]


def test_stack_is_still_healthy_after_bad_input(stack: Stack) -> None:
    assert httpx.get(f"{stack.api_url}/health", timeout=10).status_code == 200
    response = stack.post("/layout-parsing", {"file": encoded(samples.png()), "fileType": 1})
    assert response.status_code == 200
    assert stack.health(API) == stack.health(VLM) == "healthy"


def healthcheck_window(stack: Stack, service: str) -> float:
    """interval x retries + timeout: how long Docker may take to call a service unhealthy."""
    check = stack.inspect(service)["Config"]["Healthcheck"]
    nanos = check["Interval"] * check["Retries"] + check["Timeout"]
    return nanos / 1e9


def test_stopped_vlm_makes_api_unhealthy_and_start_recovers(stack: Stack) -> None:
    window = healthcheck_window(stack, API)
    stack.compose("stop", VLM)
    try:
        took = stack.wait_for_health(API, "unhealthy", timeout=window + 15)
        assert took <= window + 15
        assert "VLM unreachable" in stack.last_probe_output(API)
        response = stack.post("/layout-parsing", {"file": encoded(samples.png()), "fileType": 1})
        assert response.status_code in (502, 503)
        assert "paddleocr-vlm-server" in response.json()["errorMsg"]
    finally:
        stack.compose("start", VLM)
    stack.wait_for_health(VLM, "healthy", timeout=180)
    stack.wait_for_health(API, "healthy", timeout=window + 60)


def test_down_leaves_nothing_running(stack: Stack) -> None:
    stack.down()
    assert stack.containers() == []
    assert stack.networks() == []
