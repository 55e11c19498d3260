"""scripts/bench run briefly against the CPU stack: it exits 0 and writes its JSON and chart.

Only the stack's API URL is used; timings are recorded, never asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from stack import Stack

pytestmark = pytest.mark.stack


def test_bench_runs_against_the_stack(cpu_stack: Stack, tmp_path: Path) -> None:
    out = tmp_path / "bench"
    command = [sys.executable, str(REPO / "scripts" / "bench"), "--api-url", cpu_stack.api_url]
    command += ["--concurrency", "1,2", "--requests", "2", "--warmup", "1"]
    command += ["--generate", "256x256,pdf:2", "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr

    report = json.loads((out / "bench.json").read_text())
    assert {"settings", "inputs", "environment", "results"} <= report.keys()
    assert [row["concurrency"] for row in report["results"]] == [1, 2]
    for row in report["results"]:
        assert row["target"] == "api"
        assert (row["requests"], row["succeeded"], row["errors"]) == (2, 2, 0)
        # One image page and one two-page PDF per level: three pages, whatever the order.
        assert row["pages"] == 3
        assert row["pages_per_min"] > 0
        assert {"p50", "p95", "p99"} <= row["latency_s"].keys()
        assert all(row["latency_s"][share] > 0 for share in ("p50", "p95", "p99"))
    chart = (out / "bench.png").read_bytes()
    assert chart.startswith(b"\x89PNG\r\n\x1a\n") and len(chart) > 1000
