"""The manifest of an offline bundle: what scripts/offline-save writes and offline-load checks.

MANIFEST.json lists the bundle's version, backend, platform, images (reference, image ID, file)
and every other file with its size and sha256. SHA256SUMS holds the same hashes in the format of
coreutils' `sha256sum --check`. Standard library only: the offline host needs nothing else.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

MANIFEST = "MANIFEST.json"
SUMS = "SHA256SUMS"
CHUNK = 4 << 20


class BundleError(Exception):
    """A bundle that must not be used, with the reason (naming the bad file)."""


def sha256_of(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            if progress:
                progress.advance(len(chunk))
    return digest.hexdigest()


def bundle_files(root: Path) -> Iterator[Path]:
    """Every file of the bundle but its manifest and checksum list, in a stable order."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.relative_to(root).as_posix() not in (MANIFEST, SUMS):
            yield path


class Progress:
    """Bytes done of a known total, as one line redrawn on a terminal or every 10% in a log."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, max(total, 1), 0
        self.tty = sys.stderr.isatty()
        self.started = time.monotonic()
        self.step = -1

    def advance(self, amount: int) -> None:
        self.done += amount
        percent = min(100, 100 * self.done // self.total)
        if self.tty:
            rate = self.done / max(time.monotonic() - self.started, 1e-3) / 1e6
            line = f"\r  {self.label}: {percent:3d}% of {self.total / 1e9:.2f} GB, {rate:.0f} MB/s"
            print(line, end="", file=sys.stderr, flush=True)
        elif percent // 10 != self.step:
            self.step = percent // 10
            print(f"  {self.label}: {percent}%", file=sys.stderr, flush=True)

    def finish(self) -> None:
        if self.tty:
            print(file=sys.stderr)


def write_manifest(root: Path, header: dict) -> dict:
    """Hash every file of the bundle; write MANIFEST.json and SHA256SUMS."""
    files = list(bundle_files(root))
    progress = Progress("checksums", sum(p.stat().st_size for p in files))
    entries = {}
    for path in files:
        name = path.relative_to(root).as_posix()
        entries[name] = {"size": path.stat().st_size, "sha256": sha256_of(path, progress)}
    progress.finish()
    manifest = {**header, "files": entries}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    sums = "".join(f"{entry['sha256']}  {name}\n" for name, entry in entries.items())
    (root / SUMS).write_text(sums)
    return manifest


def read_manifest(root: Path) -> dict:
    try:
        return json.loads((root / MANIFEST).read_text())
    except FileNotFoundError:
        raise BundleError(f"{root / MANIFEST} is missing: this is not a complete bundle") from None
    except json.JSONDecodeError as error:
        raise BundleError(f"{root / MANIFEST} is damaged: {error}") from None


def verify(root: Path, manifest: dict) -> None:
    """Check every file of the bundle against its manifest, before anything is used."""
    entries: dict[str, dict] = manifest["files"]
    for name, entry in entries.items():
        path = root / name
        if not path.is_file():
            raise BundleError(f"{name} is missing from the bundle: copy the whole bundle again")
        if path.stat().st_size != entry["size"]:
            raise BundleError(
                f"{name} is {path.stat().st_size} bytes, the manifest says {entry['size']}: "
                "the copy is incomplete or damaged"
            )
    progress = Progress("verifying", sum(entry["size"] for entry in entries.values()))
    for name, entry in entries.items():
        if sha256_of(root / name, progress) != entry["sha256"]:
            progress.finish()
            raise BundleError(f"{name} does not match its sha256 in the manifest: it is damaged")
    progress.finish()
    for path in bundle_files(root):
        if path.relative_to(root).as_posix() not in entries:
            print(f"  note: {path.relative_to(root)} is not in the manifest", file=sys.stderr)
