"""The three backends render with Compose v2 from .env.example with only the switch line changed,
and the rendered configs hold what the bundle promises. Runs the real `docker compose config`."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from conftest import REPO
from stack import API, BACKEND_FILES, VLM, clean_environment, documented_variables, write_env

API_HOST, API_PORT = "127.0.0.3", "18123"  # not the defaults: the .env values must get through


def env_file(tmp_path: Path, compose_file: str, drop: str | None = None) -> Path:
    """.env.example with only the backend line switched (and the API address moved)."""
    settings = {"COMPOSE_FILE": compose_file, "API_HOST": API_HOST, "API_PORT": API_PORT}
    return write_env(tmp_path / ".env", settings, drop=drop)


def compose_config(env: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "compose", "--env-file", str(env), "config", "--format", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=clean_environment(),
    )


@pytest.fixture(scope="module", params=sorted(BACKEND_FILES))
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    backend = request.param
    env = env_file(tmp_path_factory.mktemp(backend), BACKEND_FILES[backend])
    result = compose_config(env)
    assert result.returncode == 0, result.stderr
    return backend, json.loads(result.stdout)


def option(command: list[str], name: str) -> str:
    """The value of --name=value or --name value in a command line."""
    values = [arg.split("=", 1)[1] for arg in command if arg.startswith(f"--{name}=")]
    values += [command[i + 1] for i, arg in enumerate(command[:-1]) if arg == f"--{name}"]
    assert len(values) == 1, f"--{name} given {len(values)} times in {command}"
    return values[0]


def test_api_waits_for_a_healthy_vlm(rendered: tuple) -> None:
    _, config = rendered
    assert config["services"][API]["depends_on"][VLM]["condition"] == "service_healthy"


def test_both_services_have_sized_healthchecks(rendered: tuple) -> None:
    _, config = rendered
    for name in (API, VLM):
        check = config["services"][name]["healthcheck"]
        assert check["test"][0] == "CMD" and "healthchecks." in " ".join(check["test"])
        assert {"interval", "timeout", "retries", "start_period"} <= check.keys()
        assert seconds(check["timeout"]) < seconds(check["interval"])
        # Above the probes' own 10 s budget: Docker must not kill a probe before it can say why.
        assert seconds(check["timeout"]) > 10


def seconds(duration: str) -> float:
    total = 0.0
    for amount, unit in re.findall(r"([\d.]+)(h|ms|m|s)", duration):
        total += float(amount) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    return total


def test_vlm_port_is_not_published(rendered: tuple) -> None:
    _, config = rendered
    assert not config["services"][VLM].get("ports")


def test_api_is_published_on_the_configured_address(rendered: tuple) -> None:
    _, config = rendered
    (port,) = config["services"][API]["ports"]
    assert (port["host_ip"], str(port["published"]), port["target"]) == (API_HOST, API_PORT, 8080)


def test_pipeline_config_names_the_vlm_it_will_reach(rendered: tuple) -> None:
    backend, config = rendered
    api, vlm = config["services"][API], config["services"][VLM]
    (mount,) = [v for v in api["volumes"] if v["target"] == "/configs"]
    assert mount["read_only"] and Path(mount["source"]) == REPO / "configs"
    inside = api["environment"]["PIPELINE_CONFIG"]
    pipeline = yaml.safe_load((REPO / "configs" / Path(inside).relative_to("/configs")).read_text())
    genai = pipeline["SubModules"]["VLRecognition"]["genai_config"]
    url = urlparse(genai["server_url"])
    assert url.hostname == VLM
    assert url.path == "/v1"
    assert url.port == int(option(vlm["command"], "port"))
    served = option(vlm["command"], "alias" if backend == "cpu" else "served-model-name")
    assert genai["client_kwargs"]["model_name"] == served == vlm["environment"]["VLM_SERVED_NAME"]
    expected_client = "llama-cpp-server" if backend == "cpu" else "vllm-server"
    assert genai["backend"] == expected_client


def accelerators(service: dict) -> tuple[bool, bool]:
    reservations = service.get("deploy", {}).get("resources", {}).get("reservations", {})
    nvidia = any(d.get("driver") == "nvidia" for d in reservations.get("devices", []))
    ascend = any("davinci" in str(d) for d in service.get("devices", []))
    return nvidia, ascend


def test_accelerators_belong_to_their_backend(rendered: tuple) -> None:
    backend, config = rendered
    found = [accelerators(config["services"][name]) for name in (API, VLM)]
    assert any(nvidia for nvidia, _ in found) == (backend == "cuda")
    assert all(nvidia for nvidia, _ in found) == (backend == "cuda")
    assert any(ascend for _, ascend in found) == (backend == "npu")
    assert not accelerators(config["services"][API])[1]


def test_every_image_is_pinned(rendered: tuple) -> None:
    _, config = rendered
    for service in config["services"].values():
        images = [service["image"], *service.get("build", {}).get("args", {}).values()]
        for image in images:
            if "/" not in image and ":" not in image:
                continue  # a build argument that is not an image (e.g. PADDLE=cpu)
            name, _, tag = image.rpartition(":")
            assert name and "/" not in tag, f"{image} has no tag"
            assert tag != "latest", f"{image} uses latest"


def test_model_version_switches_everything(tmp_path: Path) -> None:
    env = env_file(tmp_path, BACKEND_FILES["cpu"])
    env.write_text(env.read_text().replace("PADDLEOCR_VL_VERSION=1.6", "PADDLEOCR_VL_VERSION=1.5"))
    result = compose_config(env)
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    command = " ".join(config["services"][VLM]["command"])
    assert "PaddleOCR-VL-1.5-GGUF/PaddleOCR-VL-1.5-GGUF.gguf" in command
    assert "--alias PaddleOCR-VL-1.5-0.9B" in command
    assert config["services"][API]["environment"]["PIPELINE_CONFIG"].endswith(
        "PaddleOCR-VL-1.5.llama-cpp-server.yaml"
    )


@pytest.mark.parametrize("variable", ["PADDLEOCR_VL_VERSION", "MODELS_DIR"])
def test_missing_required_variable_is_named(tmp_path: Path, variable: str) -> None:
    result = compose_config(env_file(tmp_path, BACKEND_FILES["cuda"], drop=variable))
    assert result.returncode != 0
    assert f"{variable} is not set" in result.stderr


def test_every_variable_is_documented_in_env_example() -> None:
    used: set[str] = set()
    for name in BACKEND_FILES.values():
        for compose_file in name.split(":"):
            used |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (REPO / compose_file).read_text()))
    assert used - documented_variables() == set()


def test_vlm_concurrency_is_one_setting(rendered: tuple) -> None:
    backend, config = rendered
    slots = option(
        config["services"][VLM]["command"], "parallel" if backend == "cpu" else "max-num-seqs"
    )
    assert config["services"][API]["environment"]["VLM_MAX_CONCURRENCY"] == slots
