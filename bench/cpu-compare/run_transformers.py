#!/usr/bin/env python3
"""(b) transformers / PyTorch on the CPU: PaddleOCRVLForConditionalGeneration from a Hugging Face
model folder, one page, greedy, exactly --tokens new tokens (min_new_tokens = max_new_tokens).

Vision + prefill is the time until the first token's logits (one forward pass over the image
and the prompt); decoding is the rest. Peak memory is this process's VmHWM.

    python run_transformers.py --model /tmp/pvd-bench/real/hf --dtype float32 --page 640x480 \
        --out results/transformers-float32-640x480.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from common import (
    PROMPT,
    Timer,
    add_common_arguments,
    loadavg,
    memory_mib,
    page_path,
    write_result,
)
from PIL import Image
from transformers import (
    AutoProcessor,
    LogitsProcessor,
    LogitsProcessorList,
    PaddleOCRVLForConditionalGeneration,
)


class StepClock(LogitsProcessor):
    """Notes the time each new token's logits arrive: the first after vision + prefill."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        self.times.append(time.perf_counter())
        return scores


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="Hugging Face model folder")
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    add_common_arguments(parser, "transformers <dtype>")
    return parser.parse_args()


def one_run(
    model: PaddleOCRVLForConditionalGeneration,
    processor: AutoProcessor,
    image: Image.Image,
    tokens: int,
) -> dict[str, float]:
    timer = Timer()
    messages = [
        {
            "role": "user",
            "content": [{"type": "image", "image": image}, {"type": "text", "text": PROMPT}],
        }
    ]
    inputs = processor.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
    )
    inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
    clock = StepClock()
    started = time.perf_counter()
    with torch.inference_mode():
        output = model.generate(
            **inputs,
            max_new_tokens=tokens,
            min_new_tokens=tokens,
            do_sample=False,
            logits_processor=LogitsProcessorList([clock]),
        )
    total = timer.seconds()
    generated = output.shape[1] - inputs["input_ids"].shape[1]
    if generated != tokens:
        raise SystemExit(f"generated {generated} tokens, not {tokens}")
    image_tokens = int((inputs["input_ids"] == model.config.image_token_id).sum())
    return {
        "total_s": total,
        "prefill_s": clock.times[0] - started,
        "decode_s": clock.times[-1] - clock.times[0],
        "prompt_tokens": inputs["input_ids"].shape[1],
        "image_tokens": image_tokens,
        "generated_tokens": generated,
    }


def main() -> int:
    args = parse_args()
    torch.set_num_threads(args.threads)
    load_before = loadavg()
    dtype = getattr(torch, args.dtype)
    processor = AutoProcessor.from_pretrained(args.model)
    model = PaddleOCRVLForConditionalGeneration.from_pretrained(args.model, dtype=dtype).eval()
    image = Image.open(page_path(args.pages_dir, args.page)).convert("RGB")
    one_run(model, processor, image, args.tokens)  # warm-up
    runs = [one_run(model, processor, image, args.tokens) for _ in range(args.runs)]
    write_result(
        args,
        {
            "config": args.config or f"transformers {args.dtype}",
            "engine": f"transformers {sys.modules['transformers'].__version__}, "
            f"torch {torch.__version__}",
            "dtype": args.dtype,
            **memory_mib(),
            "peak_rss_what": "VmHWM of the Python process",
        },
        runs,
        load_before,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
