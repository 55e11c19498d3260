"""Air-gapped sites, with real Docker: build the CPU stack, save it into a bundle, remove every
image of it, refuse damaged bundles without loading anything, load the good one, and serve
/layout-parsing from the bundle with --pull never and OFFLINE=1.

The CI engine drops all container traffic leaving the machine (.ci/dockerd-start), so the loaded
stack runs with no network beyond its own. Stands in: the tiny model for the official files,
and (with --bases=local) the stand-in base images; layout detection is off (no layout weights).
It runs after the session's other stacks are down (module name, takes_stack_down): removing
images that running containers use would fail.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import samples
from conftest import REPO
from stack import CPU_TEST_SETTINGS, Stack, clean_environment

pytestmark = [pytest.mark.stack, pytest.mark.takes_stack_down]

SETTINGS = CPU_TEST_SETTINGS | {"COMPOSE_PROJECT_NAME": "pvd-test-offline"}


def script(name: str, *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / name), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=1800,
        env=clean_environment(),
    )


def image_exists(reference: str) -> bool:
    result = subprocess.run(["docker", "image", "inspect", reference], capture_output=True)
    return result.returncode == 0


@pytest.fixture(scope="module")
def bundle(bases: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A bundle of the CPU stack, saved from a built stack, whose images are then removed."""
    workdir = tmp_path_factory.mktemp("offline")
    stack = Stack.create("cpu", bases, workdir, SETTINGS, [])
    stack.build()
    saved = script("offline-save", "--env-file", str(stack.env_file), "--out", str(workdir))
    assert saved.returncode == 0, saved.stderr
    (root,) = [p for p in workdir.iterdir() if p.is_dir() and p.name.startswith("paddleocr-vl-")]
    manifest = json.loads((root / "MANIFEST.json").read_text())
    for image in manifest["images"]:
        subprocess.run(["docker", "rmi", image["reference"]], check=True, capture_output=True)
        assert not image_exists(image["reference"])
    yield root
    loaded = Stack(stack.project, root / ".env", stack.api_port)
    loaded.compose("down", "--volumes", "--timeout=20", check=False)


def test_save_refuses_an_unfinished_model_folder_and_writes_nothing(
    bases: str, tmp_path: Path
) -> None:
    """With layout detection on, the API needs PP-DocLayoutV3/: a folder holding a download
    that did not finish is refused by name before any image is saved."""
    models = tmp_path / "models"
    layout = models / "PP-DocLayoutV3"
    layout.mkdir(parents=True)
    (layout / "inference.pdiparams.part").write_bytes(b"\0" * 1000)
    for name in ("model.gguf", "mmproj.gguf"):
        source = Path(CPU_TEST_SETTINGS["LLAMACPP_MODEL"]).parent / name
        (models / source).parent.mkdir(parents=True, exist_ok=True)
        (models / source).write_bytes(b"GGUF")
    settings = SETTINGS | {"USE_LAYOUT_DETECTION": "", "MODELS_DIR": str(models)}
    stack = Stack.create("cpu", bases, tmp_path, settings, [])
    out = tmp_path / "bundles"
    saved = script("offline-save", "--env-file", str(stack.env_file), "--out", str(out))
    assert saved.returncode == 1
    assert saved.stderr.rstrip().splitlines()[-1] == (
        "offline-save: model file /models/PP-DocLayoutV3 is incomplete (inference.pdiparams.part "
        "did not finish downloading): run scripts/fetch-models first"
    )
    assert not out.exists()


def test_manifest_describes_images_and_files(bundle: Path) -> None:
    manifest = json.loads((bundle / "MANIFEST.json").read_text())
    assert manifest["backend"] == "cpu" and manifest["platform"].startswith("linux/")
    assert {image["reference"].split(":")[0] for image in manifest["images"]} == {
        "paddleocr-vl-deploy/api",
        "paddleocr-vl-deploy/vlm-llamacpp",
    }
    assert all(image["id"].startswith("sha256:") for image in manifest["images"])
    files = manifest["files"]
    for name in ("models/gguf/model.gguf", "models/gguf/mmproj.gguf", ".env", "compose.yaml"):
        assert len(files[name]["sha256"]) == 64 and files[name]["size"] > 0
    env = (bundle / ".env").read_text()
    assert "\nOFFLINE=1\n" in env and "\nMODELS_DIR=./models\n" in env
    sums = (bundle / "SHA256SUMS").read_text()
    check = subprocess.run(["sha256sum", "--check", "--quiet", "-"], input=sums, cwd=bundle,
                           capture_output=True, text=True)  # fmt: skip
    assert check.returncode == 0, check.stdout


def assert_nothing_loaded(bundle: Path) -> None:
    manifest = json.loads((bundle / "MANIFEST.json").read_text())
    assert not any(image_exists(image["reference"]) for image in manifest["images"])


def test_a_flipped_byte_is_refused_and_nothing_loaded(bundle: Path) -> None:
    damaged = bundle / "models/gguf/mmproj.gguf"
    original = damaged.read_bytes()
    middle = len(original) // 2
    damaged.write_bytes(
        original[:middle] + bytes([original[middle] ^ 0xFF]) + original[middle + 1 :]
    )
    try:
        result = script("offline-load", str(bundle))
    finally:
        damaged.write_bytes(original)
    assert result.returncode == 1
    assert result.stderr.rstrip().splitlines()[-1] == (
        "offline-load: REFUSED: models/gguf/mmproj.gguf does not match its sha256 in the "
        "manifest: it is damaged"
    )
    assert_nothing_loaded(bundle)


def test_a_missing_file_is_refused_and_nothing_loaded(bundle: Path) -> None:
    manifest = json.loads((bundle / "MANIFEST.json").read_text())
    archive = bundle / manifest["images"][0]["file"]
    aside = archive.with_suffix(".aside")
    archive.rename(aside)
    try:
        result = script("offline-load", str(bundle))
    finally:
        aside.rename(archive)
    assert result.returncode == 1
    assert f"{manifest['images'][0]['file']} is missing from the bundle" in result.stderr
    assert_nothing_loaded(bundle)


def test_loaded_bundle_serves_offline(bundle: Path) -> None:
    """Loaded as the README says: the bundle's own offline-load, from the folder holding it."""
    result = subprocess.run(
        ["python3", f"{bundle.name}/scripts/offline-load", bundle.name],
        cwd=bundle.parent,
        capture_output=True,
        text=True,
        timeout=1800,
        env=clean_environment(),
    )
    assert result.returncode == 0, result.stderr
    assert "docker compose up -d --wait --pull never" in result.stdout
    manifest = json.loads((bundle / "MANIFEST.json").read_text())
    for image in manifest["images"]:
        assert image_exists(image["reference"])

    env = (bundle / ".env").read_text()
    port = next(line.split("=", 1)[1] for line in env.splitlines() if line.startswith("API_PORT="))
    up = subprocess.run(
        ["docker", "compose", "up", "--detach", "--wait", "--wait-timeout=300", "--pull=never"],
        cwd=bundle,
        capture_output=True,
        text=True,
        timeout=600,
        env=clean_environment(),
    )
    assert up.returncode == 0, up.stderr
    body = {"file": base64.b64encode(samples.png()).decode(), "fileType": 1}
    response = httpx.post(f"http://127.0.0.1:{port}/layout-parsing", json=body, timeout=300)
    assert response.status_code == 200, response.text
    assert len(response.json()["result"]["layoutParsingResults"]) == 1
