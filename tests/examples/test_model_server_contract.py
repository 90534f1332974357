"""The example model server, run for real, answers exactly the probes and metrics ModelDeployment configures."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.kubernetes import ModelDeployment
from tests.components.kubernetes.helpers import objects_of_kind, run_with_provider
from tests.components.kubernetes.layer import DIGEST_IMAGE

SERVER_DIR = Path(__file__).resolve().parents[2] / "examples" / "model-server"
LOAD_DELAY_SECONDS = 3.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_until_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server exited: {process.communicate()}"
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
            if client.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail("the server did not listen within 10 s")


@pytest.fixture
def configured(run) -> dict:
    """The server container and ServiceMonitor ModelDeployment registers with its defaults (the generic preset)."""
    recorder = run_with_provider(
        run, lambda opts: ModelDeployment("fraud", {"namespace": "fraud", "image": DIGEST_IMAGE}, opts=opts)
    )
    (deployment,) = objects_of_kind(recorder, "Deployment")
    (monitor,) = objects_of_kind(recorder, "ServiceMonitor")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {"container": container, "monitor": monitor}


@pytest.fixture
def server(configured: dict) -> Iterator[dict[int, int]]:
    """server.py in a subprocess, as the image runs it, with each container port mapped to a free loopback port."""
    ports = {port["containerPort"]: free_port() for port in configured["container"]["ports"]}
    assert len(ports) == 1, "the generic server serves HTTP, probes and metrics on one port"
    ((_, local),) = ports.items()
    environment = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(local),
        "MODEL_VERSION": "v7",
        "MODEL_LOAD_DELAY_SECONDS": str(LOAD_DELAY_SECONDS),
    }
    process = subprocess.Popen(
        [sys.executable, str(SERVER_DIR / "server.py")],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_listening(local, process)
        yield ports
    finally:
        process.terminate()
        process.wait(timeout=10)


def url_of(container: dict, ports: dict[int, int], port: object, path: str) -> str:
    """The loopback URL of a probe or scrape: a named port resolves to the container port that declares it."""
    numbers = {declared["name"]: declared["containerPort"] for declared in container["ports"]}
    number = numbers[port] if isinstance(port, str) else port
    return f"http://127.0.0.1:{ports[number]}{path}"


def test_the_image_listens_on_the_port_the_component_declares(configured: dict) -> None:
    dockerfile = (SERVER_DIR / "Dockerfile").read_text()
    (declared,) = configured["container"]["ports"]
    assert re.search(rf"\bPORT={declared['containerPort']}\b", dockerfile), (
        "the image's $PORT is the container port the probes and the Service target"
    )


def test_liveness_holds_while_the_model_loads_and_readiness_waits_for_it(configured: dict, server) -> None:
    container = configured["container"]
    started = time.monotonic()
    probes = {kind: container[kind]["httpGet"] for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
    for kind in ("startupProbe", "livenessProbe"):
        status, _ = get(url_of(container, server, probes[kind]["port"], probes[kind]["path"]))
        assert status == 200, f"the {kind} ({probes[kind]['path']}) must pass while the model loads, or it restarts"
    readiness = url_of(container, server, probes["readinessProbe"]["port"], probes["readinessProbe"]["path"])
    status, _ = get(readiness)
    assert time.monotonic() - started < LOAD_DELAY_SECONDS, "the check ran before the load finished"
    assert status == 503, "not ready before the model is loaded: no traffic reaches a server that cannot answer"
    deadline = time.monotonic() + 10
    while (status := get(readiness)[0]) != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status == 200, "ready once the model is loaded"
    assert '"version": "v7"' in get(readiness)[1], "readiness reports the model version the pod was given"


def test_the_scraped_metrics_carry_what_the_slo_rules_and_autoscaling_read(configured: dict, server) -> None:
    container = configured["container"]
    (endpoint,) = configured["monitor"]["spec"]["endpoints"]
    deadline = time.monotonic() + 10
    predict = url_of(container, server, "http", "/v1/predict")
    while time.monotonic() < deadline:
        request = urllib.request.Request(predict, data=b'{"features": [1, 0, 1, 0]}', method="POST")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    break
        except urllib.error.HTTPError:
            time.sleep(0.1)
    status, text = get(url_of(container, server, endpoint["port"], endpoint["path"]))
    assert status == 200
    assert 'http_requests_total{handler="/v1/predict",code="200"} 1' in text, "the error-ratio rules read codes"
    assert "# TYPE http_request_duration_seconds histogram" in text
    for series in ("_bucket{", "_sum ", "_count "):
        assert f"http_request_duration_seconds{series}" in text, "the latency rules and the KEDA queries read these"
