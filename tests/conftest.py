"""Shared test settings: where the repository is, and which base images the stack tests use."""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def bases(request: pytest.FixtureRequest) -> str:
    return request.config.getoption("--bases")
