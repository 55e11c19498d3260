"""scripts/fetch-models against a real HTTP server on loopback that speaks Hugging Face's
download protocol (the `mirror` source): file listing with published hashes, ranged downloads.
It stands in for Hugging Face or an internal mirror, which cannot be reached here. Also: the
containers' start-up check refuses, by name, a model file that is missing with OFFLINE=1.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from conftest import REPO
from stack import API, VLM, Stack, write_env

REPO_ID = "PaddlePaddle/Tiny-GGUF"
FILES = {
    "model.gguf": os.urandom(3 << 20),  # large enough to be cut mid-way
    "mmproj.gguf": os.urandom(200_000),
    "README.md": b"# tiny\n",  # a small file: Hugging Face publishes its git blob id
}


class Mirror(BaseHTTPRequestHandler):
    """GET /api/models/<repo>/tree/<rev> and GET /<repo>/resolve/<rev>/<file> (with Range)."""

    cut_next_download: ClassVar[set[str]] = set()  # files whose next download stops half-way
    served: ClassVar[list[str]] = []

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass

    def do_GET(self) -> None:
        if self.path.startswith(f"/api/models/{REPO_ID}/tree/main"):
            self.send_json([tree_entry(name, data) for name, data in FILES.items()])
        elif self.path.startswith(f"/{REPO_ID}/resolve/main/"):
            self.send_file(self.path.rsplit("/", 1)[1])
        else:
            self.send_error(404)

    def send_json(self, value: object) -> None:
        body = json.dumps(value).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_file(self, name: str) -> None:
        data = FILES[name]
        start = int(self.headers.get("Range", "bytes=0-")[6:].split("-")[0])
        self.served.append(f"{name}@{start}")
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        if name in self.cut_next_download:
            self.cut_next_download.discard(name)
            self.wfile.write(data[start : start + (len(data) - start) // 2])
            return  # the connection closes with the body incomplete
        self.wfile.write(data[start:])


def tree_entry(name: str, data: bytes) -> dict:
    if name.endswith(".md"):
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        return {"type": "file", "path": name, "size": len(data), "oid": blob}
    lfs = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data)}
    return {"type": "file", "path": name, "size": len(data), "oid": "0" * 40, "lfs": lfs}


@pytest.fixture
def mirror() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Mirror)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Mirror.served.clear()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def lock_file(tmp_path: Path, pinned_sha256: str | None = None) -> Path:
    entries = {
        "Tiny-GGUF/model.gguf": {"repo": REPO_ID, "revision": "main", "file": "model.gguf"},
        "Tiny": {"repo": REPO_ID, "revision": "main"},
    }
    if pinned_sha256 is not None:
        entries["Tiny-GGUF/model.gguf"]["sha256"] = pinned_sha256
    lock = {"backends": {"cpu": ["Tiny-GGUF/model.gguf", "Tiny"]}, "entries": entries}
    path = tmp_path / "lock.json"
    path.write_text(json.dumps(lock))
    return path


def fetch(tmp_path: Path, mirror: str, *args: str, lock: Path | None = None) -> tuple[int, str]:
    env = {
        "PATH": os.environ["PATH"],
        "MODELS_LOCK": str(lock or lock_file(tmp_path)),
        "MODEL_SOURCE": "mirror",
        "MODEL_MIRROR_URL": mirror,
    }
    command = [sys.executable, str(REPO / "scripts/fetch-models"), "--dir", str(tmp_path / "m")]
    result = subprocess.run([*command, *args], capture_output=True, text=True, env=env, timeout=60)
    return result.returncode, result.stdout + result.stderr


def test_downloads_and_verifies_every_file(tmp_path: Path, mirror: str) -> None:
    code, output = fetch(tmp_path, mirror, "--backend", "cpu")
    assert code == 0, output
    models = tmp_path / "m"
    assert (models / "Tiny-GGUF/model.gguf").read_bytes() == FILES["model.gguf"]
    for name, data in FILES.items():
        assert (models / "Tiny" / name).read_bytes() == data
    assert "model.gguf: 100%" in output  # progress, one line per 10% when not on a terminal
    code, output = fetch(tmp_path, mirror, "--backend", "cpu")
    assert code == 0 and "present and verified" in output


def test_an_interrupted_download_resumes(tmp_path: Path, mirror: str) -> None:
    Mirror.cut_next_download.add("model.gguf")
    code, output = fetch(tmp_path, mirror, "--backend", "cpu")
    assert code == 1
    assert "run the command again to resume" in output
    part = tmp_path / "m/Tiny-GGUF/model.gguf.part"
    kept = part.stat().st_size
    assert 0 < kept < len(FILES["model.gguf"])
    code, output = fetch(tmp_path, mirror, "--backend", "cpu")
    assert code == 0, output
    assert f"model.gguf@{kept}" in Mirror.served  # the second try asked only for the rest
    assert (tmp_path / "m/Tiny-GGUF/model.gguf").read_bytes() == FILES["model.gguf"]


def test_a_file_that_fails_its_pinned_hash_is_refused_and_removed(
    tmp_path: Path, mirror: str
) -> None:
    lock = lock_file(tmp_path, pinned_sha256="ab" * 32)
    code, output = fetch(tmp_path, mirror, "--backend", "cpu", lock=lock)
    assert code == 1
    assert (
        f"sha256 {hashlib.sha256(FILES['model.gguf']).hexdigest()}, expected {'ab' * 32}" in output
    )
    assert "the download was removed" in output
    assert not (tmp_path / "m/Tiny-GGUF/model.gguf").exists()


def test_offline_ensure_names_the_missing_file(tmp_path: Path, mirror: str) -> None:
    code, output = fetch(tmp_path, mirror, "--offline", "--ensure", "/models/Tiny-GGUF/model.gguf")
    assert code == 1
    assert "model file /models/Tiny-GGUF/model.gguf is missing and OFFLINE=1" in output
    assert Mirror.served == []  # offline: nothing was asked of the network


def test_offline_ensure_refuses_a_half_downloaded_folder(tmp_path: Path, mirror: str) -> None:
    """A model folder with a download that did not finish, or without the marker fetch-models
    writes once every file is verified, is not taken for a whole model."""
    folder = tmp_path / "m/Tiny"
    folder.mkdir(parents=True)
    code, output = fetch(tmp_path, mirror, "--offline", "--ensure", "/models/Tiny")
    assert code == 1 and "/models/Tiny is missing and OFFLINE=1" in output  # empty folder
    (folder / "README.md").write_bytes(FILES["README.md"])
    (folder / "model.gguf.part").write_bytes(FILES["model.gguf"][:1000])
    code, output = fetch(tmp_path, mirror, "--offline", "--ensure", "/models/Tiny")
    assert code == 1
    assert "/models/Tiny is incomplete (model.gguf.part did not finish downloading)" in output
    (folder / "model.gguf.part").unlink()
    code, output = fetch(tmp_path, mirror, "--offline", "--ensure", "/models/Tiny")
    assert code == 1
    assert "/models/Tiny has no .fetched marker" in output
    assert Mirror.served == []


def test_online_ensure_completes_a_half_downloaded_folder(tmp_path: Path, mirror: str) -> None:
    folder = tmp_path / "m/Tiny"
    folder.mkdir(parents=True)
    (folder / "README.md").write_bytes(FILES["README.md"])
    code, output = fetch(tmp_path, mirror, "--ensure", "/models/Tiny")
    assert code == 0, output
    assert "README.md: present and verified" in output
    assert sorted(Mirror.served) == ["mmproj.gguf@0", "model.gguf@0"]  # only what was missing
    for name, data in FILES.items():
        assert (folder / name).read_bytes() == data
    code, output = fetch(tmp_path, mirror, "--offline", "--ensure", "/models/Tiny")
    assert code == 0, output


@pytest.mark.stack
@pytest.mark.parametrize("service", [VLM, API])
def test_container_with_a_missing_model_stops_and_names_it(
    cpu_stack: Stack, tmp_path: Path, service: str
) -> None:
    """The official files are not in the tiny model folder: with OFFLINE=1, each service's
    start-up check stops it with the missing path (layout detection on, for the API)."""
    env = cpu_stack.env_file.read_text()
    drop = {"LLAMACPP_MODEL", "LLAMACPP_MMPROJ", "USE_LAYOUT_DETECTION", "COMPOSE_PROJECT_NAME"}
    settings = dict(
        line.split("=", 1)
        for line in env.splitlines()
        if "=" in line and not line.startswith("#") and line.split("=", 1)[0] not in drop
    )
    variant = Stack(
        "pvd-test-missing",
        write_env(tmp_path / ".env", settings | {"COMPOSE_PROJECT_NAME": "pvd-test-missing"}),
        0,
    )
    result = variant.compose(
        "run", "--rm", "--no-deps", "--pull=never", service, check=False, timeout=300
    )
    variant.compose("down", "--remove-orphans", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    missing = (
        "/models/PaddleOCR-VL-1.6-GGUF/PaddleOCR-VL-1.6-GGUF.gguf"
        if service == VLM
        else "/models/PP-DocLayoutV3"
    )
    assert f"{missing} is missing and OFFLINE=1" in output, output[-2000:]
