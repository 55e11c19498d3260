"""Start-up chores done before PaddleX is imported: its cache folder, missing model files."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .config import ConfigError

logger = logging.getLogger("pvd_api")

FALLBACK_CACHE = Path(tempfile.gettempdir()) / "paddlex"


def prepare_cache_home() -> None:
    """Make sure PADDLE_PDX_CACHE_HOME is writable, or fall back to a temporary folder.

    PaddleX creates folders there when it is imported (func_ret, locks, temp) and dies with a
    PermissionError when it cannot, e.g. when the models volume is a host folder that Docker
    created as root, or is mounted read-only.
    """
    cache = Path(os.environ.get("PADDLE_PDX_CACHE_HOME") or Path.home() / ".paddlex")
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache):
            pass
    except OSError as exc:
        logger.warning(
            "PADDLE_PDX_CACHE_HOME %s is not writable by uid %d (%s): using %s instead; "
            "models PaddleX downloads itself will not be kept",
            cache,
            os.getuid(),
            exc.strerror,
            FALLBACK_CACHE,
        )
        os.environ["PADDLE_PDX_CACHE_HOME"] = str(FALLBACK_CACHE)


def fetch_missing_model(model_dir: str) -> None:
    """Let the bundle's fetch-models provide a missing /models/... folder (OFFLINE is honoured).

    fetch-models checks what is there and downloads only what is missing. Does nothing for a
    folder outside /models, or where fetch-models is not installed.
    """
    if not model_dir.startswith("/models/"):
        return
    tool = shutil.which("fetch-models")
    if tool is None:
        return
    result = subprocess.run([tool, "--ensure", model_dir], check=False)
    if result.returncode != 0:
        raise ConfigError(f"fetch-models could not provide {model_dir} (its message is above)")
