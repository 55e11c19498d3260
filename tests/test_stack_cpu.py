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

import httpx
import pytest

import samples
from stack import API, VLM, Stack

pytestmark = pytest.mark.stack

UPLOAD_LIMIT_MB = 2  # API_MAX_UPLOAD_MB of the cpu_stack fixture (conftest.py)


def encoded(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_api_became_healthy_only_after_the_vlm(cpu_stack: Stack) -> None:
    events = cpu_stack.events()

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
    assert cpu_stack.health(VLM) == cpu_stack.health(API) == "healthy"


def test_health_answers_on_the_published_port(cpu_stack: Stack) -> None:
    response = httpx.get(f"{cpu_stack.api_url}/health", timeout=10)
    assert response.status_code == 200
    assert response.json()["errorCode"] == 0


PROMPT_TOKENS = "llamacpp:prompt_tokens_total"


def test_png_gives_one_result_with_markdown(cpu_stack: Stack) -> None:
    calls, prompts = len(cpu_stack.api_calls_to_vlm()), cpu_stack.vlm_metrics()[PROMPT_TOKENS]
    response = cpu_stack.post("/layout-parsing", {"file": encoded(samples.png()), "fileType": 1})
    assert response.status_code == 200, response.text
    (page,) = response.json()["result"]["layoutParsingResults"]
    assert isinstance(page["markdown"]["text"], str)
    assert "prunedResult" in page
    # The API called the VLM by its service name, and llama-server did the work.
    new_calls = cpu_stack.api_calls_to_vlm()[calls:]
    assert new_calls and all('"HTTP/1.1 200 OK"' in line for line in new_calls), new_calls
    assert cpu_stack.vlm_metrics()[PROMPT_TOKENS] > prompts


def test_two_page_pdf_gives_two_results(cpu_stack: Stack) -> None:
    response = cpu_stack.post("/layout-parsing", {"file": encoded(samples.pdf(2)), "fileType": 0})
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
def test_bad_input_gets_a_clear_4xx(cpu_stack: Stack, case: str) -> None:
    body, word = BAD_INPUTS[case]
    response = cpu_stack.post("/layout-parsing", body, timeout=60)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    error = response.json()
    assert error["errorCode"] == response.status_code
    assert word.lower() in error["errorMsg"].lower(), error["errorMsg"]


def test_body_over_the_limit_gets_413(cpu_stack: Stack) -> None:
    oversized = "A" * (UPLOAD_LIMIT_MB * 1024 * 1024 + 1024)
    response = cpu_stack.post("/layout-parsing", {"file": oversized, "fileType": 1}, timeout=60)
    assert response.status_code == 413
    assert f"{UPLOAD_LIMIT_MB:.1f} MB" in response.json()["errorMsg"]


def test_stack_is_still_healthy_after_bad_input(cpu_stack: Stack) -> None:
    assert httpx.get(f"{cpu_stack.api_url}/health", timeout=10).status_code == 200
    response = cpu_stack.post("/layout-parsing", {"file": encoded(samples.png()), "fileType": 1})
    assert response.status_code == 200
    assert cpu_stack.health(API) == cpu_stack.health(VLM) == "healthy"


def healthcheck_window(cpu_stack: Stack, service: str) -> float:
    """interval x retries + timeout: how long Docker may take to call a service unhealthy."""
    check = cpu_stack.inspect(service)["Config"]["Healthcheck"]
    nanos = check["Interval"] * check["Retries"] + check["Timeout"]
    return nanos / 1e9


def test_stopped_vlm_makes_api_unhealthy_and_start_recovers(cpu_stack: Stack) -> None:
    window = healthcheck_window(cpu_stack, API)
    cpu_stack.compose("stop", VLM)
    try:
        took = cpu_stack.wait_for_health(API, "unhealthy", timeout=window + 15)
        assert took <= window + 15
        assert "VLM unreachable" in cpu_stack.last_probe_output(API)
        response = cpu_stack.post(
            "/layout-parsing", {"file": encoded(samples.png()), "fileType": 1}
        )
        # 503 when the name no longer resolves or nothing listens, 504 when resolution hangs.
        assert response.status_code in (503, 504)
        assert "http://paddleocr-vlm-server:8080/v1" in response.json()["errorMsg"]
    finally:
        cpu_stack.compose("start", VLM)
    cpu_stack.wait_for_health(VLM, "healthy", timeout=180)
    cpu_stack.wait_for_health(API, "healthy", timeout=window + 60)


@pytest.mark.takes_stack_down
def test_down_leaves_nothing_running(cpu_stack: Stack) -> None:
    cpu_stack.down()
    assert cpu_stack.containers() == []
    assert cpu_stack.networks() == []


@pytest.mark.parametrize("asked", [1000, 1e6])  # 1e6: a float PaddleX's schema takes as an int
def test_answer_length_is_capped(cpu_stack: Stack, asked: float) -> None:
    """VLM_MAX_OUTPUT_TOKENS (24 here) holds a request's maxNewTokens: the tiny model never
    stops by itself, so every answer runs to the cap and no further."""
    predicted = "llamacpp:tokens_predicted_total"
    before = cpu_stack.vlm_metrics()[predicted]
    body = {"file": encoded(samples.png()), "fileType": 1, "maxNewTokens": asked}
    response = cpu_stack.post("/layout-parsing", body)
    assert response.status_code == 200, response.text
    assert 0 < cpu_stack.vlm_metrics()[predicted] - before <= 24
