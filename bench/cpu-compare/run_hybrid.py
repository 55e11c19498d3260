#!/usr/bin/env python3
"""(c) The hybrid design of the first community GGUF port of PaddleOCR-VL: the vision encoder and
projector run in PyTorch (weights from the Hugging Face folder), the text decoder in llama.cpp
through llama-cpp-python (a GGUF text model), fed with the image embeddings (llama_batch.embd).

Positions follow the model's M-RoPE exactly as llama.cpp's own mtmd does it: text tokens 1-D,
image tokens (t, row, column) from the position of the image, and the text after the image
continues at that position + max(rows, columns). Greedy argmax for exactly --tokens tokens (EOS
is never checked, so the work is fixed). Vision + prefill = PyTorch vision + llama.cpp prefill.

    python run_hybrid.py --model /tmp/pvd-bench/real/hf \
        --gguf /tmp/pvd-bench/real/gguf/model-Q4_K_M.gguf --page 640x480 \
        --out results/hybrid-Q4_K_M-640x480.json
"""

from __future__ import annotations

import argparse
import ctypes
import sys
from pathlib import Path
from typing import Any

import llama_cpp as lc
import numpy as np
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
from safetensors import safe_open
from transformers import AutoImageProcessor, PaddleOCRVLConfig
from transformers.models.paddleocr_vl.modeling_paddleocr_vl import (
    PaddleOCRProjector,
    PaddleOCRVisionModel,
)

# The prompt around the image, as PaddleOCR-VL's chat template writes it.
BEFORE_IMAGE = "<|begin_of_sentence|>User: <|IMAGE_START|>"
AFTER_IMAGE = f"<|IMAGE_END|>{PROMPT}\nAssistant: "
CHECKPOINT_PREFIXES = {"visual.": "visual.", "mlp_AR.": "projector."}
QUIET = lc.llama_log_callback(lambda level, text, user_data: None)  # llama.cpp's log: off


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="Hugging Face model folder")
    parser.add_argument("--gguf", type=Path, required=True, help="GGUF text model")
    parser.add_argument("--vision-dtype", choices=["float32", "bfloat16"], default="float32")
    add_common_arguments(parser, "hybrid <gguf>")
    return parser.parse_args()


# ----------------------------------------------------------------------------------------------
# Vision side: PyTorch
# ----------------------------------------------------------------------------------------------
class VisionTower(torch.nn.Module):
    """Only the vision encoder and the projector of PaddleOCR-VL (no text model in memory)."""

    def __init__(self, config: PaddleOCRVLConfig) -> None:
        super().__init__()
        self.visual = PaddleOCRVisionModel._from_config(config.vision_config)
        self.projector = PaddleOCRProjector(config)

    def forward(self, pixel_values: torch.Tensor, grid_thw: torch.Tensor) -> torch.Tensor:
        """Image embeddings, one row per merged 2x2 patch, rows then columns."""
        pixels = pixel_values.to(self.visual.dtype).unsqueeze(0)
        hidden = self.visual(pixel_values=pixels, grid_thw=grid_thw).last_hidden_state
        return self.projector(hidden.reshape(-1, hidden.shape[-1]), grid_thw)


def load_vision(model_dir: Path, dtype: torch.dtype) -> VisionTower:
    """Build the tower, then copy each tensor of the checkpoint into it, one at a time (memory
    holds one copy of the vision weights, not the checkpoint's as well)."""
    config = PaddleOCRVLConfig.from_pretrained(model_dir)
    tower = VisionTower(config).to(dtype).eval()
    params = dict(tower.named_parameters())
    loaded = set()
    with safe_open(model_dir / "model.safetensors", "pt") as checkpoint, torch.no_grad():
        for key in checkpoint.keys():  # noqa: SIM118 (safe_open is not a dict)
            for prefix, target in CHECKPOINT_PREFIXES.items():
                if key.startswith(prefix):
                    name = target + key.removeprefix(prefix)
                    params[name].copy_(checkpoint.get_tensor(key))
                    loaded.add(name)
    if loaded != params.keys():
        raise SystemExit(f"vision weights missing from the checkpoint: {params.keys() - loaded}")
    return tower


# ----------------------------------------------------------------------------------------------
# Text side: llama.cpp
# ----------------------------------------------------------------------------------------------
class Decoder:
    """A llama.cpp context on the GGUF text model, fed tokens and image embeddings."""

    def __init__(self, gguf: Path, threads: int) -> None:
        lc.llama_log_set(QUIET, None)
        lc.llama_backend_init()
        self.model = lc.llama_model_load_from_file(
            str(gguf).encode(), lc.llama_model_default_params()
        )
        if not self.model:
            raise SystemExit(f"llama.cpp could not load {gguf}")
        params = lc.llama_context_default_params()
        params.n_ctx, params.n_batch = 4096, 2048
        params.n_threads, params.n_threads_batch = threads, threads
        self.ctx = lc.llama_init_from_model(self.model, params)
        self.vocab = lc.llama_model_get_vocab(self.model)
        self.n_vocab = lc.llama_vocab_n_tokens(self.vocab)
        self.n_embd = lc.llama_model_n_embd_inp(self.model)

    def tokenize(self, text: str) -> list[int]:
        data = text.encode()
        buffer = (lc.llama_token * (len(data) + 8))()
        count = lc.llama_tokenize(self.vocab, data, len(data), buffer, len(buffer), False, True)
        if count < 0:
            raise SystemExit(f"could not tokenize {text!r}")
        return list(buffer[:count])

    def reset(self) -> None:
        lc.llama_memory_clear(lc.llama_get_memory(self.ctx), True)

    def decode_tokens(self, tokens: list[int], first_pos: int) -> None:
        """Token batch, 1-D positions; logits for the last token only."""
        n = len(tokens)
        self._decode(
            n,
            token=(lc.llama_token * n)(*tokens),
            pos=(lc.llama_pos * n)(*range(first_pos, first_pos + n)),
        )

    def decode_image(self, embeddings: np.ndarray, first_pos: int, columns: int) -> int:
        """Embedding batch with M-RoPE positions (section-major: t, row, column, 0), as mtmd
        does it. Returns the position after the image: first_pos + max(rows, columns)."""
        n = embeddings.shape[0]
        rows = n // columns
        index = np.arange(n)
        sections = [
            np.full(n, first_pos),
            first_pos + index // columns,
            first_pos + index % columns,
            np.zeros(n, dtype=np.int64),
        ]
        pos = np.concatenate(sections).astype(np.int32)
        embd = np.ascontiguousarray(embeddings, dtype=np.float32)
        self._decode(
            n,
            embd=embd.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
            pos=pos.ctypes.data_as(ctypes.POINTER(lc.llama_pos)),
            keep=(embd, pos),
        )
        return first_pos + max(rows, columns)

    def _decode(
        self, n: int, token: Any = None, embd: Any = None, pos: Any = None, keep: Any = None
    ) -> None:
        """One llama_batch for sequence 0; `keep` holds arrays the batch points into."""
        seq = (lc.llama_seq_id * 1)(0)
        seq_pointer = ctypes.cast(seq, ctypes.POINTER(lc.llama_seq_id))
        seq_ids = (ctypes.POINTER(lc.llama_seq_id) * n)(*([seq_pointer] * n))
        logits = (ctypes.c_int8 * n)(*([0] * (n - 1) + [1]))
        batch = lc.llama_batch(
            n_tokens=n,
            token=token,
            embd=embd,
            pos=pos,
            n_seq_id=(ctypes.c_int32 * n)(*([1] * n)),
            seq_id=seq_ids,
            logits=logits,
        )
        status = lc.llama_decode(self.ctx, batch)
        if status != 0:
            raise SystemExit(f"llama_decode failed with {status}")

    def greedy(self) -> int:
        """The most likely next token (end-of-sequence is not special here: fixed work)."""
        logits = lc.llama_get_logits_ith(self.ctx, -1)
        return int(np.argmax(np.ctypeslib.as_array(logits, shape=(self.n_vocab,))))


# ----------------------------------------------------------------------------------------------
# One page
# ----------------------------------------------------------------------------------------------
def one_run(
    tower: VisionTower, processor: Any, decoder: Decoder, image: Image.Image, tokens: int
) -> dict[str, float]:
    timer = Timer()
    inputs = processor(images=[image], return_tensors="pt")
    grid = inputs["image_grid_thw"]
    vision = Timer()
    with torch.inference_mode():
        embeddings = tower(inputs["pixel_values"], grid).float().numpy()
    vision_s = vision.seconds()

    prefill = Timer()
    decoder.reset()
    before, after = decoder.tokenize(BEFORE_IMAGE), decoder.tokenize(AFTER_IMAGE)
    merge = tower.visual.config.spatial_merge_size
    columns = int(grid[0, 2]) // merge
    decoder.decode_tokens(before, 0)
    position = decoder.decode_image(embeddings, len(before), columns)
    decoder.decode_tokens(after, position)
    position += len(after)
    prefill_s = prefill.seconds()

    decode = Timer()
    token = decoder.greedy()
    for _ in range(tokens - 1):
        decoder.decode_tokens([token], position)
        position += 1
        token = decoder.greedy()
    decode_s = decode.seconds()
    return {
        "total_s": timer.seconds(),
        "vision_s": vision_s,
        "text_prefill_s": prefill_s,
        "prefill_s": vision_s + prefill_s,
        "decode_s": decode_s,
        "prompt_tokens": len(before) + embeddings.shape[0] + len(after),
        "image_tokens": embeddings.shape[0],
        "generated_tokens": tokens,
    }


def main() -> int:
    args = parse_args()
    torch.set_num_threads(args.threads)
    load_before = loadavg()
    tower = load_vision(args.model, getattr(torch, args.vision_dtype))
    processor = AutoImageProcessor.from_pretrained(args.model)
    decoder = Decoder(args.gguf, args.threads)
    image = Image.open(page_path(args.pages_dir, args.page)).convert("RGB")
    one_run(tower, processor, decoder, image, args.tokens)  # warm-up
    runs = [one_run(tower, processor, decoder, image, args.tokens) for _ in range(args.runs)]
    write_result(
        args,
        {
            "config": args.config or f"hybrid {args.gguf.name}",
            "engine": f"PyTorch {torch.__version__} vision ({args.vision_dtype}) + "
            f"llama-cpp-python {lc.__version__} text",
            "gguf": args.gguf.name,
            "vision_dtype": args.vision_dtype,
            **memory_mib(),
            "peak_rss_what": "VmHWM of the Python process",
        },
        runs,
        load_before,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
