"""Pipeline config: environment overrides and start-up checks.

PaddleX reads its YAML with ``yaml.SafeLoader`` and never expands environment variables. The
config file is the one truth for where the VLM is and which model name it is sent (the API
healthcheck reads the same file); only two values are overridden here, before the pipeline is
built:

=====================  ========================================================================
VLM_MAX_CONCURRENCY    SubModules.VLRecognition.genai_config.max_concurrency: .env sets it
                       once for both the VLM's batch slots and the pipeline
USE_LAYOUT_DETECTION   use_layout_detection (true/false)
=====================  ========================================================================
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .settings import parse_bool, parse_int

SERVER_BACKENDS = (
    "vllm-server",
    "llama-cpp-server",
    "sglang-server",
    "fastdeploy-server",
    "mlx-vlm-server",
)
LAYOUT_MODEL_FILES = ("inference.yml", "inference.pdiparams")
LAYOUT_GRAPH_FILES = ("inference.json", "inference.pdmodel")


class ConfigError(ValueError):
    """The pipeline config cannot be served by this image."""


@dataclass(frozen=True)
class VLMTarget:
    """Where the VL recognition calls go, as the user should read it in error messages."""

    backend: str
    server_url: str
    model_name: str | None
    max_concurrency: int
    timeout_s: float | None


def _section(config: MutableMapping[str, Any], *keys: str) -> MutableMapping[str, Any]:
    node = config
    for key in keys:
        child = node.get(key)
        if child is None:
            child = {}
            node[key] = child
        if not isinstance(child, MutableMapping):
            raise ConfigError(f"{'.'.join(keys)} must be a mapping in the pipeline config")
        node = child
    return node


def apply_env_overrides(config: MutableMapping[str, Any], env: Mapping[str, str]) -> list[str]:
    """Apply the overrides above in place; return one line per value changed, for the log."""
    applied: list[str] = []
    vl_rec = _section(config, "SubModules", "VLRecognition")
    genai = _section(vl_rec, "genai_config")

    if value := env.get("VLM_MAX_CONCURRENCY", "").strip():
        genai["max_concurrency"] = parse_int("VLM_MAX_CONCURRENCY", value, minimum=1)
        applied.append(f"genai_config.max_concurrency = {genai['max_concurrency']}")

    if value := env.get("USE_LAYOUT_DETECTION", "").strip():
        config["use_layout_detection"] = parse_bool("USE_LAYOUT_DETECTION", value)
        applied.append(f"use_layout_detection = {config['use_layout_detection']}")
    return applied


def vlm_target(config: Mapping[str, Any]) -> VLMTarget:
    """Check the VL recognition settings and return them; raise ConfigError when unusable."""
    vl_rec = config.get("SubModules", {}).get("VLRecognition") or {}
    genai = vl_rec.get("genai_config") or {}
    backend = genai.get("backend", "native")
    if backend not in SERVER_BACKENDS:
        raise ConfigError(
            f"genai_config.backend is {backend!r}: this image only talks to a VLM server "
            f"({', '.join(SERVER_BACKENDS)}); it has no local VLM weights"
        )
    server_url = genai.get("server_url")
    if not server_url:
        raise ConfigError("genai_config.server_url is not set")
    if not str(server_url).rstrip("/").endswith("/v1"):
        raise ConfigError(f"genai_config.server_url must end in /v1, got {server_url!r}")
    client_kwargs = genai.get("client_kwargs") or {}
    # Without client_kwargs.model_name PaddleX sends nothing it knows in advance: it asks
    # /v1/models at start-up (and fails while the VLM is down). Filled in after start-up then.
    model_name = client_kwargs.get("model_name")
    timeout = client_kwargs.get("timeout")
    return VLMTarget(
        backend=str(backend),
        server_url=str(server_url),
        model_name=str(model_name) if model_name else None,
        max_concurrency=int(genai.get("max_concurrency", 200)),
        timeout_s=float(timeout) if isinstance(timeout, int | float) else None,
    )


def layout_model(config: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """(model name, model_dir or None) of the layout model, or None when layout is off."""
    if not config.get("use_layout_detection", True):
        return None
    layout = config.get("SubModules", {}).get("LayoutDetection") or {}
    model_dir = layout.get("model_dir")
    return str(layout.get("model_name", "PP-DocLayoutV3")), str(model_dir) if model_dir else None


def check_layout_model(
    config: Mapping[str, Any],
    *,
    offline: bool = False,
    fetch: Callable[[str], None] | None = None,
) -> str | None:
    """Fail early, with a message that says what to do, when layout detection cannot work.

    ``fetch(model_dir)`` is given the chance to provide a missing model_dir first. Returns a
    warning to log (model not on disk yet: PaddleX will try to download it), or None. Offline,
    a missing model is an error instead.
    """
    layout = layout_model(config)
    if layout is None:
        return None
    name, model_dir = layout
    if importlib.util.find_spec("paddle") is None:
        raise ConfigError(
            f"use_layout_detection is on, so the layout model {name} needs paddlepaddle, and "
            "this image was built without it (PADDLE=none). Rebuild with PADDLE=cpu or gpu, "
            "or turn layout detection off (use_layout_detection: False / "
            "USE_LAYOUT_DETECTION=false)"
        )
    if model_dir:
        if fetch is not None:
            fetch(model_dir)
        path = Path(model_dir)
        if not path.is_dir():
            raise ConfigError(f"LayoutDetection.model_dir {model_dir!r} is not a directory")
        missing = [f for f in LAYOUT_MODEL_FILES if not (path / f).is_file()]
        if not any((path / f).is_file() for f in LAYOUT_GRAPH_FILES):
            missing.append(" or ".join(LAYOUT_GRAPH_FILES))
        if missing:
            raise ConfigError(
                f"LayoutDetection.model_dir {model_dir!r} lacks {', '.join(missing)} "
                f"(a Paddle inference export of {name})"
            )
        return None
    cache = Path(os.environ.get("PADDLE_PDX_CACHE_HOME", Path.home() / ".paddlex"))
    official = cache / "official_models" / name
    if official.is_dir():
        return None
    files = ", ".join(LAYOUT_MODEL_FILES + LAYOUT_GRAPH_FILES[:1])
    if offline:
        raise ConfigError(
            f"OFFLINE is on and the layout model {name} is not at {official}: put its files "
            f"({files}) there (scripts/fetch-models does) or set LayoutDetection.model_dir"
        )
    return (
        f"layout model {name} is not at {official} and no model_dir is set: PaddleX will now "
        "try to download it (from PADDLE_PDX_MODEL_SOURCE first, then HuggingFace, AIStudio, "
        f"ModelScope, BOS). Offline, put its files ({files}) there or set its model_dir"
    )
