"""Shared by the three CPU-comparison runners: the test pages, timing records, peak memory.

Every runner measures one configuration on one page: a warm-up, then --runs timed runs, each
generating exactly --tokens tokens (end-of-sequence ignored), and writes one JSON file with the
per-run timings, their medians, the peak resident memory and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

# The pages scripts/bench and the tests use (scripts/ is a folder of tools, not a package).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from sample_pages import page_png

PAGE_SIZES = {"256x256": (256, 256), "640x480": (640, 480)}
PROMPT = "OCR:"


def page_path(pages_dir: Path, name: str) -> Path:
    """The PNG of a named page size, written on first use."""
    path = pages_dir / f"page-{name}.png"
    if not path.is_file():
        pages_dir.mkdir(parents=True, exist_ok=True)
        path.write_bytes(page_png(*PAGE_SIZES[name]))
    return path


def add_common_arguments(parser: argparse.ArgumentParser, default_config: str) -> None:
    """The options every runner takes: the page, how many runs of how many tokens, threads,
    the configuration's name in the results and where to write them."""
    parser.add_argument("--page", choices=sorted(PAGE_SIZES), required=True)
    parser.add_argument("--pages-dir", type=Path, default=Path("/tmp/pvd-bench/pages"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=64, help="tokens generated per page")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--config", help=f"name in the results (default: {default_config})")
    parser.add_argument("--out", type=Path, required=True)


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def memory_mib(pid: int | str = "self") -> dict[str, float]:
    """Peak (VmHWM) and current (VmRSS) resident memory of a process on this host, MiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            values[key] = int(rest.split()[0]) / 1024
    return {"peak_rss_mib": values["VmHWM"], "rss_at_end_mib": values["VmRSS"]}


class Timer:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self.started


def summarise(runs: list[dict[str, float]]) -> dict[str, float]:
    """Median of every numeric field over the runs."""
    keys = sorted({key for run in runs for key in run})
    return {key: statistics.median(run[key] for run in runs if key in run) for key in keys}


def write_result(
    args: argparse.Namespace,
    record: dict[str, Any],
    runs: list[dict[str, float]],
    load_before: list[float],
) -> None:
    """Write one configuration's result to args.out, with what every runner records alike: the
    page, threads, the runs and their medians, the load average and the machine; print a line."""
    record |= {
        "page": args.page,
        "threads": args.threads,
        "runs": runs,
        "median": summarise(runs),
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    medians = record["median"]
    print(
        f"{record['config']:<28} {record['page']:>8}: total {medians['total_s']:.2f} s, "
        f"vision+prefill {medians.get('prefill_s', float('nan')):.2f} s, "
        f"decode {medians.get('decode_s', float('nan')):.2f} s, "
        f"peak {record['peak_rss_mib']:.0f} MiB"
    )
