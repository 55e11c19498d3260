"""Shared test settings: where the repository is, which base images the stack tests use, and the
two stacks the end-to-end tests share (booted once per session, taken down at the end)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--bases",
        choices=["local", "upstream"],
        default="upstream",
        help="upstream: the real vLLM / llama.cpp / Python images (pulled); local: the stand-ins "
        "that tests/standins/build makes where no registry can be reached (CI)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that take a stack down run after every other test that may use it."""
    items.sort(key=lambda item: item.get_closest_marker("takes_stack_down") is not None)


@pytest.fixture(scope="session")
def bases(request: pytest.FixtureRequest) -> str:
    return request.config.getoption("--bases")


@pytest.fixture(scope="session")
def cpu_stack(
    request: pytest.FixtureRequest, bases: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator:
    """compose.yaml + compose.cpu.yaml: llama-server with the tiny GGUF pair, PaddleX serving."""
    from stack import CPU_TEST_SETTINGS, run_stack

    settings = CPU_TEST_SETTINGS | {"API_MAX_UPLOAD_MB": "2"}
    yield from run_stack(request, "cpu", bases, tmp_path_factory.mktemp("cpu"), settings, [])


@pytest.fixture(scope="session")
def cuda_stack(
    request: pytest.FixtureRequest, bases: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator:
    """compose.yaml: vLLM serving the tiny HF model, PaddleX serving. With --bases=local, vLLM
    is its CPU build of the same release, without the GPU reservations (no GPU here) and with
    --enforce-eager (that image has no C++ compiler for torch.compile); the API uses CPU paddle
    (Paddle's GPU wheels cannot be had here)."""
    from stack import run_stack

    settings = {
        "VLLM_MODEL": "hf",
        "USE_LAYOUT_DETECTION": "false",
        "VLM_MAX_CONCURRENCY": "2",
        "VLLM_MAX_MODEL_LEN": "4096",
        "VLLM_SHM_SIZE": "1g",
        "VLM_MAX_OUTPUT_TOKENS": "24",
    }
    extra: list[str] = []
    if bases == "local":
        settings |= {"API_PADDLE": "cpu", "VLM_EXTRA_ARGS": "--enforce-eager"}
        extra = ["tests/compose.no-gpu.yaml"]
    yield from run_stack(request, "cuda", bases, tmp_path_factory.mktemp("cuda"), settings, extra)
