#!/usr/bin/env python3
"""(a) The bundle's CPU backend: llama.cpp's llama-server (text model + --mmproj) in a container.

Starts the server for one GGUF text model, sends one page with the prompt "OCR:" --runs times
(after a warm-up) through /v1/chat/completions with a fixed answer length (ignore_eos, no prompt
cache), and records llama-server's own timings: prompt_ms (image encoding + prefill) and
predicted_ms (decoding), the client's wall time, and the server process's peak RSS (VmHWM).

    DOCKER_HOST=... python run_llamacpp.py --gguf-dir DIR --model model-Q4_K_M.gguf \
        --page 640x480 --out results/llamacpp-Q4_K_M-640x480.json
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from common import (
    PROMPT,
    Timer,
    add_common_arguments,
    loadavg,
    memory_mib,
    page_path,
    write_result,
)

IMAGE = "standin/llama.cpp:server-b11434"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", default=IMAGE, help=f"llama.cpp server image ({IMAGE})")
    parser.add_argument("--gguf-dir", type=Path, required=True)
    parser.add_argument("--model", default="model.gguf", help="text model file in --gguf-dir")
    parser.add_argument("--mmproj", default="mmproj.gguf", help="vision projector in --gguf-dir")
    add_common_arguments(parser, "llama.cpp <model>")
    return parser.parse_args()


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout


def start_server(args: argparse.Namespace, name: str) -> str:
    """Run llama-server detached, published on a random loopback port; return its base URL."""
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    docker(
        "run", "-d", "--name", name, "-p", "127.0.0.1::8080",
        "-v", f"{args.gguf_dir.resolve()}:/m:ro", args.image,
        "--model", f"/m/{args.model}", "--mmproj", f"/m/{args.mmproj}", "--alias", "bench",
        "--host", "0.0.0.0", "--port", "8080", "--parallel", "1", "--ctx-size", "4096",
        "--threads", str(args.threads), "--threads-batch", str(args.threads),
    )  # fmt: skip
    port = docker("port", name, "8080").split(":")[-1].strip()
    return f"http://127.0.0.1:{port}"


def wait_ready(url: str, name: str, timeout: float = 300) -> None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(1)
    logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
    raise SystemExit(f"llama-server not ready after {timeout:.0f} s:\n{logs.stderr[-3000:]}")


def cpu_backend(pid: int) -> list[str]:
    """The CPU backend variants llama-server loaded (libggml-cpu-<variant>.so in its maps)."""
    maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
    return sorted({Path(line.split()[-1]).name for line in maps if "libggml-cpu" in line})


def ask(url: str, image: bytes, tokens: int) -> dict[str, Any]:
    data_uri = "data:image/png;base64," + base64.b64encode(image).decode()
    body = {
        "model": "bench",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": data_uri}},
                    {"type": "text", "text": PROMPT},
                ],
            }
        ],
        "max_tokens": tokens,
        "temperature": 0,
        "ignore_eos": True,  # fixed work: always `tokens` tokens, whatever the noise says
        "cache_prompt": False,  # every run encodes the image and prefills from scratch
    }
    request = urllib.request.Request(
        f"{url}/v1/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=1200) as response:
        return json.load(response)


def one_run(url: str, image: bytes, tokens: int) -> dict[str, float]:
    timer = Timer()
    answer = ask(url, image, tokens)
    total = timer.seconds()
    timings = answer["timings"]
    if timings["predicted_n"] != tokens:
        raise SystemExit(f"generated {timings['predicted_n']} tokens, not {tokens}")
    return {
        "total_s": total,
        "prefill_s": timings["prompt_ms"] / 1000,
        "decode_s": timings["predicted_ms"] / 1000,
        "prompt_tokens": timings["prompt_n"],
        "generated_tokens": timings["predicted_n"],
    }


def main() -> int:
    args = parse_args()
    config = args.config or f"llama.cpp {args.model}"
    name = f"pvd-bench-cmp-{Path(args.model).stem}-{args.page}".lower().replace("_", "-")
    image = page_path(args.pages_dir, args.page).read_bytes()
    load_before = loadavg()
    url = start_server(args, name)
    try:
        wait_ready(url, name)
        pid = int(docker("inspect", "--format", "{{.State.Pid}}", name))
        one_run(url, image, args.tokens)  # warm-up: first-touch page faults, thread pools
        runs = [one_run(url, image, args.tokens) for _ in range(args.runs)]
        memory = memory_mib(pid)
        backend = cpu_backend(pid)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    write_result(
        args,
        {
            "config": config,
            "engine": "llama-server (container)",
            "image": args.image,
            "model": args.model,
            "mmproj": args.mmproj,
            "cpu_backend": backend,
            **memory,
            "peak_rss_what": "VmHWM of the llama-server process",
        },
        runs,
        load_before,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
