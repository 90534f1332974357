"""The model version reaches Prometheus: ModelDeployment's ServiceMonitor relabels the pod's version labels onto
every series of the pod, and pods without them keep their series unchanged (run through a real Prometheus)."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.kubernetes.model_deployment import MODEL_LABEL, MODEL_VERSION_LABEL, version_relabelings
from stacks.synth import PROJECT_ROOT
from tests.components.kubernetes.helpers import objects_of_kind
from tests.components.kubernetes.test_model_deployment import build
from tests.examples.test_model_server import load_server, post

PROMETHEUS = shutil.which("prometheus")
needs_prometheus = pytest.mark.skipif(
    PROMETHEUS is None,
    reason="prometheus not found: install it (Debian/Ubuntu: apt-get install prometheus) to run the relabeling test",
)

# prometheus-operator v0.93 CRD monitoring.coreos.com_servicemonitors.yaml, spec.endpoints[].relabelings[]: the
# fields and actions a RelabelConfig accepts; Prometheus 2.x label names are [a-zA-Z_][a-zA-Z0-9_]*.
RELABEL_FIELDS = {"sourceLabels", "separator", "targetLabel", "regex", "modulus", "replacement", "action"}
RELABEL_ACTIONS = {"replace", "keep", "drop", "hashmod", "labelmap", "labeldrop", "labelkeep", "lowercase", "uppercase"}
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def test_the_service_monitor_relabels_the_model_and_version_pod_labels(run) -> None:
    (monitor,) = objects_of_kind(build(run), "ServiceMonitor")
    (endpoint,) = monitor["spec"]["endpoints"]
    relabelings = endpoint["relabelings"]
    assert relabelings == version_relabelings(), "the endpoint carries the version relabelings"
    targets = {relabeling["targetLabel"] for relabeling in relabelings}
    assert targets == {"model", "model_version"}, "the per-version rules group by model and model_version"
    for relabeling in relabelings:
        assert set(relabeling) <= RELABEL_FIELDS, f"fields the CRD does not know: {set(relabeling) - RELABEL_FIELDS}"
        assert relabeling["action"] in RELABEL_ACTIONS, f"{relabeling['action']} is not a RelabelConfig action"
        for label in (*relabeling["sourceLabels"], relabeling["targetLabel"]):
            assert LABEL_NAME.match(label), f"{label} is not a Prometheus label name"


def prometheus_relabel_config(relabeling: dict[str, Any]) -> dict[str, Any]:
    """A ServiceMonitor relabeling as the operator writes it into Prometheus's scrape config (snake_case)."""
    keys = {"sourceLabels": "source_labels", "targetLabel": "target_label"}
    return {keys.get(key, key): value for key, value in relabeling.items()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def query(prometheus: str, expression: str) -> list[dict[str, Any]]:
    url = f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': expression})}"
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())["data"]["result"]


@pytest.fixture
def model_server() -> Iterator[str]:
    module = load_server()
    # The server loads its model in the background and answers 503 until then; load it up front here.
    module.MODEL.load(PROJECT_ROOT / "examples" / "model-server" / "model.json")
    server = ThreadingHTTPServer(("127.0.0.1", 0), module.Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@needs_prometheus
def test_prometheus_puts_the_version_on_the_series_of_labelled_pods_only(tmp_path: Path, model_server: str) -> None:
    assert PROMETHEUS is not None
    status, _ = post(f"http://{model_server}/v1/predict", {"features": [1, 0, 1, 0]})
    assert status == 200, "one request, so http_requests_total has a series"

    def pod_meta(labels: dict[str, str]) -> dict[str, str]:
        # What Kubernetes service discovery attaches for the pod behind an endpoint.
        return {f"__meta_kubernetes_pod_label_{re.sub(r'[^a-zA-Z0-9_]', '_', k)}": v for k, v in labels.items()}

    versioned = {MODEL_LABEL: "fraud", MODEL_VERSION_LABEL: "v2", "app.kubernetes.io/name": "fraud-v2"}
    (tmp_path / "targets.json").write_text(
        json.dumps(
            [
                {"targets": [model_server], "labels": {"pod": "fraud-v2-abc", **pod_meta(versioned)}},
                {
                    "targets": [model_server],
                    "labels": {"pod": "legacy-abc", **pod_meta({"app.kubernetes.io/name": "x"})},
                },
            ]
        )
    )
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "model-server",
                "file_sd_configs": [{"files": [str(tmp_path / "targets.json")]}],
                "relabel_configs": [prometheus_relabel_config(r) for r in version_relabelings()],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    prometheus = f"http://127.0.0.1:{port}"
    try:
        series: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(series) < 2:
            time.sleep(0.5)
            try:
                series = query(prometheus, 'http_requests_total{code="200"}')
            except OSError:
                continue
        by_pod = {sample["metric"]["pod"]: sample["metric"] for sample in series}
        assert set(by_pod) == {"fraud-v2-abc", "legacy-abc"}, (
            f"Prometheus did not scrape both targets: {series}\n{(tmp_path / 'prometheus.log').read_text()[-2000:]}"
        )
        assert by_pod["fraud-v2-abc"]["model"] == "fraud", "the pod's mlplatform.io/model label reaches the series"
        assert by_pod["fraud-v2-abc"]["model_version"] == "v2", "the pod's version label reaches the series"
        assert "model" not in by_pod["legacy-abc"] and "model_version" not in by_pod["legacy-abc"], (
            "a pod without version labels keeps exactly the series it had"
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
