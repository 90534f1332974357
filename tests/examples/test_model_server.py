"""The example model server answers predictions and exposes the metrics the serving SLO alerts read."""

from __future__ import annotations

import importlib.util
import json
import threading
import urllib.request
from http.server import ThreadingHTTPServer
from types import ModuleType

import pytest

from stacks.synth import PROJECT_ROOT


def load_server() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "model_server", PROJECT_ROOT / "examples" / "model-server" / "server.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def base_url():
    server_module = load_server()
    server_module.MODEL.load(PROJECT_ROOT / "examples" / "model-server" / "model.json")
    server = ThreadingHTTPServer(("127.0.0.1", 0), server_module.Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_predict_returns_a_probability(base_url: str) -> None:
    status, body = post(f"{base_url}/v1/predict", {"features": [1, 0, 1, 0]})
    assert status == 200
    assert 0.0 < body["score"] < 1.0, "logistic scores are probabilities"


def test_a_wrong_feature_count_is_a_400(base_url: str) -> None:
    status, body = post(f"{base_url}/v1/predict", {"features": [1]})
    assert status == 400
    assert "expected 4 features" in body["error"]


def test_metrics_expose_the_request_histogram_and_error_counter(base_url: str) -> None:
    post(f"{base_url}/v1/predict", {"features": [1, 0, 1, 0]})
    post(f"{base_url}/v1/predict", {"features": []})
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=5) as response:
        text = response.read().decode()
    assert 'http_request_duration_seconds_bucket{le="+Inf"} 2' in text, "the SLO latency alert reads this histogram"
    assert 'http_requests_total{handler="/v1/predict",code="400"} 1' in text, "the error-rate alert reads codes"
