"""Healthcheck of the VLM inference server, run inside its container.

Healthy means: the engine has finished loading, /v1/models lists exactly the name the pipeline
sends, and (once per container start) a tiny image-to-text generation succeeded.

Environment (set by the compose files):
  VLM_ENGINE        vllm | llamacpp (vllm-ascend behaves like vllm)
  VLM_URL           the engine's OpenAI base URL inside the container, ending in /v1
  VLM_SERVED_NAME   the model name the API's pipeline sends
  VLM_PROBE_TIMEOUT seconds the whole probe may take (default 10)
"""

from __future__ import annotations

import base64
import os

import httpx

from healthchecks.common import (
    TINY_PNG,
    Deadline,
    ProbeFailure,
    first_success_marker,
    json_of,
    model_ids,
    request,
    run,
)

LOADING_HINT = "still loading the model, or crashed: see `docker compose logs paddleocr-vlm-server`"


def check_loaded(client: httpx.Client, deadline: Deadline, engine: str, root: str) -> None:
    """llama.cpp answers 503 while it loads; vLLM and vllm-ascend refuse connections."""
    try:
        response = client.get(f"{root}/health", timeout=deadline.timeout())
    except httpx.ConnectError as error:
        raise ProbeFailure(f"{engine} at {root} refuses connections: {LOADING_HINT}") from error
    except httpx.TimeoutException as error:
        raise ProbeFailure(f"{engine} at {root} does not answer /health in time (hung?)") from error
    except httpx.HTTPError as error:
        raise ProbeFailure(f"{engine} at {root}/health: {type(error).__name__}: {error}") from error
    if response.status_code == 503 and engine == "llamacpp":
        raise ProbeFailure(f"{engine} at {root} answers 503: still loading the model")
    if response.status_code == 503:
        raise ProbeFailure(
            f"{engine} at {root} answers 503: its engine has stopped working (out of memory, "
            "a device error): see `docker compose logs paddleocr-vlm-server`"
        )
    if response.status_code != 200:
        raise ProbeFailure(f"{engine} at {root}/health answered {response.status_code}")


def served_names(client: httpx.Client, deadline: Deadline, url: str) -> list[str]:
    response = request(client, deadline, "GET", f"{url}/models")
    if response.status_code != 200:
        raise ProbeFailure(f"{url}/models answered {response.status_code}")
    return model_ids(response)


def check_served_name(names: list[str], wanted: str, url: str) -> None:
    if wanted not in names:
        served = ", ".join(f"'{name}'" for name in names) or "no model"
        raise ProbeFailure(
            f"VLM at {url} serves {served} but the pipeline sends '{wanted}': make the engine's "
            "served name (--served-model-name / --alias) and the pipeline's "
            "genai_config.client_kwargs.model_name the same"
        )


def generate_once(client: httpx.Client, deadline: Deadline, url: str, name: str) -> None:
    """One tiny image + prompt request: proves the engine loads images and generates."""
    image = "data:image/png;base64," + base64.b64encode(TINY_PNG).decode()
    body = {
        "model": name,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": image}},
                    {"type": "text", "text": "OCR:"},
                ],
            }
        ],
        "max_tokens": 2,
        "temperature": 0,
    }
    response = request(client, deadline, "POST", f"{url}/chat/completions", json=body)
    if response.status_code != 200:
        raise ProbeFailure(
            f"test generation at {url} answered {response.status_code}: {response.text[:200]}"
        )
    if not json_of(response).get("choices"):
        raise ProbeFailure(f"test generation at {url} returned no choices")


def probe(deadline: Deadline) -> str:
    engine = os.environ.get("VLM_ENGINE", "vllm")
    url = os.environ["VLM_URL"].rstrip("/")
    wanted = os.environ["VLM_SERVED_NAME"]
    root = url.removesuffix("/v1")
    marker = first_success_marker("vlm")
    with httpx.Client() as client:
        check_loaded(client, deadline, engine, root)
        check_served_name(served_names(client, deadline, url), wanted, url)
        if marker.exists():
            return f"{engine} serves '{wanted}'"
        generate_once(client, deadline, url, wanted)
    marker.touch()
    return f"{engine} serves '{wanted}' and generated a test answer"


def main() -> None:
    run(probe, "VLM_PROBE_TIMEOUT", 10.0)


if __name__ == "__main__":
    main()
