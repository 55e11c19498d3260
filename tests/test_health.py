"""The healthcheck probes tell the truth, against the real servers: llama-server and vLLM serving
the tiny model, and PaddleX serving. A probe is run the way Docker runs it, inside its container,
and is given a wrong setting through its environment where a test needs one; nothing is mocked.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from stack import API, VLM, Stack

pytestmark = pytest.mark.stack

PROBE_BUDGET_S = 10  # the probes' default budget (VLM_PROBE_TIMEOUT / API_PROBE_TIMEOUT)


def run_probe(
    stack: Stack, service: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> tuple[int, str, float]:
    """(exit code, output, seconds) of the service's own healthcheck command, run in it."""
    module = "healthchecks.vlm_probe" if service == VLM else "healthchecks.api_probe"
    args = ["exec", "-T"]
    for name, value in (env or {}).items():
        args += ["-e", f"{name}={value}"]
    started = time.monotonic()
    result = stack.compose(*args, service, "python3", "-m", module, check=False)
    output = (result.stdout + result.stderr).strip()
    return result.returncode, output, time.monotonic() - started


def write_in_container(stack: Stack, service: str, path: str, text: str) -> None:
    command = ["docker", "exec", "-i", stack.container(service), "sh", "-c", f"cat > {path}"]
    subprocess.run(command, input=text, text=True, check=True, timeout=60)


def pipeline_config(stack: Stack) -> str:
    path = next(
        e.split("=", 1)[1]
        for e in stack.inspect(API)["Config"]["Env"]
        if e.startswith("PIPELINE_CONFIG=")
    )
    return stack.compose("exec", "-T", API, "cat", path).stdout


def test_healthy_stack_probes_pass(cpu_stack: Stack) -> None:
    code, output, _ = run_probe(cpu_stack, VLM)
    assert (code, output.splitlines()[-1]) == (
        0,
        "healthy: llamacpp serves 'PaddleOCR-VL-1.6-0.9B'",
    )
    code, output, _ = run_probe(cpu_stack, API)
    assert code == 0 and "serves 'PaddleOCR-VL-1.6-0.9B'" in output


def test_vlm_probe_names_both_models_on_a_mismatch(cpu_stack: Stack) -> None:
    code, output, _ = run_probe(cpu_stack, VLM, {"VLM_SERVED_NAME": "PaddleOCR-VL-1.5-0.9B"})
    assert code == 1
    assert output.count("\n") == 0  # one line
    assert "serves 'PaddleOCR-VL-1.6-0.9B'" in output
    assert "sends 'PaddleOCR-VL-1.5-0.9B'" in output


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("model_name: PaddleOCR-VL-1.6-0.9B", "model_name: PaddleOCR-VL-1.5-0.9B"),
            "serves 'PaddleOCR-VL-1.6-0.9B' but the pipeline sends 'PaddleOCR-VL-1.5-0.9B'",
        ),
        (
            ("http://paddleocr-vlm-server:8080/v1", "http://paddleocr-vlm-servr:8080/v1"),
            "cannot resolve host 'paddleocr-vlm-servr'",
        ),
        (
            ("http://paddleocr-vlm-server:8080/v1", "http://paddleocr-vlm-server:8000/v1"),
            "nothing accepts connections at http://paddleocr-vlm-server:8000/v1/models",
        ),
        (
            ("http://paddleocr-vlm-server:8080/v1", "http://paddleocr-vlm-server:8080"),
            "does not end in /v1",
        ),
    ],
    ids=["model name", "host", "port", "no /v1"],
)
def test_api_probe_names_a_misconfigured_pipeline(
    cpu_stack: Stack, change: tuple[str, str], expected: str
) -> None:
    good = pipeline_config(cpu_stack)
    assert change[0] in good
    write_in_container(cpu_stack, API, "/tmp/wrong.yaml", good.replace(*change))
    code, output, _ = run_probe(cpu_stack, API, {"PIPELINE_CONFIG": "/tmp/wrong.yaml"})
    assert code == 1
    assert output.count("\n") == 0
    assert expected in output
    assert "/tmp/wrong.yaml" in output  # it names the file to fix


def host_pid(stack: Stack, service: str, command: str) -> int:
    """The host pid of the process in the service's container whose command name is given."""
    top = subprocess.run(
        ["docker", "top", stack.container(service), "-o", "pid,comm"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (pid,) = [int(line.split()[0]) for line in top.splitlines()[1:] if line.split()[1] == command]
    return pid


def test_probes_return_in_time_when_the_vlm_hangs(cpu_stack: Stack) -> None:
    """A stopped llama-server process accepts connections (the kernel does) but never answers."""
    pid = host_pid(cpu_stack, VLM, "llama-server")
    subprocess.run(["kill", "-STOP", str(pid)], check=True)
    try:
        code, output, took = run_probe(cpu_stack, VLM)
        assert code == 1 and "in time" in output
        assert took < PROBE_BUDGET_S + 5
        code, output, took = run_probe(cpu_stack, API)
        assert code == 1 and "VLM unreachable" in output and "in time" in output
        assert took < PROBE_BUDGET_S + 5
    finally:
        subprocess.run(["kill", "-CONT", str(pid)], check=True)
    assert run_probe(cpu_stack, VLM)[0] == 0


def test_api_probe_returns_in_time_when_the_vlm_container_is_paused(cpu_stack: Stack) -> None:
    cpu_stack.compose("pause", VLM)
    try:
        code, output, took = run_probe(cpu_stack, API)
        assert code == 1 and "VLM unreachable" in output
        assert took < PROBE_BUDGET_S + 5
    finally:
        cpu_stack.compose("unpause", VLM)
    assert run_probe(cpu_stack, API)[0] == 0


def test_loading_vllm_is_unhealthy_then_healthy(cuda_stack: Stack) -> None:
    """vLLM refuses connections while it loads; the probe says so, then passes once it serves."""
    # The engine's own restart (compose's would wait for the VLM to be healthy again).
    subprocess.run(["docker", "restart", cuda_stack.container(VLM)], check=True, timeout=120)
    code, output, _ = run_probe(cuda_stack, VLM)
    assert code == 1
    assert "refuses connections" in output and "loading" in output
    cuda_stack.wait_for_health(VLM, "healthy", timeout=300)
    # Its first success after the restart included a test generation; later ones do not.
    assert any("generated a test answer" in out for out in cuda_stack.probe_outputs(VLM))
    cuda_stack.wait_for_health(API, "healthy", timeout=120)
