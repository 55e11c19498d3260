"""Every Dockerfile passes hadolint, every shell script shellcheck, all Python ruff."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import REPO

BIN = Path(sys.executable).parent


def tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return [REPO / name for name in listed if (REPO / name).is_file()]


def first_line(path: Path) -> str:
    with path.open("rb") as handle:
        return handle.readline(200).decode(errors="replace")


def run_tool(*command: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in command], cwd=REPO, capture_output=True, text=True)


def test_dockerfiles_pass_hadolint() -> None:
    dockerfiles = [p for p in tracked_files() if p.name == "Dockerfile"]
    assert len(dockerfiles) >= 3  # api, vlm-vllm, vlm-llamacpp at least
    result = run_tool(BIN / "hadolint", *dockerfiles)
    assert result.returncode == 0, result.stdout + result.stderr


def test_shell_scripts_pass_shellcheck() -> None:
    scripts = [
        p
        for p in tracked_files()
        if p.suffix == ".sh" or ("sh" in first_line(p) and first_line(p).startswith("#!/"))
    ]
    scripts = [p for p in scripts if "python" not in first_line(p)]
    assert REPO / ".ci/run" in scripts
    result = run_tool(BIN / "shellcheck", "--severity=style", *scripts)
    assert result.returncode == 0, result.stdout + result.stderr


def test_python_passes_ruff() -> None:
    check = run_tool(BIN / "ruff", "check", ".")
    assert check.returncode == 0, check.stdout + check.stderr
    formatted = run_tool(BIN / "ruff", "format", "--check", ".")
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
