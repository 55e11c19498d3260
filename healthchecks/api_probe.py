"""Healthcheck of the PaddleX serving API, run inside its container.

PaddleX's own /health answers "Healthy" even when the VLM is down or serves another model. This
probe also reads the mounted pipeline config, checks that the VLM it names is reachable and
serves the model name the pipeline will send, and (once per container start, unless
API_PROBE_PARSE=0) parses a tiny built-in page through /layout-parsing.

Environment:
  PIPELINE_CONFIG    the pipeline YAML the API serves (set by the compose files)
  API_PROBE_URL      the API inside the container (default http://127.0.0.1:8080)
  API_PROBE_PARSE    1: parse a test page on the first success (default), 0: never
  API_PROBE_TIMEOUT  seconds the whole probe may take (default 10)
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from healthchecks.common import (
    TINY_PNG,
    Deadline,
    ProbeFailure,
    describe_http_error,
    env_flag,
    first_success_marker,
    json_of,
    model_ids,
    request,
    run,
)


@dataclass(frozen=True)
class VlmTarget:
    """The VLM that a pipeline config will call, and the model name it will send."""

    config: str
    server_url: str
    model_name: str


def read_vlm_target(config_path: str) -> VlmTarget:
    try:
        config = yaml.safe_load(Path(config_path).read_text())
    except OSError as error:
        raise ProbeFailure(f"cannot read pipeline config {config_path}: {error}") from error
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise ProbeFailure(f"pipeline config {config_path} is not valid YAML{line}") from error
    if not isinstance(config, dict):
        raise ProbeFailure(f"pipeline config {config_path} is empty or not a mapping")
    recognition = (config.get("SubModules") or {}).get("VLRecognition") or {}
    genai = recognition.get("genai_config") or {}
    server_url = genai.get("server_url")
    if not server_url:
        raise ProbeFailure(
            f"{config_path} has no SubModules.VLRecognition.genai_config.server_url: "
            "set it to the VLM's URL, e.g. http://paddleocr-vlm-server:8080/v1"
        )
    server_url = str(server_url).rstrip("/")
    if not server_url.endswith("/v1"):
        raise ProbeFailure(
            f"server_url {server_url} in {config_path} does not end in /v1: "
            f"set it to {server_url}/v1"
        )
    client_kwargs = genai.get("client_kwargs") or {}
    model_name = client_kwargs.get("model_name") or recognition.get("model_name")
    if not model_name:
        raise ProbeFailure(f"{config_path} names no VL recognition model")
    return VlmTarget(config_path, server_url, str(model_name))


def check_api_health(client: httpx.Client, deadline: Deadline, api: str) -> None:
    try:
        response = client.get(f"{api}/health", timeout=deadline.timeout())
    except httpx.ConnectError as error:
        raise ProbeFailure(
            f"the API at {api} is not listening yet (PaddleX still loading the pipeline, or "
            "crashed: see `docker compose logs paddleocr-vl-api`)"
        ) from error
    except httpx.HTTPError as error:
        raise ProbeFailure(describe_http_error(f"{api}/health", error)) from error
    if response.status_code != 200:
        raise ProbeFailure(f"{api}/health answered {response.status_code}")


def check_vlm(client: httpx.Client, deadline: Deadline, target: VlmTarget) -> None:
    url = f"{target.server_url}/models"
    try:
        response = client.get(url, timeout=deadline.timeout())
    except httpx.HTTPError as error:
        raise ProbeFailure(
            f"VLM unreachable: {describe_http_error(url, error)}; check server_url in "
            f"{target.config} (service paddleocr-vlm-server, the port the engine listens on) "
            "and `docker compose ps paddleocr-vlm-server`"
        ) from error
    if response.status_code != 200:
        raise ProbeFailure(f"VLM at {url} answered {response.status_code}")
    names = model_ids(response)
    if target.model_name not in names:
        served = ", ".join(f"'{name}'" for name in names) or "no model"
        raise ProbeFailure(
            f"VLM at {target.server_url} serves {served} but the pipeline sends "
            f"'{target.model_name}': set genai_config.client_kwargs.model_name in "
            f"{target.config} or the VLM's served name so that they match"
        )


def parse_test_page(client: httpx.Client, deadline: Deadline, api: str) -> None:
    # A short answer is enough to prove the path, and keeps the probe within its budget.
    body = {"file": base64.b64encode(TINY_PNG).decode(), "fileType": 1, "maxNewTokens": 16}
    response = request(client, deadline, "POST", f"{api}/layout-parsing", json=body)
    if response.status_code != 200:
        detail = response.text[:300].replace("\n", " ")
        raise ProbeFailure(f"test page via {api}/layout-parsing: {response.status_code} {detail}")
    results = (json_of(response).get("result") or {}).get("layoutParsingResults")
    if not results:
        raise ProbeFailure("test page through /layout-parsing returned no result")


def probe(deadline: Deadline) -> str:
    api = os.environ.get("API_PROBE_URL", "http://127.0.0.1:8080").rstrip("/")
    config = os.environ.get("PIPELINE_CONFIG")
    if not config:
        raise ProbeFailure("PIPELINE_CONFIG is not set: the compose file sets it; was it removed?")
    target = read_vlm_target(config)
    marker = first_success_marker("api")
    with httpx.Client() as client:
        check_api_health(client, deadline, api)
        check_vlm(client, deadline, target)
        summary = f"API up; VLM {target.server_url} serves '{target.model_name}'"
        if marker.exists() or not env_flag("API_PROBE_PARSE", True):
            return summary
        parse_test_page(client, deadline, api)
    marker.touch()
    return summary + "; a test page parsed"


def main() -> None:
    run(probe, "API_PROBE_TIMEOUT", 10.0)


if __name__ == "__main__":
    main()
