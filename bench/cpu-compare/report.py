#!/usr/bin/env python3
"""Markdown table of a CPU-comparison run: one row per configuration and page, medians of the
timed runs, peak memory, ratios to llama.cpp F16 (the bundle's default) and the load average.

    python report.py RESULTS_DIR > table.md
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

BASELINE = "a-llamacpp-F16"
HEADER = (
    "| configuration | page | s/page | vision+prefill s | decode s | decode ms/token "
    "| prompt tokens | peak RSS MiB | s/page vs (a) F16 | peak RSS vs (a) F16 "
    "| load 1-min before → after |"
)


def load(results: Path) -> list[dict[str, Any]]:
    records = [json.loads(path.read_text()) for path in sorted(results.glob("*.json"))]
    if not records:
        raise SystemExit(f"no results in {results}")
    return records


def row(record: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    median = record["median"]
    per_token_ms = 1000 * median["decode_s"] / median["generated_tokens"]
    if baseline is None:
        speed = memory = "-"
    else:
        speed = f"{median['total_s'] / baseline['median']['total_s']:.2f}x"
        memory = f"{record['peak_rss_mib'] / baseline['peak_rss_mib']:.2f}x"
    load = f"{record['loadavg_before'][0]:.2f} → {record['loadavg_after'][0]:.2f}"
    cells = [
        record["config"],
        record["page"],
        f"{median['total_s']:.2f}",
        f"{median['prefill_s']:.2f}",
        f"{median['decode_s']:.2f}",
        f"{per_token_ms:.0f}",
        f"{median['prompt_tokens']:.0f}",
        f"{record['peak_rss_mib']:.0f}",
        speed,
        memory,
        load,
    ]
    return "| " + " | ".join(cells) + " |"


def main() -> int:
    records = load(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/pvd-bench/results"))
    baselines = {r["page"]: r for r in records if r["config"] == BASELINE}
    print(HEADER)
    print("|" + "---|" * HEADER.count(" | ") + "---|")
    for page in sorted({r["page"] for r in records}, key=lambda p: int(p.split("x")[0])):
        for record in sorted((r for r in records if r["page"] == page), key=lambda r: r["config"]):
            print(row(record, baselines.get(page)))
    runs = {len(r["runs"]) for r in records}
    print(f"\nMedians of {'/'.join(map(str, sorted(runs)))} timed runs after one warm-up.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
