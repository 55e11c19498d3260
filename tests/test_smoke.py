"""scripts/smoke, as users run it, against the running CPU stack and against a stopped one."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO
from stack import API, Stack, clean_environment

pytestmark = pytest.mark.stack


def smoke(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "scripts/smoke"), "--env-file", str(stack.env_file), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=clean_environment(),
    )


def test_smoke_parses_the_sample_page(cpu_stack: Stack) -> None:
    result = smoke(cpu_stack, "--wait", "120")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "paddleocr-vl-api: healthy" in result.stderr  # the progress line
    assert "--- page 1 ---" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("OK: 1 page(s) in ")


def test_smoke_fails_clearly_on_a_stopped_stack(cpu_stack: Stack) -> None:
    cpu_stack.compose("stop", API)
    try:
        result = smoke(cpu_stack, "--wait", "60")
    finally:
        cpu_stack.compose("start", API)
    assert result.returncode == 1
    last = result.stderr.rstrip().splitlines()[-1]
    assert last == (
        "FAILED: paddleocr-vl-api not running: start the stack with `docker compose up -d --wait`"
        "; if it stopped by itself, `docker compose logs paddleocr-vl-api` says why"
    )
    cpu_stack.wait_for_health(API, "healthy", timeout=240)
