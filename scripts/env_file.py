"""The bundle's .env as the host-side tools read it: KEY=VALUE lines, quotes stripped, the
shell's environment first (as Compose does). Used by scripts/smoke, scripts/bench and
scripts/offline-save; scripts/fetch-models keeps its own copy, as it also runs alone in images.
"""

from __future__ import annotations

import os
from pathlib import Path


def read_env_file(path: Path) -> dict[str, str]:
    """The KEY=VALUE lines of a .env file (no interpolation); {} when there is no file."""
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and not key.startswith("#"):
                values[key.strip()] = value.strip().strip("'\"")
    return values


def setting(values: dict[str, str], key: str, default: str) -> str:
    """A setting as Compose resolves it: the shell's environment, then .env, then the default."""
    return os.environ.get(key) or values.get(key) or default


def api_url(values: dict[str, str]) -> str:
    """Where the API is published, as the host reaches it."""
    host = setting(values, "API_HOST", "127.0.0.1").replace("0.0.0.0", "127.0.0.1")
    return f"http://{host}:{setting(values, 'API_PORT', '8080')}"
