"""Shared by the three CPU-comparison runners: the test pages, timing records, peak memory.

Every runner measures one configuration on one page: a warm-up, then --runs timed runs, each
generating exactly --tokens tokens (end-of-sequence ignored), and writes one JSON file with the
per-run timings, their medians, the peak resident memory and the load average before and after.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import struct
import time
import zlib
from pathlib import Path
from typing import Any

PAGE_SIZES = {"256x256": (256, 256), "640x480": (640, 480)}
PROMPT = "OCR:"
WHITE, DARK = b"\xff\xff\xff", b"\x20\x20\x20"


def page_png(width: int, height: int) -> bytes:
    """An RGB PNG that looks like a page: white, with dark bars where lines of text would be."""
    rows = bytearray()
    for y in range(height):
        row = bytearray(WHITE * width)
        if (y // 12) % 2 == 1 and 16 <= y < height - 16:
            end = width - 16 - (y // 12 * 37) % max(1, width // 3)
            if end > 16:
                row[3 * 16 : 3 * end] = DARK * (end - 16)
        rows += b"\x00" + row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 6))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def page_path(pages_dir: Path, name: str) -> Path:
    """The PNG of a named page size, written on first use."""
    path = pages_dir / f"page-{name}.png"
    if not path.is_file():
        pages_dir.mkdir(parents=True, exist_ok=True)
        path.write_bytes(page_png(*PAGE_SIZES[name]))
    return path


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


def write_result(path: Path, record: dict[str, Any]) -> None:
    record["machine"] = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    medians = record["median"]
    print(
        f"{record['config']:<28} {record['page']:>8}: total {medians['total_s']:.2f} s, "
        f"vision+prefill {medians.get('prefill_s', float('nan')):.2f} s, "
        f"decode {medians.get('decode_s', float('nan')):.2f} s, "
        f"peak {record['peak_rss_mib']:.0f} MiB"
    )
