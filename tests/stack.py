"""Drive a real Compose project of the bundle from tests: write its .env, build, up, inspect, down.

A test stack is the bundle's own compose files for one backend, plus tests/compose.test.yaml,
which swaps in only what this machine cannot have: stand-in base images (with --bases=local),
the tiny model, and a copy of the pipeline config with layout detection off (no layout weights
can be downloaded here). tests/compose.no-gpu.yaml also drops the GPU reservations for the CUDA
stack run on vLLM's CPU build.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from conftest import REPO

BACKEND_FILES = {
    "cuda": "compose.yaml",
    "npu": "compose.yaml:compose.npu.yaml",
    "cpu": "compose.yaml:compose.cpu.yaml",
}
API, VLM = "paddleocr-vl-api", "paddleocr-vlm-server"
CACHE = REPO / "tests" / ".cache"
TINY_MODEL = CACHE / "tiny-model"

# Stand-ins for the upstream images, built by tests/standins/build from the same sources and
# versions (see the header of each stand-in Dockerfile).
LOCAL_BASES = {
    "API_BASE_IMAGE": "standin/python:3.11-slim-bookworm",
    "LLAMACPP_BASE_IMAGE": "standin/llama.cpp",
    "VLLM_BASE_IMAGE": "standin/vllm-openai",
}


# The CPU stack as the tests run it: the tiny GGUF pair, small slots and answers, layout off.
CPU_TEST_SETTINGS = {
    "LLAMACPP_MODEL": "gguf/model.gguf",
    "LLAMACPP_MMPROJ": "gguf/mmproj.gguf",
    "USE_LAYOUT_DETECTION": "false",
    "VLM_MAX_CONCURRENCY": "2",
    "LLAMACPP_CTX_PER_REQUEST": "4096",
    "VLM_MAX_OUTPUT_TOKENS": "24",
}


def documented_variables() -> set[str]:
    """Every VAR= line of .env.example, commented out or not."""
    return set(re.findall(r"^#?([A-Z][A-Z0-9_]*)=", (REPO / ".env.example").read_text(), re.M))


def write_env(path: Path, settings: dict[str, str], drop: str | None = None) -> Path:
    """.env.example with the given settings replaced or added, and optionally one line dropped."""
    lines, seen = [], set()
    for line in (REPO / ".env.example").read_text().splitlines():
        match = re.match(r"#?([A-Z][A-Z0-9_]*)=", line)
        name = match.group(1) if match else None
        if name is not None and name == drop:
            continue
        if name in settings:
            if name not in seen:
                lines.append(f"{name}={settings[name]}")
                seen.add(name)
            continue
        lines.append(line)
    lines += [f"{name}={value}" for name, value in settings.items() if name not in seen]
    path.write_text("\n".join(lines) + "\n")
    return path


def clean_environment() -> dict[str, str]:
    """The caller's environment minus anything the .env under test should decide."""
    documented = documented_variables()
    return {k: v for k, v in os.environ.items() if k not in documented}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Stack:
    """One Compose project of the bundle, run for real."""

    project: str
    env_file: Path
    api_port: int
    started: float = field(default_factory=time.time)

    @classmethod
    def create(
        cls, backend: str, bases: str, workdir: Path, settings: dict[str, str], extra: list[str]
    ) -> Stack:
        port = free_port()
        files = ":".join([BACKEND_FILES[backend], "tests/compose.test.yaml", *extra])
        values = {
            "COMPOSE_FILE": files,
            "COMPOSE_PROJECT_NAME": f"pvd-test-{backend}",
            "API_HOST": "127.0.0.1",
            "API_PORT": str(port),
            "MODELS_DIR": str(TINY_MODEL),
            "OFFLINE": "1",
            "TEST_CONFIG_DIR": str(workdir / "configs"),
            **(LOCAL_BASES if bases == "local" else {}),
            **settings,
        }
        env = write_env(workdir / ".env", values)
        return cls(values["COMPOSE_PROJECT_NAME"], env, port)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def compose(
        self, *args: str, check: bool = True, timeout: float = 1800
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["docker", "compose", "--env-file", str(self.env_file), *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=clean_environment(),
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"docker compose {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return result

    def build(self) -> None:
        self.compose("build", timeout=3600)

    def up(self, wait_timeout: int = 900) -> None:
        """Start and wait until every service is healthy; on failure, the logs tell why."""
        self.started = time.time()
        args = ["up", "--detach", "--wait", f"--wait-timeout={wait_timeout}", "--pull=never"]
        try:
            self.compose(*args)
        except AssertionError as error:
            raise AssertionError(f"{error}\n===== logs =====\n{self.logs()[-20000:]}") from None

    def down(self) -> None:
        self.compose("down", "--volumes", "--remove-orphans", "--timeout=20")

    def containers(self, all_states: bool = True) -> list[str]:
        args = ["ps", "--quiet"] + (["--all"] if all_states else [])
        return self.compose(*args).stdout.split()

    def networks(self) -> list[str]:
        label = f"label=com.docker.compose.project={self.project}"
        return docker("network", "ls", "--quiet", "--filter", label).split()

    def container(self, service: str) -> str:
        (container,) = self.compose("ps", "--all", "--quiet", service).stdout.split()
        return container

    def inspect(self, service: str) -> dict:
        output = docker("inspect", self.container(service))
        return json.loads(output)[0]

    def health(self, service: str) -> str:
        return self.inspect(service)["State"].get("Health", {}).get("Status", "none")

    def probe_outputs(self, service: str) -> list[str]:
        """What the last few healthchecks printed (Docker keeps five), oldest first."""
        log = self.inspect(service)["State"].get("Health", {}).get("Log") or []
        return [entry.get("Output", "").strip() for entry in log]

    def last_probe_output(self, service: str) -> str:
        return (self.probe_outputs(service) or [""])[-1]

    def wait_for_health(self, service: str, wanted: str, timeout: float) -> float:
        """Seconds until the service's health is `wanted`; fails with the probe's last words."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.health(service) == wanted:
                return time.monotonic() - started
            time.sleep(1)
        raise AssertionError(
            f"{service} not {wanted} after {timeout:.0f} s; last probe: "
            f"{self.last_probe_output(service)}"
        )

    def logs(self, service: str | None = None) -> str:
        args = ["logs", "--no-color", "--timestamps"] + ([service] if service else [])
        return self.compose(*args, check=False).stdout

    def events(self) -> list[dict]:
        """Container events of this project since it was started, oldest first."""
        output = docker(
            "events",
            "--since",
            str(int(self.started) - 1),
            "--until",
            str(int(time.time()) + 1),
            "--filter",
            f"label=com.docker.compose.project={self.project}",
            "--format",
            "{{json .}}",
        )
        return [json.loads(line) for line in output.splitlines() if line.strip()]

    def vlm_metrics(self) -> dict[str, float]:
        """The VLM engine's Prometheus counters (llamacpp:* or vllm:*), read inside its container
        (its port is not published)."""
        url = f"http://127.0.0.1:{self.vlm_port()}/metrics"
        script = f"import urllib.request; print(urllib.request.urlopen({url!r}).read().decode())"
        text = self.compose("exec", "-T", VLM, "python3", "-c", script).stdout
        metrics: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                metrics[name] = metrics.get(name, 0.0) + float(value)
        return metrics

    def vlm_port(self) -> str:
        url = self.inspect(VLM)["Config"]["Env"]
        (value,) = [e.split("=", 1)[1] for e in url if e.startswith("VLM_URL=")]
        return value.rsplit(":", 1)[1].split("/")[0]

    def api_calls_to_vlm(self) -> list[str]:
        """The API's log lines of chat completions it sent to the VLM service, by its name."""
        return [
            line
            for line in self.logs(API).splitlines()
            if f"POST http://{VLM}:" in line and "/v1/chat/completions" in line
        ]

    def post(self, path: str, body: dict, timeout: float = 300) -> httpx.Response:
        return httpx.post(f"{self.api_url}{path}", json=body, timeout=timeout)


def docker(*args: str) -> str:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {result.stderr}")
    return result.stdout


def run_stack(
    request: pytest.FixtureRequest,
    backend: str,
    bases: str,
    workdir: Path,
    settings: dict[str, str],
    extra: list[str],
) -> Iterator[Stack]:
    """Build and boot a stack for a test session; print its logs if any test failed; take it
    down at the end."""
    stack = Stack.create(backend, bases, workdir, settings, extra)
    failures_before = request.session.testsfailed
    stack.build()
    try:
        stack.up()
        yield stack
    finally:
        if request.session.testsfailed > failures_before:
            print(f"\n===== logs of {stack.project} =====\n{stack.logs()[-30000:]}")
        stack.down()
