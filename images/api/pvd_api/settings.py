"""Settings read from the environment (all optional except the pipeline config path)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """An environment variable has a value we cannot use."""


def parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise SettingsError(f"{name} must be true or false, got {value!r}")


def parse_number(name: str, value: str, *, minimum: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {value!r}") from None
    if number < minimum:
        raise SettingsError(f"{name} must be at least {minimum:g}, got {value!r}")
    return number


def parse_int(name: str, value: str, *, minimum: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {value!r}") from None
    if number < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value!r}")
    return number


@dataclass(frozen=True)
class Settings:
    """What the wrapper itself needs; pipeline overrides live in :mod:`pvd_api.config`."""

    pipeline_config: str
    host: str = "0.0.0.0"
    port: int = 8080
    max_upload_bytes: int = 50 * 1024 * 1024
    allow_file_urls: bool = False
    vlm_request_timeout_s: float | None = None
    vlm_connect_timeout_s: float = 10.0
    max_new_tokens: int | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        config = env.get("PIPELINE_CONFIG", "").strip()
        if not config:
            raise SettingsError(
                "PIPELINE_CONFIG is not set: give the path of a PaddleX pipeline config "
                "(e.g. /configs/PaddleOCR-VL-1.6.vllm-server.yaml) or pass --pipeline"
            )
        kwargs: dict[str, object] = {"pipeline_config": config}
        if value := env.get("API_HOST", "").strip():
            kwargs["host"] = value
        if value := env.get("API_PORT", "").strip():
            kwargs["port"] = parse_int("API_PORT", value, minimum=1)
        if value := env.get("API_MAX_UPLOAD_MB", "").strip():
            megabytes = parse_number("API_MAX_UPLOAD_MB", value, minimum=0.001)
            kwargs["max_upload_bytes"] = int(megabytes * 1024 * 1024)
        if value := env.get("API_ALLOW_FILE_URLS", "").strip():
            kwargs["allow_file_urls"] = parse_bool("API_ALLOW_FILE_URLS", value)
        if value := env.get("VLM_REQUEST_TIMEOUT_S", "").strip():
            kwargs["vlm_request_timeout_s"] = parse_number(
                "VLM_REQUEST_TIMEOUT_S", value, minimum=1
            )
        if value := env.get("VLM_CONNECT_TIMEOUT_S", "").strip():
            kwargs["vlm_connect_timeout_s"] = parse_number(
                "VLM_CONNECT_TIMEOUT_S", value, minimum=0.1
            )
        if value := env.get("VLM_MAX_OUTPUT_TOKENS", "").strip():
            kwargs["max_new_tokens"] = parse_int("VLM_MAX_OUTPUT_TOKENS", value, minimum=1)
        return cls(**kwargs)  # type: ignore[arg-type]


MODEL_SOURCES = ("huggingface", "modelscope", "mirror")  # those scripts/fetch-models knows


def paddlex_env(env: Mapping[str, str]) -> dict[str, str]:
    """PaddleX environment flags derived from the bundle's OFFLINE / MODEL_SOURCE settings.

    PaddleX reads its flags once, when ``paddlex`` is first imported, so these must be put in
    ``os.environ`` before that. Values already set explicitly are left alone.
    """
    derived: dict[str, str] = {}
    offline = parse_bool("OFFLINE", env["OFFLINE"]) if env.get("OFFLINE", "").strip() else False
    source = env.get("MODEL_SOURCE", "").strip().lower()
    if source and source not in MODEL_SOURCES:
        raise SettingsError(f"MODEL_SOURCE must be one of {', '.join(MODEL_SOURCES)}")
    if source == "mirror":
        mirror = env.get("MODEL_MIRROR_URL", "").strip()
        if not mirror:
            raise SettingsError("MODEL_SOURCE=mirror needs MODEL_MIRROR_URL")
        derived["PADDLE_PDX_MODEL_SOURCE"] = "huggingface"
        derived["PADDLE_PDX_HUGGING_FACE_ENDPOINT"] = mirror.rstrip("/")
    elif source:
        derived["PADDLE_PDX_MODEL_SOURCE"] = source
    if offline:
        # No connectivity probe of the model hosts; pvd_api.config refuses to start when a
        # model is missing instead of letting PaddleX try to download it.
        derived["PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK"] = "True"
        derived["HF_HUB_OFFLINE"] = "1"
    return {key: value for key, value in derived.items() if not env.get(key)}
